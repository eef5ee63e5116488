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

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.db import fetch, transaction_connection, upsert
from backend.errors import NotFound
from backend.ledger.chain import STANDING_LOCKS
from backend.ratings.compute import Computed, compute_households, roll_up, township_counties, village_townships
from backend.ledger.catalogue import catalogues
from points_rules.ratings import HouseholdRating, VillageRating, rate_township, rate_village

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
    differed (drift = an incremental update that was missed or wrong), then store the new one."""
    as_of = as_of or clock.today()
    step = progress or (lambda stage: None)
    started = await _reading_starts()
    computed = await compute_households(as_of, township_id=township_id)
    step("households")
    townships = await village_townships(township_id)
    roll_up(computed, townships)
    step("villages")
    report = DriftReport(as_of=as_of, persons=len(computed.persons), households=len(computed.households),
                         villages=len(computed.villages), townships=len(computed.townships))
    where, args = ("township_id = {}", [township_id]) if township_id is not None else ("true", [])
    stored_h = {r["household_id"]: r for r in await fetch(
        f"SELECT household_id, score, grade FROM standing_household WHERE {where}", *args)}
    for hid, rating in computed.households.items():
        old = stored_h.get(hid)
        if old is None:
            report.missing_households += 1
        elif (old["score"], old["grade"]) != (rating.score, rating.grade):
            report.drifted_households.append(hid)
    stored_v = {r["village_id"]: r for r in await fetch(
        f"SELECT village_id, credit_households, is_credit FROM standing_village WHERE {where}", *args)}
    report.drifted_villages = sorted(
        vid for vid, r in computed.villages.items()
        if vid in stored_v and (stored_v[vid]["credit_households"], stored_v[vid]["is_credit"])
        != (r.credit_households, r.is_credit_village))
    stored_t = {r["township_id"]: r for r in await fetch(
        f"SELECT township_id, credit_villages, is_credit FROM standing_township WHERE {where}", *args)}
    report.drifted_townships = sorted(
        tid for tid, r in computed.townships.items()
        if tid in stored_t and (stored_t[tid]["credit_villages"], stored_t[tid]["is_credit"])
        != (r.credit_villages, r.is_credit_township))
    async with engine_finder().transaction():
        await upsert("standing_person", "person_id", PERSON_COLUMNS, _person_records(computed, started),
                     unless_newer="computed_at")
        await upsert("standing_household", "household_id", HOUSEHOLD_COLUMNS,
                     _household_records(computed, started), unless_newer="computed_at")
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


async def _store_villages(village_ids: list[int], townships: dict[int, int], as_of: date) -> None:
    """Roll up these villages (of one township) from the stored households, in one transaction."""
    async with engine_finder().transaction():
        for village_id in village_ids:  # sorted: two full recomputes never wait on each other in a cycle
            await _lock(f"standing:village:{village_id}")
        rows = await fetch("SELECT * FROM standing_household WHERE village_id = ANY({})", village_ids)
        grouped: dict[int, list[HouseholdRating]] = {v: [] for v in village_ids}
        for r in rows:
            grouped[r["village_id"]].append(_stored_household(r))
        counties = await township_counties()
        rolled = Computed(as_of=as_of, villages={v: rate_village(catalogues(counties.get(townships[v])), v, hs, as_of)
                                                 for v, hs in grouped.items()})
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
