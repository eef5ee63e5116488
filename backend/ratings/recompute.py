"""Keeping live standing in step with the ledger: incremental (one household and the village and
township above it) and full (a township or the county, with a drift report).

Both are idempotent and safe to run concurrently, in any order of finishing:

- a person or household row is stamped with the instant its computation *began reading* (the
  database's clock, one for every worker), and is replaced only by a computation that began no
  earlier — so a slow job, or a full recompute that started before a ledger or registry change,
  never overwrites the standing a later job wrote (every change queues a job after its commit,
  and that job begins reading after the change);
- village and township roll-ups take an advisory lock and read the household rows committed so
  far, so the last one to run sees every household; the full recompute stores its villages and
  townships the same way (from the stored rows, not from its own possibly older households).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.db import fetch, transaction_connection, upsert
from backend.errors import NotFound
from backend.ledger.chain import STANDING_LOCKS
from backend.ratings.compute import Computed, compute_households, township_counties, village_townships
from backend.ledger.catalogue import catalogues
from points_rules.ratings import HouseholdRating, VillageRating, rate_township, rate_village, village_from_counts

PERSON_COLUMNS = ["county_id", "person_id", "household_id", "score", "grade", "grade_override", "serious_dishonesty",
                  "catalogue_version", "as_of", "computed_at"]
HOUSEHOLD_COLUMNS = ["county_id", "household_id", "village_id", "township_id", "grid_id", "score", "grade", "is_credit",
                     "serious_dishonesty", "catalogue_version", "as_of", "explanation_zh", "computed_at"]
VILLAGE_COLUMNS = ["county_id", "village_id", "township_id", "households", "credit_households", "serious_dishonesty_households",
                   "share_permille", "is_credit", "stars", "grade_counts", "catalogue_version", "as_of",
                   "explanation_zh", "computed_at"]
TOWNSHIP_COLUMNS = ["county_id", "township_id", "villages", "credit_villages", "share_permille", "is_credit",
                    "catalogue_version", "as_of", "explanation_zh", "computed_at"]


def _county(c: Computed, household_id: int) -> int:
    return c.township_county[c.places[household_id].township_id]


def _person_records(c: Computed, now: datetime) -> list[tuple]:
    return [(_county(c, c.person_household[pid]), pid, c.person_household.get(pid), s.score, s.grade, s.grade_override, c.person_serious.get(pid, False),
             s.catalogue_version, c.as_of, now) for pid, s in c.persons.items()]


def _household_records(c: Computed, now: datetime) -> list[tuple]:
    return [(_county(c, hid), hid, c.places[hid].village_id, c.places[hid].township_id, c.places[hid].grid_id, r.score, r.grade,
             r.is_credit_household, r.serious_dishonesty, r.catalogue_version, c.as_of, r.explanation_zh, now)
            for hid, r in c.households.items()]


def _village_records(c: Computed, townships: dict[int, int], counties: dict[int, int], now: datetime) -> list[tuple]:
    return [(counties[townships[vid]], vid, townships[vid], r.households, r.credit_households, r.serious_dishonesty_households,
             r.share_permille, r.is_credit_village, r.stars, json.dumps(r.grade_counts), r.catalogue_version,
             c.as_of, r.explanation_zh, now) for vid, r in c.villages.items()]


def _township_records(c: Computed, county_id: int, now: datetime) -> list[tuple]:
    return [(county_id, tid, r.villages, r.credit_villages, r.share_permille, r.is_credit_township, r.catalogue_version,
             c.as_of, r.explanation_zh, now) for tid, r in c.townships.items()]


def _stored_household(row: dict) -> HouseholdRating:
    return HouseholdRating(household_id=row["household_id"], as_of=row["as_of"],
                           catalogue_version=row["catalogue_version"], score=row["score"], grade=row["grade"],
                           is_credit_household=row["is_credit"], serious_dishonesty=row["serious_dishonesty"],
                           explanation_zh=row["explanation_zh"], explanation={})


async def _lock(name: str) -> None:
    await transaction_connection().execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", STANDING_LOCKS, name)


async def _reading_starts() -> datetime:
    """The instant a computation begins reading: the database's clock (not the process's, so
    workers on several machines agree; not ``now()``, which stands still inside a transaction)."""
    return (await fetch("SELECT clock_timestamp() AS t"))[0]["t"]


async def recompute_households(household_ids: list[int], as_of: date | None = None) -> Computed:
    """Incremental: these households' members and ratings, then their villages and townships."""
    as_of = as_of or clock.today()
    started = await _reading_starts()
    computed = await compute_households(as_of, household_ids=household_ids)
    async with engine_finder().transaction():
        # Where the households stood before: a household that moved leaves its old village's roll-up.
        before = await fetch("SELECT village_id, township_id FROM standing_household WHERE household_id = ANY({})",
                             list(household_ids))
        await upsert("standing_person", "person_id", PERSON_COLUMNS, _person_records(computed, started),
                     unless_newer="computed_at")
        await upsert("standing_household", "household_id", HOUSEHOLD_COLUMNS,
                     _household_records(computed, started), unless_newer="computed_at")
    villages = {computed.places[h].village_id for h in computed.households} | {r["village_id"] for r in before}
    for village_id in sorted(villages):
        await _recompute_village(village_id, as_of)
    townships = {computed.places[h].township_id for h in computed.households} | {r["township_id"] for r in before}
    for township_id in sorted(townships):
        await _recompute_township(township_id, as_of)
    return computed


async def _recompute_village(village_id: int, as_of: date) -> None:
    async with engine_finder().transaction():
        await _lock(f"standing:village:{village_id}")
        rows = await fetch("SELECT * FROM standing_household WHERE village_id = {}", village_id)
        place = (await fetch("SELECT v.township, t.county FROM village v JOIN township t ON t.id = v.township "
                             "WHERE v.id = {}", village_id))[0]
        township = place["township"]
        rating = rate_village(catalogues(place["county"]), village_id, [_stored_household(r) for r in rows], as_of)
        await upsert("standing_village", "village_id", VILLAGE_COLUMNS,
                     _village_records(Computed(as_of=as_of, villages={village_id: rating}), {village_id: township},
                                      {township: place["county"]}, clock.now()))


async def _recompute_township(township_id: int, as_of: date) -> None:
    async with engine_finder().transaction():
        await _lock(f"standing:township:{township_id}")
        rows = await fetch("SELECT * FROM standing_village WHERE township_id = {}", township_id)
        ratings = [VillageRating(
            village_id=r["village_id"], as_of=r["as_of"], catalogue_version=r["catalogue_version"],
            households=r["households"], credit_households=r["credit_households"],
            serious_dishonesty_households=r["serious_dishonesty_households"], share_permille=r["share_permille"],
            is_credit_village=r["is_credit"], stars=r["stars"],
            grade_counts=json.loads(r["grade_counts"]) if isinstance(r["grade_counts"], str) else r["grade_counts"],
            explanation_zh=r["explanation_zh"], explanation={},
        ) for r in rows]
        county = (await fetch("SELECT county FROM township WHERE id = {}", township_id))[0]["county"]
        rating = rate_township(catalogues(county), township_id, ratings, as_of)
        await upsert("standing_township", "township_id", TOWNSHIP_COLUMNS,
                     _township_records(Computed(as_of=as_of, townships={township_id: rating}), county,
                                       clock.now()))


async def households_of_subject(kind: str, subject_id: int) -> list[int]:
    """Which household's standing a ledger change for this subject affects (none for organisations)."""
    if kind == "household":
        return [subject_id]
    if kind == "person":
        rows = await fetch("SELECT household FROM household_membership WHERE person = {} AND valid_to IS NULL",
                           subject_id)
        return [r["household"] for r in rows]
    return []


@dataclass
class DriftReport:
    as_of: date
    persons: int = 0
    households: int = 0
    villages: int = 0
    townships: int = 0
    drifted_households: list[int] = field(default_factory=list)
    drifted_villages: list[int] = field(default_factory=list)
    drifted_townships: list[int] = field(default_factory=list)
    missing_households: int = 0

    @property
    def clean(self) -> bool:
        return not (self.drifted_households or self.drifted_villages or self.drifted_townships)


async def full_recompute(*, as_of: date | None = None, township_id: int | None = None,
                         progress: Callable[[str], None] | None = None) -> DriftReport:
    """Recompute everything (or one township) from the ledger; report where the stored standing
    differed (drift = an incremental update that was missed or wrong), then store the new one.

    The ledger is read once per county, in one statement streamed through a cursor in household
    order (``compute_households(…, into=…)``); each chunk is rated (``HouseholdStream``), copied into
    a staging table and merged into the standing tables — each chunk in a transaction of its own, on
    a connection of its own, while the next chunk is rated (inside an enclosing transaction: in it).
    Memory is that of a chunk; the stored rows are exactly what ``compute_households`` gives
    household by household (explanations included); a row a later job stored stays."""
    as_of = as_of or clock.today()
    step = progress or (lambda stage: None)
    started = await _reading_starts()
    counties = await township_counties()
    townships = await village_townships(township_id)
    report = DriftReport(as_of=as_of)
    own = None
    if engine_finder().current_transaction.get() is None:
        # A connection of its own (not the pool's, closed at the end). Standing is a cache of the ledger,
        # and this recompute can be run again: its chunks' commits need not wait for the disk (a crash
        # loses at most the last chunks, which the next run writes).
        config = engine_finder().config
        own = await asyncpg.connect(**{**config, "server_settings": {**config.get("server_settings", {}),
                                                                     "synchronous_commit": "off"}})
    staged = _Staged([("standing_person", "person_id", PERSON_COLUMNS),
                      ("standing_household", "household_id", HOUSEHOLD_COLUMNS)], computed_at=started,
                     connection=own)
    try:
        computed = await compute_households(as_of, township_id=township_id, into=staged)
    finally:
        await staged.close()
    villages: dict[int, list] = {}
    for stream in computed.streams:
        report.persons += stream.persons
        report.households += stream.households
        report.missing_households += stream.missing
        report.drifted_households.extend(stream.drifted)
        villages.update(stream.villages)
    step("households")
    report.drifted_households.sort()
    _drift_of_places(report, villages, townships, counties, as_of,
                     await fetch("SELECT village_id, credit_households, is_credit FROM standing_village "
                                 "WHERE village_id = ANY({})", list(townships)),
                     await fetch("SELECT township_id, credit_villages, is_credit FROM standing_township "
                                 "WHERE township_id = ANY({})", sorted(set(townships.values()))))
    step("villages")
    # Villages and townships from the stored households, under their locks: a household row kept
    # because a later job wrote it is counted as it is stored, not as this (older) read saw it.
    by_township: dict[int, list[int]] = {}
    for village_id, tid in townships.items():
        by_township.setdefault(tid, []).append(village_id)
    for tid in sorted(by_township):
        await _store_villages(sorted(by_township[tid]), {v: tid for v in by_township[tid]}, as_of)
        await _recompute_township(tid, as_of)
    step("stored")
    return report


def _drift_of_places(report: DriftReport, counted: dict[int, list], townships: dict[int, int],
                     counties: dict[int, int], as_of: date, stored_villages: list[dict],
                     stored_townships: list[dict]) -> None:
    """Villages and townships as the computed households make them (``roll_up``, from the counts),
    against the stored rows: which differ in credit households / credit villages or credit status."""
    rated: dict[int, VillageRating] = {}
    for village_id, township in townships.items():
        total, credit, serious, grades = counted.get(village_id, (0, 0, 0, {}))
        rated[village_id] = village_from_counts(catalogues(counties.get(township)), village_id, as_of, total,
                                                credit, serious, grades)
    by_township: dict[int, list[VillageRating]] = {}
    for village_id, rating in rated.items():
        by_township.setdefault(townships[village_id], []).append(rating)
    rated_townships = {tid: rate_township(catalogues(counties.get(tid)), tid, ratings, as_of)
                       for tid, ratings in by_township.items()}
    report.villages, report.townships = len(rated), len(rated_townships)
    report.drifted_villages = sorted(
        r["village_id"] for r in stored_villages if r["village_id"] in rated
        and (r["credit_households"], r["is_credit"]) != (rated[r["village_id"]].credit_households,
                                                         rated[r["village_id"]].is_credit_village))
    report.drifted_townships = sorted(
        r["township_id"] for r in stored_townships if r["township_id"] in rated_townships
        and (r["credit_villages"], r["is_credit"]) != (rated_townships[r["township_id"]].credit_villages,
                                                       rated_townships[r["township_id"]].is_credit_township))


class _Staged:
    """Where the streamed recompute puts its standing rows: copied chunk by chunk into temporary tables
    (COPY), each chunk merged into its table as ``backend.db.upsert`` does (a stored row computed later
    stays) in one round trip, sent before the next chunk is rated — so the database merges one chunk
    while Python rates the next. On a connection of its own (``connection``), each merge is a
    transaction of its own (one simple query); without one, everything goes through the enclosing
    transaction's connection."""

    def __init__(self, tables: list[tuple[str, str, list[str]]], *, computed_at: datetime, connection=None):
        self.tables, self.computed_at, self.own = tables, computed_at, connection
        self.created = self.pending = False

    @property
    def conn(self):
        return self.own if self.own is not None else transaction_connection()

    async def add(self, *records: list[tuple]) -> None:
        """One list of records per table, in the order of ``tables``."""
        if not any(records):
            return
        if not self.created:
            for table, _, _ in self.tables:
                await self.conn.execute(f"CREATE TEMP TABLE _full_{table} (LIKE {table} INCLUDING DEFAULTS)")
            self.created = True
        for (table, _, columns), rows in zip(self.tables, records):
            if rows:
                await self.conn.copy_records_to_table(f"_full_{table}", records=rows, columns=columns)
        self.pending = True

    async def merge_soon(self) -> asyncio.Future:
        """Start merging what was added (and emptying the staging tables); await the result before the
        connection's next use."""
        if not self.pending:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        statements = []
        for table, key, columns in self.tables:
            names = ", ".join(columns)
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
            statements.append(f"INSERT INTO {table} ({names}) SELECT {names} FROM _full_{table} "
                              f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
                              f"WHERE {table}.computed_at <= EXCLUDED.computed_at")
        statements.append("TRUNCATE " + ", ".join(f"_full_{table}" for table, _, _ in self.tables))
        self.pending = False
        merging = asyncio.ensure_future(self.conn.execute(";\n".join(statements)))
        await asyncio.sleep(0)  # sent: the database works on it from now on
        return merging

    async def close(self) -> None:
        if self.created:
            await self.conn.execute("DROP TABLE " + ", ".join(f"_full_{table}" for table, _, _ in self.tables))
            self.created = False
        if self.own is not None:
            await self.own.close()


_VILLAGE_COUNTS_SQL = """
SELECT village_id, grade, count(*) AS households, count(*) FILTER (WHERE is_credit) AS credit,
       count(*) FILTER (WHERE serious_dishonesty) AS serious, max(as_of) AS latest
FROM standing_household WHERE village_id = ANY({}) GROUP BY village_id, grade
"""


async def _store_villages(village_ids: list[int], townships: dict[int, int], as_of: date) -> None:
    """Roll up these villages (of one township) from the stored households, in one transaction: the
    database counts them (households, credit, serious dishonesty, per grade); ``village_from_counts``
    rates (the rule and the words of ``rate_village``)."""
    async with engine_finder().transaction():
        for village_id in village_ids:  # sorted: two full recomputes never wait on each other in a cycle
            await _lock(f"standing:village:{village_id}")
        counties = await township_counties()
        counts: dict[int, list] = {v: [0, 0, 0, {}] for v in village_ids}
        for r in await fetch(_VILLAGE_COUNTS_SQL, village_ids):
            if r["latest"] > as_of:  # rated after the village's date: rate_village's own error
                later = await fetch("SELECT * FROM standing_household WHERE village_id = {} AND as_of > {} "
                                    "ORDER BY household_id LIMIT 1", r["village_id"], as_of)
                rate_village(catalogues(counties.get(townships[r["village_id"]])), r["village_id"],
                             [_stored_household(later[0])], as_of)
            c = counts[r["village_id"]]
            c[0] += r["households"]
            c[1] += r["credit"]
            c[2] += r["serious"]
            c[3][r["grade"]] = r["households"]
        rolled = Computed(as_of=as_of, villages={
            v: village_from_counts(catalogues(counties.get(townships[v])), v, as_of, *counts[v]) for v in village_ids})
        await upsert("standing_village", "village_id", VILLAGE_COLUMNS, _village_records(rolled, townships, counties, clock.now()))


async def county_recompute(county_id: int, *, township_id: int | None = None, as_of: date | None = None,
                           progress: Callable[[str], None] | None = None) -> DriftReport:
    """A county's full recompute (or one of its townships): nothing outside the county is read or
    written; a township elsewhere is ``NotFound``. Standing rolls up within a township, so the
    county is its townships one by one, all as of one date."""
    in_county = await scope.townships_of_county(county_id)
    if township_id is not None and township_id not in in_county:
        raise NotFound()
    as_of = as_of or clock.today()
    report = DriftReport(as_of=as_of)
    for tid in [township_id] if township_id is not None else in_county:
        part = await full_recompute(as_of=as_of, township_id=tid, progress=progress)
        for name in ("persons", "households", "villages", "townships", "missing_households"):
            setattr(report, name, getattr(report, name) + getattr(part, name))
        for name in ("drifted_households", "drifted_villages", "drifted_townships"):
            getattr(report, name).extend(getattr(part, name))
    return report
