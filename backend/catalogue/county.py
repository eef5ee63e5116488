"""A county's own catalogue versions: upload (checked like ``cunxin rules check``), diff and impact
against the version in force, publish by a second county admin, and the re-scoring of past events.

Decisions:
- The upload is the YAML text in a JSON body (``{"yaml": "..."}``): piccolo-admin forms post JSON
  too, so the admin page's form calls the same service. Every problem is a 422 CATALOGUE_INVALID
  listing them all (line, path, message_zh, message_en), the same checks as ``cunxin rules check``
  plus: the version id and the effective date must be new in the county's set (shipped included).
- The diff is against the version in force (for that county) on the new version's effective date.
- The impact is computed inline with the pure engine (``points_rules.catalogue_impact``) over the
  county's counted events: grades as of today, or as of the effective date if that is later.
- Publishing: a county admin of the same county who is not the uploader (403
  CATALOGUE_MAKER_CHECKER; the database holds the same rule); another county's upload is a 404.
  Published is final (409 CATALOGUE_ALREADY_PUBLISHED). A past-dated version is refused (422
  CATALOGUE_BREAKS_EVENTS) if it cannot score events it would govern. A version whose date has come
  queues one re-score job (``rescore_catalogue_version``); a future one re-scores nothing.
- The re-score: every subject of the county with counted events dated in [effective_from, next
  version) is re-scored through ``ledger.services.rescore_subject`` under its subject lock, one
  transaction per subject, with the cause "因<版本>版积分目录生效" ("…，重新计分：…" in each
  compensating entry's explanation). Idempotent: a second run appends nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from datetime import date, timedelta

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.audit.tables import SecurityEvent
from backend.auth.roles import Actor, Role
from backend.catalogue.schemas import ChangeLineOut, CountyVersionOut, GradeChangeOut, ImpactOut
from backend.catalogue.tables import (DRAFT, PUBLISHED, RESCORE_DONE, RESCORE_FAILED, RESCORE_NONE, RESCORE_QUEUED,
                                      RESCORE_RUNNING, CountyCatalogueVersion)
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.ledger.catalogue import catalogues, refresh_catalogues, version_of_row
from backend.registry.tables import HEAD
from backend.schemas import has_nul
from points_rules import CatalogueSet, Change, RuleError, diff_versions
from backend.village_rules import totals as village_totals
from points_rules.catalogue_impact import Member, addition_problems, governed_range, impact, with_version
from points_rules.validation import check_version
from points_rules.yaml_source import parse_yaml

logger = logging.getLogger("cunxin.catalogue")

INVALID = InvalidInput("积分目录文件有误", "The catalogue file has problems", code="CATALOGUE_INVALID")
UNKNOWN = NotFound()  # absent or another county's: the same 404 (NOT_FOUND)
MAKER_CHECKER = PermissionDenied("上传者不能发布自己上传的版本，须由本县另一名管理员发布",
                                 "The uploader may not publish: a second county admin must",
                                 code="CATALOGUE_MAKER_CHECKER")
ALREADY = Conflict("该版本已发布，不可更改", "This version is already published", code="CATALOGUE_ALREADY_PUBLISHED")
TAKEN = Conflict("本县已发布同一版本号或同一生效日期的目录", "The county already has a version with that id or date",
                 code="CATALOGUE_VERSION_TAKEN")
BREAKS = InvalidInput("新版本无法为其生效后已有的事件计分", "The new version cannot score events it would govern",
                      code="CATALOGUE_BREAKS_EVENTS")
NOT_COUNTY_ADMIN = PermissionDenied("仅县（区）管理员可管理积分目录", "Only county admins manage the catalogue",
                                    code="CATALOGUE_COUNTY_ADMIN_ONLY")
STALE_AFTER = timedelta(minutes=10)
COUNTED_STATUSES = ("counted", "skipped")


def _county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise NOT_COUNTY_ADMIN.fresh()
    return actor.county_id


def reason_zh(version_id: str) -> str:
    """The cause every compensating entry names."""
    return f"因{version_id}版积分目录生效"


# --- upload --------------------------------------------------------------------------------------

def check_upload(county_set: CatalogueSet, text: str):
    """(version, problems): the ``rules check`` checks of one file plus newness in the county's set."""
    source = parse_yaml(text, "upload.yaml")
    version, problems = check_version(source)
    if version is not None:
        problems = problems + addition_problems(county_set, version, source)
    return version, problems


def _problems_error(problems) -> InvalidInput:
    return INVALID.fresh(problems=[{"line": p.line, "path": p.path, "message_zh": p.message_zh,
                                    "message_en": p.message_en} for p in problems])


async def upload(actor: Actor, text: str) -> CountyVersionOut:
    """A draft of the caller's county (422 CATALOGUE_INVALID with every problem)."""
    county_id = _county_admin(actor)
    if has_nul(text):
        raise INVALID.fresh(problems=[{"line": None, "path": "", "message_zh": "文件含有空字符（NUL）",
                                       "message_en": "the file contains a NUL character"}])
    await refresh_catalogues()
    version, problems = check_upload(catalogues(county_id), text)
    if problems:
        raise _problems_error(problems)
    row = (await CountyCatalogueVersion.insert(CountyCatalogueVersion(
        county=county_id, version=version.version, effective_from=version.effective_from,
        title_zh=version.title_zh, yaml=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        status=DRAFT, uploaded_by=actor.id, uploaded_at=clock.now(),
    )).returning(CountyCatalogueVersion.id))[0]
    await _audit("catalogue_upload", actor, {"id": row["id"], "version": version.version,
                                             "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return await _out(await _row(county_id, row["id"]))


async def _audit(kind: str, actor: Actor, detail: dict) -> None:
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=actor.label[:64],
                                             detail=json.dumps(detail, ensure_ascii=False, default=str)))


async def _row(county_id: int, upload_id: int) -> dict:
    rows = await fetch("SELECT * FROM county_catalogue_version WHERE id = {} AND county = {}", upload_id, county_id)
    if not rows:
        raise UNKNOWN.fresh()
    return rows[0]


async def get_upload(actor: Actor, upload_id: int) -> CountyVersionOut:
    county_id = _county_admin(actor)
    await refresh_catalogues()
    return await _out(await _row(county_id, upload_id))


async def list_uploads(actor: Actor) -> list[CountyVersionOut]:
    county_id = _county_admin(actor)
    await refresh_catalogues()
    rows = await fetch("SELECT * FROM county_catalogue_version WHERE county = {} ORDER BY id DESC", county_id)
    return [await _out(r, with_impact=False) for r in rows]


# --- diff and impact -----------------------------------------------------------------------------

def _without(cats: CatalogueSet, version_id: str) -> CatalogueSet:
    return CatalogueSet(tuple(v for v in cats.versions if v.version != version_id))


async def _out(row: dict, *, with_impact: bool = True) -> CountyVersionOut:
    version = version_of_row(row)
    before = _without(catalogues(row["county"]), version.version)
    try:
        against = before.version_on(version.effective_from)
    except RuleError:  # nothing in force before it (a version earlier than every other)
        against = None
    lines = diff_versions(against, version) if against is not None else []
    impact_out = None
    if with_impact and row["status"] == DRAFT:
        impact_out = await compute_impact(row["county"], before, version)
    return CountyVersionOut(
        id=row["id"], county_id=row["county"], version=row["version"], effective_from=row["effective_from"],
        title_zh=row["title_zh"], sha256=row["sha256"], status=row["status"], uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"], published_by=row["published_by"], published_at=row["published_at"],
        against_version=against.version if against is not None else None,
        changes=[ChangeLineOut(kind=c.kind, area=c.area, code=c.code, text_zh=c.text_zh, text_en=c.text_en)
                 for c in lines],
        changes_zh=[c.text_zh for c in lines], impact=impact_out,
        rescore_status=row["rescore_status"], rescore_done=row["rescore_done"], rescore_total=row["rescore_total"],
        rescore_entries=row["rescore_entries"], rescore_error=row["rescore_error"],
    )


async def _county_events(county_id: int) -> tuple[dict, dict]:
    from backend.ledger.services import engine_event

    rows = await fetch(
        """SELECT e.* FROM credit_event e JOIN township t ON t.id = e.township_id
           WHERE t.county = {} AND e.status = ANY({}) AND e.subject_kind IN ('person', 'household')""",
        county_id, list(COUNTED_STATUSES))
    persons: dict[int, list] = defaultdict(list)
    households: dict[int, list] = defaultdict(list)
    for r in rows:
        (persons if r["subject_kind"] == "person" else households)[r["subject_id"]].append(engine_event(r))
    return persons, households


async def _members(county_id: int, as_of: date) -> dict[int, list[Member]]:
    rows = await fetch(
        """SELECT DISTINCT ON (m.household, m.person) m.household, m.person, m.relation = {} AS is_head, p.birth_date
           FROM household_membership m JOIN person p ON p.id = m.person
           JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village
           JOIN township t ON t.id = v.township
           WHERE t.county = {} AND m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to > {})
             AND p.birth_date <= {}
           ORDER BY m.household, m.person, m.valid_from DESC""", HEAD, county_id, as_of, as_of, as_of)
    out: dict[int, list[Member]] = defaultdict(list)
    for r in rows:
        out[r["household"]].append(Member(r["person"], r["birth_date"], r["is_head"]))
    return out


async def compute_impact(county_id: int, before: CatalogueSet, version) -> ImpactOut:
    """Grades as of today (or the effective date, if later) under the county's set without and with
    the version; inline (the demo county: see the report for the measured time)."""
    started = time.perf_counter()
    as_of = max(clock.today(), version.effective_from)
    persons, households = await _county_events(county_id)
    members = await _members(county_id, as_of)
    village = await village_totals.all_totals(county_id, as_of)
    result = impact(before, with_version(before, version), version.version, as_of=as_of, person_events=persons,
                    household_events=households, members=members, village=village)
    return ImpactOut(
        as_of=as_of, persons_changing_grade=len(result.persons), households_changing_grade=len(result.households),
        events_governed=result.events_governed, events_rescored=result.events_changed,
        unscorable_subjects=len(result.unscorable),
        persons=[GradeChangeOut(**c.__dict__) for c in result.persons[:200]],
        households=[GradeChangeOut(**c.__dict__) for c in result.households[:200]],
        problems_zh=[f"{u.subject_kind} {u.subject_id}：{u.message_zh}" for u in result.unscorable[:50]],
        seconds=round(time.perf_counter() - started, 3),
    )


# --- publish -------------------------------------------------------------------------------------

async def publish(actor: Actor, upload_id: int, *, today: date | None = None) -> CountyVersionOut:
    """A second county admin puts the draft in force from its date (queues the re-score if that has come)."""
    county_id = _county_admin(actor)
    today = today or clock.today()
    await refresh_catalogues()
    row = await _row(county_id, upload_id)
    if row["status"] == PUBLISHED:
        raise ALREADY.fresh()
    if row["uploaded_by"] == actor.id:
        raise MAKER_CHECKER.fresh()
    version = version_of_row(row)
    county_set = catalogues(county_id)
    _, problems = check_upload(county_set, row["yaml"])
    if problems:  # another version with this id or date was published meanwhile
        raise TAKEN.fresh(problems=[{"line": p.line, "path": p.path, "message_zh": p.message_zh,
                                     "message_en": p.message_en} for p in problems])
    if version.effective_from <= today:
        found = await compute_impact(county_id, county_set, version)
        if found.unscorable_subjects:
            raise BREAKS.fresh(problems_zh=found.problems_zh, unscorable_subjects=found.unscorable_subjects)
    rescore = RESCORE_QUEUED if version.effective_from <= today else RESCORE_NONE
    try:
        updated = await fetch(
            """UPDATE county_catalogue_version SET status = {}, published_by = {}, published_at = {}, rescore_status = {}
               WHERE id = {} AND status = {} RETURNING id""",
            PUBLISHED, actor.id, clock.now(), rescore, upload_id, DRAFT)
    except UniqueViolationError:
        raise TAKEN.fresh() from None
    if not updated:
        raise ALREADY.fresh()
    await _audit("catalogue_publish", actor, {"id": upload_id, "version": version.version, "sha256": row["sha256"],
                                              "effective_from": version.effective_from, "rescore": rescore})
    await refresh_catalogues()
    if rescore == RESCORE_QUEUED:
        await jobs.enqueue("rescore_catalogue_version", upload_id, job_id=f"catalogue-rescore-{upload_id}")
    return await _out(await _row(county_id, upload_id))


# --- the re-score job ----------------------------------------------------------------------------

async def _claim(upload_id: int) -> dict | None:
    now = clock.now()
    rows = await fetch(
        """UPDATE county_catalogue_version SET rescore_status = {}, rescore_started_at = coalesce(rescore_started_at, {}),
                  rescore_heartbeat_at = {}
           WHERE id = {} AND status = {} AND (rescore_status IN ({}, {})
                 OR (rescore_status = {} AND rescore_heartbeat_at < {})) RETURNING *""",
        RESCORE_RUNNING, now, now, upload_id, PUBLISHED, RESCORE_QUEUED, RESCORE_FAILED, RESCORE_RUNNING,
        now - STALE_AFTER)
    return rows[0] if rows else None


async def governed_subjects(county_id: int, version_id: str) -> list[tuple[str, int]]:
    """Subjects of the county with counted events dated in the version's range (the set as published)."""
    start, end = governed_range(catalogues(county_id), version_id)
    rows = await fetch(
        """SELECT DISTINCT e.subject_kind, e.subject_id FROM credit_event e JOIN township t ON t.id = e.township_id
           WHERE t.county = {} AND e.status = ANY({}) AND e.occurred_on >= {} AND ({}::date IS NULL OR e.occurred_on < {})
           ORDER BY e.subject_kind, e.subject_id""",
        county_id, list(COUNTED_STATUSES), start, end, end)
    return [(r["subject_kind"], r["subject_id"]) for r in rows]


async def run_rescore(upload_id: int) -> str:
    """Re-score what a past-dated version governs (the worker job; idempotent)."""
    from backend.ledger import services as ledger

    row = await _claim(upload_id)
    if row is None:
        rows = await fetch("SELECT rescore_status FROM county_catalogue_version WHERE id = {}", upload_id)
        return rows[0]["rescore_status"] if rows else "unknown"
    await refresh_catalogues()
    county_id = row["county"]
    subjects = await governed_subjects(county_id, row["version"])
    await fetch("UPDATE county_catalogue_version SET rescore_total = {}, rescore_done = 0 WHERE id = {}",
                len(subjects), upload_id)
    change = Change("rescored", None, None, None, reason_zh(row["version"]))
    appended = 0
    try:
        for done, (kind, subject_id) in enumerate(subjects, 1):
            async with engine_finder().transaction():
                await ledger._lock_subject(kind, subject_id)
                before = (await fetch("SELECT count(*) AS n FROM ledger_entry WHERE subject_kind = {} AND subject_id = {}",
                                      kind, subject_id))[0]["n"]
                await ledger.rescore_subject(kind, subject_id, change, row["published_by"])
                after = (await fetch("SELECT count(*) AS n FROM ledger_entry WHERE subject_kind = {} AND subject_id = {}",
                                     kind, subject_id))[0]["n"]
            appended += after - before
            if after != before:
                await ledger.ledger_changed(kind, subject_id)
            await fetch("""UPDATE county_catalogue_version SET rescore_done = {}, rescore_heartbeat_at = {},
                           rescore_entries = rescore_entries + {} WHERE id = {}""",
                        done, clock.now(), after - before, upload_id)
    except CunxinError as exc:
        logger.exception("catalogue re-score %s failed", upload_id)
        await fetch("""UPDATE county_catalogue_version SET rescore_status = {}, rescore_error = {},
                       rescore_finished_at = {} WHERE id = {}""",
                    RESCORE_FAILED, f"{exc.code}: {exc.message_zh}"[:500], clock.now(), upload_id)
        return RESCORE_FAILED
    await fetch("UPDATE county_catalogue_version SET rescore_status = {}, rescore_finished_at = {} WHERE id = {}",
                RESCORE_DONE, clock.now(), upload_id)
    return RESCORE_DONE


async def requeue_stale() -> int:
    """Re-score runs still queued (Redis was down at publishing) or whose worker was lost."""
    now = clock.now()
    rows = await fetch(
        """SELECT id FROM county_catalogue_version WHERE status = {} AND ((rescore_status = {} AND published_at < {})
           OR (rescore_status = {} AND rescore_heartbeat_at < {})) ORDER BY id""",
        PUBLISHED, RESCORE_QUEUED, now - timedelta(minutes=2), RESCORE_RUNNING, now - STALE_AFTER)
    for r in rows:
        await jobs.enqueue("rescore_catalogue_version", r["id"], job_id=None)
    return len(rows)


async def county_by_code(code: str | None) -> int | None:
    """The county of a public ``?county=`` code (None: the shipped default); unknown → 404."""
    if code is None:
        return None
    rows = await fetch("SELECT id FROM county WHERE code = {}", code)
    if not rows:
        raise NotFound("县（区）代码不存在", "No county with that code", code="CATALOGUE_COUNTY_UNKNOWN")
    return rows[0]["id"]
