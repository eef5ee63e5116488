"""Building an eligibility list (the worker job): the county's households as they stood on the
list's day, decided by :mod:`points_rules.eligibility`.

Every fact is read as it stood on ``as_of``, so the same measure version for the same past day
gives the same households whenever it is built: residence and membership rows valid that day,
ratings with ``effective_on ≤ as_of`` (effective is final), serious-dishonesty entries recorded
by the end of that day and not reversed (repaired) by then.

Idempotent (arq may run a job twice): a done list is left alone; entries are written in the
same transaction that marks the list done, so a crash or error mid-way leaves no entries at all,
and a rerun starts over.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta

from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.db import fetch, transaction_connection
from backend.errors import CunxinError
from backend.identity.masking import mask_name
from backend.ledger.catalogue import catalogues
from backend.measures.tables import DONE, FAILED, QUEUED, RUNNING
from backend.registry.tables import HEAD
from points_rules import RuleError
from points_rules import eligibility as rules

logger = logging.getLogger("cunxin.measures")
CHUNK = 500
STALE_AFTER = timedelta(minutes=10)

_HOUSEHOLDS_SQL = """
SELECT DISTINCT ON (h.id) h.id AS household_id, h.code AS household_code, r.grid AS grid_id,
       v.id AS village_id, v.code AS village_code, v.name AS village_name,
       t.id AS township_id, t.code AS township_code, t.name AS township_name
FROM household_residence r
JOIN household h ON h.id = r.household
JOIN grid g ON g.id = r.grid
JOIN village v ON v.id = g.village
JOIN township t ON t.id = v.township
WHERE t.county = {} AND r.valid_from <= {} AND (r.valid_to IS NULL OR r.valid_to >= {})
ORDER BY h.id, r.valid_from DESC, r.id DESC
"""

_RATINGS_SQL = """
SELECT p.level, p.subject_id, p.period AS period_id, pe.code AS period_code, pe.name_zh AS period_name_zh,
       pe.ends_on AS period_ends_on, p.effective_on, p.grade, p.is_credit, p.publicity_starts_on, p.publicity_ends_on
FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
WHERE pe.county = {} AND p.status = 'effective' AND p.effective_on <= {}
"""

_HEADS_SQL = """
SELECT DISTINCT ON (m.household) m.household, p.id AS person_id, p.name, p.id_number_masked
FROM household_membership m JOIN person p ON p.id = m.person
WHERE m.household = ANY({}) AND m.relation = {} AND m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to >= {})
ORDER BY m.household, m.valid_from DESC, m.id DESC
"""

# Entries of serious-dishonesty items in force on the day, of the household itself or of a person
# who was its member that day, with when they (and any reversal) were written.
_SERIOUS_SQL = """
SELECT CASE WHEN e.subject_kind = 'household' THEN e.subject_id ELSE m.household END AS household,
       e.id, e.valid_from, e.valid_until, e.created_at,
       (SELECT min(r.created_at) FROM ledger_entry r WHERE r.reverses_entry = e.id) AS reversed_at
FROM ledger_entry e
LEFT JOIN household_membership m ON e.subject_kind = 'person' AND m.person = e.subject_id
     AND m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to >= {})
WHERE e.item_code = ANY({}) AND e.reverses_entry IS NULL AND e.valid_from <= {} AND e.valid_until > {}
  AND ((e.subject_kind = 'household' AND e.subject_id = ANY({})) OR (e.subject_kind = 'person' AND m.household = ANY({})))
"""

_ENTRY_COLUMNS = ["county_id", "list", "seq", "household_id", "household_code", "township_id", "township_name", "village_id",
                  "village_name", "grid_id", "head_person_id", "head_name_masked", "head_id_masked", "grade",
                  "period_code", "period_name_zh", "publicity_starts_on", "publicity_ends_on", "reason_zh"]


class BuildFailed(Exception):
    def __init__(self, code: str, message_zh: str):
        super().__init__(code)
        self.code, self.message_zh = code, message_zh


def _measure(row: dict, conditions: tuple[rules.Condition, ...]) -> rules.Measure:
    return rules.Measure(id=row["id"], kind=row["kind"], category=row["category"], name_zh=row["name_zh"],
                         conditions=conditions, valid_from=row["valid_from"], valid_to=row["valid_to"])


def _rating_fact(r: dict) -> rules.RatingFact:
    return rules.RatingFact(period_id=r["period_id"], period_code=r["period_code"],
                            period_name_zh=r["period_name_zh"], period_ends_on=r["period_ends_on"],
                            effective_on=r["effective_on"], grade=r["grade"], is_credit=r["is_credit"],
                            publicity_starts_on=r["publicity_starts_on"], publicity_ends_on=r["publicity_ends_on"])


async def _progress(list_id: int, done: int, total: int) -> None:
    await fetch("""UPDATE eligibility_list SET progress_done = {}, progress_total = {}, heartbeat_at = {}
                   WHERE id = {} AND status = 'running'""", done, total, clock.now(), list_id)


async def _start(list_id: int) -> dict | None:
    """Claim the list (queued, running or failed → running); ``None`` if it is done or unknown."""
    async with engine_finder().transaction():
        rows = await fetch("SELECT * FROM eligibility_list WHERE id = {} FOR UPDATE", list_id)
        if not rows or rows[0]["status"] == DONE:
            return None
        now = clock.now()
        await fetch("""UPDATE eligibility_list SET status = {}, attempts = attempts + 1, started_at = {},
                       heartbeat_at = {}, progress_done = 0, progress_total = NULL, error_code = '', error_zh = ''
                       WHERE id = {}""", RUNNING, now, now, list_id)
        return rows[0]


async def _fail(list_id: int, code: str, message_zh: str) -> None:
    await fetch("""UPDATE eligibility_list SET status = {}, error_code = {}, error_zh = {}, finished_at = {}
                   WHERE id = {} AND status <> 'done'""", FAILED, code[:48], message_zh, clock.now(), list_id)


async def build_list(list_id: int, *, chunk: int = CHUNK,
                     on_progress: Callable[[int, int], Awaitable[None]] | None = None) -> str:
    """Compute one list and store it; returns its final status. ``on_progress(done, total)`` is
    awaited after each chunk (a hook for watching a build; an exception from it fails the build
    like any other)."""
    row = await _start(list_id)
    if row is None:
        return DONE
    try:
        await _compute_and_store(row, chunk=chunk, on_progress=on_progress)
    except (BuildFailed, RuleError, CunxinError) as exc:
        await _fail(list_id, exc.code, getattr(exc, "message_zh", str(exc)))
        return FAILED
    except Exception as exc:
        logger.exception("eligibility list %s failed", list_id)
        await _fail(list_id, "ELIGIBILITY_BUILD_FAILED", f"名单生成失败，可重新生成（{type(exc).__name__}）")
        return FAILED
    return DONE


async def _compute_and_store(row: dict, *, chunk: int,
                             on_progress: Callable[[int, int], Awaitable[None]] | None) -> None:
    list_id, county_id, day = row["id"], row["county"], row["as_of"]
    measure_row = (await fetch("SELECT * FROM measure WHERE id = {}", row["measure"]))[0]
    version = catalogues(county_id).version_on(day)  # RuleError RULES_NO_CATALOGUE for a day before the catalogue
    order = [band.grade for band in version.rating_rules().household.grades]
    serious_items = list(version.rating_rules().village.serious_dishonesty_items)
    raw = measure_row["conditions"]
    try:
        conditions = rules.parse_conditions(raw if isinstance(raw, list) else json.loads(raw), order)
    except rules.MeasureProblem as exc:
        raise BuildFailed(exc.code, exc.message_zh) from None
    measure = _measure(measure_row, conditions)

    households = await fetch(_HOUSEHOLDS_SQL, county_id, day, day)
    total = len(households)
    await _progress(list_id, 0, total)
    ratings: dict[tuple[str, int], list[rules.RatingFact]] = defaultdict(list)
    for r in await fetch(_RATINGS_SQL, county_id, day):
        ratings[(r["level"], r["subject_id"])].append(_rating_fact(r))

    listed: list[tuple[rules.Listed, dict, dict | None]] = []
    candidates: list[rules.Candidate] = []
    places: dict[int, dict] = {}
    heads: dict[int, dict] = {}
    for start in range(0, total, chunk):
        part = households[start:start + chunk]
        ids = [h["household_id"] for h in part]
        for h in await fetch(_HEADS_SQL, ids, HEAD, day, day):
            heads[h["household"]] = h
        serious: dict[int, list[rules.SeriousEntry]] = defaultdict(list)
        for e in await fetch(_SERIOUS_SQL, day, day, serious_items, day, day, ids, ids):
            serious[e["household"]].append(rules.SeriousEntry(
                entry_id=e["id"], valid_from=e["valid_from"], valid_until=e["valid_until"],
                recorded_on=clock.local_date(e["created_at"]),
                reversed_on=clock.local_date(e["reversed_at"]) if e["reversed_at"] else None))
        for h in part:
            places[h["household_id"]] = h
            facts = rules.facts_on(day, ratings.get(("household", h["household_id"]), ()),
                                   ratings.get(("village", h["village_id"]), ()),
                                   ratings.get(("township", h["township_id"]), ()), serious.get(h["household_id"], ()))
            candidates.append(rules.Candidate(h["household_id"],
                                              (h["township_code"], h["village_code"], h["household_code"]), facts))
        done = min(start + chunk, total)
        await _progress(list_id, done, total)
        if on_progress is not None:
            await on_progress(done, total)

    records = []
    for item in rules.eligibility_list(measure, candidates, order):
        h = places[item.candidate.household_id]
        head = heads.get(h["household_id"])
        rating = item.candidate.facts.rating
        records.append((
            county_id, list_id, item.seq, h["household_id"], h["household_code"], h["township_id"], h["township_name"],
            h["village_id"], h["village_name"], h["grid_id"], head["person_id"] if head else None,
            mask_name(head["name"]) if head else "", head["id_number_masked"] if head else "",
            rating.grade if rating else "", rating.period_code if rating else "",
            rating.period_name_zh if rating else "", rating.publicity_starts_on if rating else None,
            rating.publicity_ends_on if rating else None, item.decision.reason_zh))
    async with engine_finder().transaction():
        current = await fetch("SELECT status FROM eligibility_list WHERE id = {} FOR UPDATE", list_id)
        if current[0]["status"] == DONE:
            return  # another run finished first
        if records:
            await transaction_connection().copy_records_to_table("eligibility_list_entry", records=records,
                                                                 columns=_ENTRY_COLUMNS)
        await fetch("""UPDATE eligibility_list SET status = {}, households = {}, catalogue_version = {},
                       progress_done = {}, progress_total = {}, finished_at = {}, error_code = '', error_zh = ''
                       WHERE id = {}""", DONE, len(records), version.version, total, total, clock.now(), list_id)


async def requeue_stale() -> int:
    """Sweep: queue lists still queued (their enqueue may have failed) or running with no
    heartbeat for a while (a lost worker)."""
    cutoff = clock.now() - STALE_AFTER
    rows = await fetch("""SELECT id FROM eligibility_list WHERE (status = {} AND requested_at < {})
                          OR (status = {} AND coalesce(heartbeat_at, started_at) < {})""",
                       QUEUED, clock.now() - timedelta(minutes=2), RUNNING, cutoff)
    for r in rows:
        await jobs.enqueue("build_eligibility_list", r["id"], job_id=f"eligibility:{r['id']}:{int(cutoff.timestamp())}")
    return len(rows)
