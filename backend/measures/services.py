"""Measures by list only (条例 arts. 38–43): the county's list of incentives and restrictions, each
version frozen once written, and the eligibility lists built from a version for a day.

County admins write (their county only); township admins and auditors of the county read the
list and the lists' status. What a list holds is personal data: its entries are read (and
exported) through the scope module, one access-log row per household. Every write and every
export leaves a ``security_event`` row.
"""

from __future__ import annotations

import json
from datetime import date

from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.audit.tables import SecurityEvent
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.ledger.catalogue import catalogues
from backend.measures.schemas import (
    EntryOut,
    ListIn,
    ListOut,
    MeasureEndIn,
    MeasureIn,
    MeasureOut,
    MeasureVersionIn,
)
from backend.measures.tables import DONE, QUEUED
from points_rules import eligibility as rules

BUILD_JOB = "build_eligibility_list"
ENTRY_FIELDS = ["code", "head_name", "id_number", "rating"]  # masked name and ID number, grade and period

# --- errors (documented by the controllers) -------------------------------------------------------------

MEASURE_EXISTS = Conflict("本县已有该编号的措施", "My county already has a measure with this code", code="MEASURE_EXISTS")
MEASURE_SUPERSEDED = Conflict("该版本已被新版本取代，请在最新版本上修改", "This version was superseded; change the newest one",
                              code="MEASURE_SUPERSEDED")
MEASURE_INVALID = InvalidInput("措施不符合清单规则", "The measure breaks the list's rules", code="MEASURE_CONDITIONS")
AS_OF_FUTURE = InvalidInput("名单日期不能晚于今天", "as_of cannot be after today", code="ELIGIBILITY_AS_OF_FUTURE")
NOT_IN_TERM = InvalidInput("名单日期不在该措施的实施期限内", "as_of is outside the measure's term",
                           code="ELIGIBILITY_NOT_IN_TERM")
LIST_NOT_DONE = Conflict("名单尚未生成完毕", "The list is not done yet", code="ELIGIBILITY_LIST_NOT_DONE")


def _problem(exc: rules.MeasureProblem) -> InvalidInput:
    return InvalidInput(exc.message_zh, exc.message_en, code=exc.code)


# --- who reads what -----------------------------------------------------------------------------------


async def county_of(actor: Actor) -> int:
    """The county whose list an actor reads: their own county, or their township's."""
    county_id = await scope.actor_county(actor)
    if county_id is None:
        raise PermissionDenied()
    return county_id


async def _may_read_county(actor: Actor, county_id: int) -> bool:
    """County records (measures, list status) are not personal data: the county's admins, its
    townships' admins, and its auditors (structure readers of the county)."""
    if await scope.covers_county(actor, county_id):
        return True
    if actor.role is not Role.AUDITOR:
        return False
    townships = await scope.townships_of_county(county_id)
    where = await scope.locate(scope.TOWNSHIP, townships[0]) if townships else None
    return where is not None and scope.covers_structure(actor, where)


def _require_county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


async def _audit(kind: str, actor: Actor, detail: dict) -> None:
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=actor.label[:64],
                                             detail=json.dumps(detail, ensure_ascii=False, default=str)))


# --- measures ---------------------------------------------------------------------------------------------


def grade_order(day: date, county_id: int) -> list[str]:
    """Household grades best first, as the county's catalogue in force on ``day`` names them."""
    return [band.grade for band in catalogues(county_id).version_on(day).rating_rules().household.grades]


def _checked(data: MeasureIn | MeasureVersionIn, county_id: int) -> list[dict]:
    """The conditions in canonical JSON, after the closed-set and art. 42/43 checks."""
    if not data.legal_basis.strip() or not data.name_zh.strip() or not data.office_zh.strip():
        raise InvalidInput("措施名称、设定依据和实施单位不能为空", "name, legal basis and office are required",
                           code="MEASURE_LEGAL_BASIS")
    try:
        conditions = rules.parse_conditions(data.conditions, grade_order(max(data.valid_from, clock.today()), county_id))
        rules.check_measure(data.kind, data.category, conditions, data.valid_from, data.valid_to)
    except rules.MeasureProblem as exc:
        raise _problem(exc) from None
    return [c.as_dict() for c in conditions]


def _conditions_zh(raw: list[dict]) -> list[str]:
    out = []
    for c in raw:
        text = rules.CONDITIONS.get(c.get("kind"), str(c.get("kind")))
        if "grade" in c:
            text += f"{c['grade']}级"
        if "grades" in c:
            text += "、".join(c["grades"]) + "级"
        out.append(text)
    return out


def measure_out(row: dict, superseded_by: int | None) -> MeasureOut:
    conditions = row["conditions"] if isinstance(row["conditions"], list) else json.loads(row["conditions"])
    return MeasureOut(
        id=row["id"], code=row["code"], version=row["version"], kind=row["kind"],
        kind_zh=rules.KINDS.get(row["kind"], row["kind"]), category=row["category"],
        category_zh=rules.CATEGORIES.get(row["category"], row["category"]), name_zh=row["name_zh"],
        legal_basis=row["legal_basis"], conditions=conditions, conditions_zh=_conditions_zh(conditions),
        valid_from=row["valid_from"], valid_to=row["valid_to"], office_zh=row["office_zh"],
        supersedes=row["supersedes"], superseded_by=superseded_by, current=superseded_by is None,
        change_reason=row["change_reason"], created_at=row["created_at"])


_MEASURES_SQL = """SELECT m.*, (SELECT s.id FROM measure s WHERE s.supersedes = m.id) AS superseded_by
                   FROM measure m WHERE {}"""


async def _measure_row(measure_id: int) -> dict | None:
    rows = await fetch(_MEASURES_SQL.format("m.id = {}"), measure_id)
    return rows[0] if rows else None


async def _readable_measure(actor: Actor, measure_id: int) -> dict:
    row = await _measure_row(measure_id)
    if row is None or not await _may_read_county(actor, row["county"]):
        raise NotFound()
    return row


async def list_measures(actor: Actor, *, all_versions: bool = False) -> list[MeasureOut]:
    """My county's list: the newest version of every measure (or every version)."""
    county_id = await county_of(actor)
    if not await _may_read_county(actor, county_id):
        raise PermissionDenied()
    where = "m.county = {}" + ("" if all_versions else
                               " AND NOT EXISTS (SELECT 1 FROM measure s WHERE s.supersedes = m.id)")
    rows = await fetch(_MEASURES_SQL.format(where) + " ORDER BY m.code, m.version", county_id)
    return [measure_out(r, r["superseded_by"]) for r in rows]


async def get_measure(actor: Actor, measure_id: int) -> MeasureOut:
    row = await _readable_measure(actor, measure_id)
    return measure_out(row, row["superseded_by"])


async def _insert_measure(actor: Actor, county_id: int, values: dict) -> MeasureOut:
    rows = await fetch(
        """INSERT INTO measure (county, code, version, kind, category, name_zh, legal_basis, conditions,
                                valid_from, valid_to, office_zh, supersedes, change_reason, created_by, created_at)
           VALUES ({}, {}, {}, {}, {}, {}, {}, {}::jsonb, {}, {}, {}, {}, {}, {}, {}) RETURNING *""",
        county_id, values["code"], values["version"], values["kind"], values["category"], values["name_zh"].strip(),
        values["legal_basis"].strip(), json.dumps(values["conditions"], ensure_ascii=False), values["valid_from"],
        values["valid_to"], values["office_zh"].strip(), values["supersedes"], values["change_reason"], actor.id,
        clock.now())
    row = rows[0]
    await _audit("measure_version" if values["supersedes"] else "measure_create", actor,
                 {"measure": row["id"], "code": row["code"], "version": row["version"], "kind": row["kind"],
                  "category": row["category"], "supersedes": row["supersedes"]})
    return measure_out(row, None)


async def _lock_code(county_id: int, code: str) -> None:
    await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"measure:{county_id}:{code}")


async def create_measure(actor: Actor, data: MeasureIn) -> MeasureOut:
    county_id = _require_county_admin(actor)
    conditions = _checked(data, county_id)
    async with engine_finder().transaction():
        await _lock_code(county_id, data.code)
        if await fetch("SELECT 1 FROM measure WHERE county = {} AND code = {}", county_id, data.code):
            raise MEASURE_EXISTS
        return await _insert_measure(actor, county_id, {
            **data.model_dump(exclude={"conditions"}), "conditions": conditions, "version": 1, "supersedes": None,
            "change_reason": ""})


async def _current_for_change(actor: Actor, measure_id: int) -> dict:
    county_id = _require_county_admin(actor)
    row = await _measure_row(measure_id)
    if row is None or row["county"] != county_id:
        raise NotFound()
    await _lock_code(county_id, row["code"])
    if await fetch("SELECT 1 FROM measure WHERE supersedes = {}", measure_id):
        raise MEASURE_SUPERSEDED
    return row


async def new_version(actor: Actor, measure_id: int, data: MeasureVersionIn) -> MeasureOut:
    """The measure's terms from now on; the version it replaces (and every list built from it) stays."""
    conditions = _checked(data, _require_county_admin(actor))
    async with engine_finder().transaction():
        old = await _current_for_change(actor, measure_id)
        return await _insert_measure(actor, old["county"], {
            **data.model_dump(exclude={"conditions"}), "conditions": conditions, "code": old["code"],
            "version": old["version"] + 1, "supersedes": old["id"]})


async def end_measure(actor: Actor, measure_id: int, data: MeasureEndIn) -> MeasureOut:
    """End a measure on ``valid_to``: a new version with the same terms and that end."""
    async with engine_finder().transaction():
        old = await _current_for_change(actor, measure_id)
        if data.valid_to < max(old["valid_from"], clock.today()) or (
                old["valid_to"] is not None and data.valid_to > old["valid_to"]):
            # never backdated: lists already issued under the measure stay true to its term
            raise InvalidInput("终止日期须在原实施期限内，且不早于今天", "valid_to must fall within the current term "
                               "and not before today", code="MEASURE_TERM")
        conditions = old["conditions"] if isinstance(old["conditions"], list) else json.loads(old["conditions"])
        return await _insert_measure(actor, old["county"], {
            **{k: old[k] for k in ("code", "kind", "category", "name_zh", "legal_basis", "valid_from", "office_zh")},
            "conditions": conditions, "valid_to": data.valid_to, "version": old["version"] + 1,
            "supersedes": old["id"], "change_reason": data.change_reason})


# --- eligibility lists ------------------------------------------------------------------------------------

_LISTS_SQL = """SELECT l.*, m.code AS measure_code, m.version AS measure_version, m.name_zh AS measure_name_zh
                FROM eligibility_list l JOIN measure m ON m.id = l.measure WHERE {}"""


def list_out(row: dict) -> ListOut:
    return ListOut(id=row["id"], measure_id=row["measure"], measure_code=row["measure_code"],
                   measure_version=row["measure_version"], measure_name_zh=row["measure_name_zh"],
                   as_of=row["as_of"], status=row["status"], progress_done=row["progress_done"],
                   progress_total=row["progress_total"], households=row["households"],
                   catalogue_version=row["catalogue_version"], error_code=row["error_code"],
                   error_zh=row["error_zh"], requested_at=row["requested_at"], started_at=row["started_at"],
                   finished_at=row["finished_at"], attempts=row["attempts"])


async def list_row(list_id: int) -> dict | None:
    rows = await fetch(_LISTS_SQL.format("l.id = {}"), list_id)
    return rows[0] if rows else None


async def request_list(actor: Actor, measure_id: int, data: ListIn) -> ListOut:
    """Queue the build of a list for a measure version and a day; the worker computes it."""
    county_id = _require_county_admin(actor)
    measure = await _measure_row(measure_id)
    if measure is None or measure["county"] != county_id:
        raise NotFound()
    if data.as_of > clock.today():
        raise AS_OF_FUTURE
    if data.as_of < measure["valid_from"] or (measure["valid_to"] is not None and data.as_of > measure["valid_to"]):
        raise NOT_IN_TERM
    async with engine_finder().transaction():
        rows = await fetch("""INSERT INTO eligibility_list (county, measure, as_of, status, requested_by, requested_at)
                              VALUES ({}, {}, {}, {}, {}, {}) RETURNING id""",
                           county_id, measure_id, data.as_of, QUEUED, actor.id, clock.now())
        list_id = rows[0]["id"]
        await _audit("eligibility_list_request", actor, {"list": list_id, "measure": measure_id,
                                                         "as_of": data.as_of.isoformat()})
    # After the commit: the job must find the row. If Redis is down, the sweep queues it later.
    await jobs.enqueue(BUILD_JOB, list_id, job_id=f"eligibility:{list_id}")
    return list_out(await list_row(list_id))


async def _readable_list(actor: Actor, list_id: int) -> dict:
    row = await list_row(list_id)
    if row is None or not await _may_read_county(actor, row["county"]):
        raise NotFound()
    return row


async def get_list(actor: Actor, list_id: int) -> ListOut:
    return list_out(await _readable_list(actor, list_id))


async def list_lists(actor: Actor, *, measure_id: int | None, limit: int, offset: int) -> list[ListOut]:
    county_id = await county_of(actor)
    if not await _may_read_county(actor, county_id):
        raise PermissionDenied()
    where, args = "l.county = {}", [county_id]
    if measure_id is not None:
        where, args = where + " AND l.measure = {}", [*args, measure_id]
    rows = await fetch(_LISTS_SQL.format(where) + " ORDER BY l.id DESC LIMIT {} OFFSET {}", *args, limit, offset)
    return [list_out(r) for r in rows]


def _location(entry: dict, county_id: int) -> scope.Location:
    return scope.Location(kind=scope.HOUSEHOLD, id=entry["household_id"], county_id=county_id,
                          township_id=entry["township_id"], village_id=entry["village_id"],
                          grid_id=entry["grid_id"], household_id=entry["household_id"])


async def readable_entries(actor: Actor, list_id: int, *, purpose: str, request_id: str = "") -> tuple[dict, list[dict]]:
    """A done list and the entries the actor's scope covers (where each household was on the
    list's day), each read access-logged for its household."""
    row = await _readable_list(actor, list_id)
    if row["status"] != DONE:
        raise LIST_NOT_DONE
    entries = await fetch("SELECT * FROM eligibility_list_entry WHERE list = {} ORDER BY seq", list_id)
    visible = [e for e in entries if scope.covers(actor, _location(e, row["county"]))]
    await scope.log_reads(actor, [_location(e, row["county"]) for e in visible], fields=ENTRY_FIELDS,
                          purpose=purpose, request_id=request_id)
    return row, visible


def entry_out(e: dict) -> EntryOut:
    return EntryOut(seq=e["seq"], household_id=e["household_id"], household_code=e["household_code"],
                    township_name=e["township_name"], village_name=e["village_name"],
                    head_name_masked=e["head_name_masked"], head_id_masked=e["head_id_masked"], grade=e["grade"],
                    period_code=e["period_code"], period_name_zh=e["period_name_zh"],
                    publicity_starts_on=e["publicity_starts_on"], publicity_ends_on=e["publicity_ends_on"],
                    reason_zh=e["reason_zh"])


async def list_entries(actor: Actor, list_id: int, *, request_id: str = "") -> list[EntryOut]:
    _, entries = await readable_entries(actor, list_id, purpose="eligibility_list_view", request_id=request_id)
    return [entry_out(e) for e in entries]


async def export_list(actor: Actor, list_id: int, *, request_id: str = "") -> tuple[bytes, str]:
    """The list as an .xlsx workbook (the entries the caller's scope covers) and its file name."""
    from backend.measures import export

    row, entries = await readable_entries(actor, list_id, purpose="eligibility_list_export", request_id=request_id)
    measure = await _measure_row(row["measure"])
    await _audit("eligibility_list_export", actor, {"list": list_id, "measure": row["measure"],
                                                    "as_of": row["as_of"].isoformat(), "rows": len(entries)})
    return await export.workbook_bytes(measure, row, entries), export.file_name(measure, row)
