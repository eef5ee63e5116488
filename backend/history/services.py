"""History import: a county's earlier years brought into the ledger through the live scoring path.

The flow of a run (``history_import`` row): the file is stored encrypted and the run queued
(an admin upload answers 202 with the run; the CLI runs it in-process) → every row is checked on
its own (:mod:`backend.history.rows`) and then against the registry: the person by the keyed hash
of the ID number, a household by 户号, and only where the scope module says the county covers it —
a person of another county is "unknown", exactly like one who does not exist → with any bad row
and the default mode (all or nothing) the run is ``rejected`` and nothing is written; otherwise
the rows are written → the file copy is dropped, the report kept.

Decisions (the issue left them open):

- **Recorder.** The events are recorded under the county's own history account
  (``history-<county code>``, a county admin that cannot log in), like a feed's account, so the
  ledger's idempotency key (recorder + key) is the county's whoever uploads: the same file imported
  by another admin of the county, or from the command line, changes nothing either. Who imported is
  the run's ``requested_by`` and the audit event.
- **Idempotency.** The key of a row is ``hist-`` + the SHA-256 of its normalised content
  (:func:`backend.history.rows.row_key`), never its row number; rows already in the ledger are
  reported as ``already imported`` and skipped. Two identical rows in one file are a bad row
  (``HISTORY_ROW_DUPLICATE``): the second would otherwise silently vanish.
- **Review and lateness.** The county admin's import is the approval: every event is ``counted``
  at once (items that wait for review when logged live do not wait), and none is flagged ``late``
  (a history is late by nature; ``recorded_on`` is the import day, truthfully). The source document
  (来源文书) stands in for a photo where the item asks for evidence, and is written in the event's note.
- **Same scoring path.** Rows are written subject by subject in the ledger's canonical order (event
  date, then order key) with the ledger's own functions — the subject lock, one ``credit_event``
  insert per chunk, ``ledger.services.rescore_subject`` per event (compensations, hash chain) — so the
  entries are those live recording would have produced; each changed subject's standing is queued
  for recompute.
- **All or nothing.** Validation is whole before anything is written. The writing itself goes in
  chunks of whole subjects (one transaction each, so live recording is not held up for minutes by the
  chain lock); if the database refuses a chunk, the run is ``failed`` with what was written so far
  counted, and importing the same file again finishes it (the rows written are skipped by key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from asyncpg.exceptions import PostgresError
from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.audit.tables import SecurityEvent
from backend.auth import scope
from backend.auth.accounts import create_account
from backend.auth.roles import Actor, Role
from backend.auth.tables import Account
from backend.db import fetch
from backend.errors import CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.feeds import recording
from backend.history import rows as parsing
from backend.history.schemas import RowErrorOut, RunOut
from backend.history.tables import (ALL_OR_NOTHING, DONE, FAILED, QUEUED, REJECTED, RUNNING, VALID_ROWS,
                                    HistoryImport)
from backend.identity import FieldCipher, derive_keys
from backend.ledger import bulk
from backend.ledger import services as ledger
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.ledger.tables import COUNTED
from backend.registry import protection
from backend.settings import get_settings
from points_rules import notifications as notice_rules
from points_rules import RuleError

logger = logging.getLogger("cunxin.history")

MAX_BYTES = 8 * 1024 * 1024
CHUNK = 500
"""Events written per transaction (whole subjects): 10,000 rows are twenty short transactions."""
STALE_AFTER = timedelta(minutes=10)
_CONTEXT = "history_import.content"

MODE_INVALID = InvalidInput("导入方式只能是 all_or_nothing 或 valid_rows", "mode must be all_or_nothing or valid_rows",
                            code="HISTORY_MODE_INVALID")
FILE_EMPTY = InvalidInput("文件为空", "The file is empty", code="HISTORY_FILE_FORMAT")
COUNTY_UNKNOWN = NotFound("县（区）代码不存在", "No county with that code", code="HISTORY_COUNTY_UNKNOWN")


@lru_cache(maxsize=1)
def _cipher() -> FieldCipher:
    return FieldCipher({"k1": derive_keys(get_settings().data_key).encryption_key}, "k1")


def _require_county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


async def _audit(kind: str, principal: str, detail: dict) -> None:
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=principal[:64],
                                             detail=json.dumps(detail, ensure_ascii=False, default=str)))


# --- the county's recorder -----------------------------------------------------------------------

async def recorder(county_id: int) -> Actor:
    """The county's history account as the ledger sees it (made on first use; it cannot log in)."""
    county = (await fetch("SELECT code FROM county WHERE id = {}", county_id))[0]
    username = f"history-{county['code']}"
    row = await Account.select(Account.id).where(Account.username == username).first()
    if row is None:
        try:
            account_id = await create_account(username, secrets.token_urlsafe(24) + "aA1!", Role.COUNTY_ADMIN,
                                              county_code=county["code"], display_name="历史数据导入")
            await Account.update({Account.active: False}).where(Account.id == account_id)
        except (CunxinError, PostgresError):  # made meanwhile by a concurrent first import
            row = await Account.select(Account.id).where(Account.username == username).first()
            if row is None:
                raise
            account_id = row["id"]
    else:
        account_id = row["id"]
    return Actor(kind="account", id=account_id, role=Role.COUNTY_ADMIN, label=username, sid="", county_id=county_id)


def event_key(row: parsing.HistoryRow) -> str:
    """The ledger idempotency key of a row's event (under the county's history account)."""
    return f"hist-{row.key[:48]}"


# --- runs ----------------------------------------------------------------------------------------

async def create_run(county_id: int, file_name: str, content: bytes, *, channel: str, requested_by: int | None,
                     mode: str = ALL_OR_NOTHING, dry_run: bool = False) -> int:
    """Store the file (encrypted) and a queued run; the file's format is checked now (a 400 at once)."""
    if mode not in (ALL_OR_NOTHING, VALID_ROWS):
        raise MODE_INVALID
    if not content:
        raise FILE_EMPTY
    kind = parsing.file_kind(file_name, content)
    parsing.check_header(content, kind)   # an unreadable file or missing columns: refused before it is queued
    token = _cipher().encrypt(base64.b64encode(content).decode(), context=_CONTEXT)
    row = (await HistoryImport.insert(HistoryImport(
        county=county_id, channel=channel, file_name=file_name[:255], file_kind=kind,
        file_sha256=hashlib.sha256(content).hexdigest(), content=token, mode=mode, dry_run=dry_run,
        requested_by=requested_by,
    )).returning(HistoryImport.id))[0]
    return row["id"]


async def request_import(actor: Actor, file_name: str, content: bytes, *, mode: str = ALL_OR_NOTHING,
                         dry_run: bool = False) -> RunOut:
    """An admin's upload: a queued run, done by the worker (``GET /event-imports/{id}`` shows progress)."""
    county_id = _require_county_admin(actor)
    run_id = await create_run(county_id, file_name, content, channel="api", requested_by=actor.id, mode=mode,
                              dry_run=dry_run)
    await jobs.enqueue("run_history_import", run_id, job_id=f"history-import-{run_id}")
    return await _run_out(run_id)


async def get_run(actor: Actor, run_id: int) -> RunOut:
    county_id = _require_county_admin(actor)
    rows = await fetch("SELECT county FROM history_import WHERE id = {}", run_id)
    if not rows or rows[0]["county"] != county_id:
        raise NotFound()
    return await _run_out(run_id)


async def list_runs(actor: Actor, *, limit: int, offset: int) -> list[RunOut]:
    county_id = _require_county_admin(actor)
    ids = await fetch("SELECT id FROM history_import WHERE county = {} ORDER BY id DESC LIMIT {} OFFSET {}",
                      county_id, limit, offset)
    return [await _run_out(r["id"]) for r in ids]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def _run_out(run_id: int) -> RunOut:
    r = (await fetch("SELECT * FROM history_import WHERE id = {}", run_id))[0]
    return RunOut(
        id=r["id"], county_id=r["county"], channel=r["channel"], file_name=r["file_name"], file_kind=r["file_kind"],
        file_sha256=r["file_sha256"], mode=r["mode"], dry_run=r["dry_run"], status=r["status"],
        progress_done=r["progress_done"], progress_total=r["progress_total"], rows_read=r["rows_read"],
        rows_invalid=r["rows_invalid"], rows_imported=r["rows_imported"], rows_already=r["rows_already"],
        errors=[RowErrorOut(**e) for e in _json(r["report"]) or []], already_rows=_json(r["already_rows"]) or [],
        error_code=r["error_code"], error_zh=r["error_zh"], requested_at=r["requested_at"],
        started_at=r["started_at"], finished_at=r["finished_at"],
    )


async def _claim(run_id: int) -> dict | None:
    """Take a queued run (or one whose worker was lost) for this process; None if it is not ours to do."""
    now = clock.now()
    rows = await fetch(
        """UPDATE history_import SET status = {}, started_at = coalesce(started_at, {}), heartbeat_at = {},
                  attempts = attempts + 1
           WHERE id = {} AND (status = {} OR (status = {} AND heartbeat_at < {})) RETURNING *""",
        RUNNING, now, now, run_id, QUEUED, RUNNING, now - STALE_AFTER)
    return rows[0] if rows else None


async def _finish(run_id: int, status: str, **fields) -> None:
    sets = {"status": status, "finished_at": clock.now(), "content": None, **fields}
    for key in ("report", "already_rows"):
        if key in sets:
            sets[key] = json.dumps(sets[key], ensure_ascii=False)
    assignments = ", ".join(f"{k} = {{}}" for k in sets)
    await fetch(f"UPDATE history_import SET {assignments} WHERE id = {{}}", *sets.values(), run_id)


Progress = Callable[[int, int], None]


async def run_import(run_id: int, *, progress: Progress | None = None, today: date | None = None) -> str:
    """Do one run (the worker job, or the CLI in-process): validate, then write unless rejected.
    Idempotent: a run already ended is left alone; a rerun of the same rows writes nothing twice."""
    run = await _claim(run_id)
    if run is None:
        return (await fetch("SELECT status FROM history_import WHERE id = {}", run_id))[0]["status"]
    today = today or clock.today()
    principal = "cli" if run["requested_by"] is None else (await _label(run["requested_by"]))
    try:
        content = base64.b64decode(_cipher().decrypt(run["content"], context=_CONTEXT))
        raw = parsing.read_rows(content, run["file_kind"])
        actor = await recorder(run["county"])
        accepted, errors = parsing.validate_rows(raw, catalogues(run["county"]), today)
        placed, place_errors = await _place(actor, accepted)
        errors = sorted(errors + place_errors, key=lambda e: (e.row_number, e.field))
        report = [e.as_dict() for e in errors]
        bad_rows = len({e.row_number for e in errors})
        existing = await _existing_keys(actor, [event_key(p.row) for p in placed])
        already = sorted(p.row.row_number for p in placed if event_key(p.row) in existing)
        new = [p for p in placed if event_key(p.row) not in existing]
        counts = {"rows_read": len(raw), "rows_invalid": bad_rows, "rows_already": len(already), "report": report,
                  "already_rows": already}
        if errors and run["mode"] == ALL_OR_NOTHING:
            await _finish(run_id, REJECTED, rows_imported=0, progress_total=len(new), error_code="HISTORY_ROWS_INVALID",
                          error_zh=f"有 {bad_rows} 行有误，未导入任何数据", **counts)
            status, imported = REJECTED, 0
        elif run["dry_run"]:
            await _finish(run_id, DONE, rows_imported=0, progress_total=len(new), **counts)
            status, imported = DONE, 0
        else:
            await fetch("UPDATE history_import SET progress_total = {}, rows_read = {} WHERE id = {}",
                        len(new), len(raw), run_id)
            imported = 0
            try:
                imported = await _write(run_id, actor, new, today, progress)
            except (PostgresError, CunxinError) as exc:
                logger.exception("history import %s failed while writing", run_id)
                code = exc.code if isinstance(exc, CunxinError) else "HISTORY_WRITE_FAILED"
                await _finish(run_id, FAILED, rows_imported=imported, error_code=code[:48],
                              error_zh="写入中断：已写入的行保留，重新导入同一文件即可补齐", **counts)
                await _audit("history_import", principal, {"run": run_id, "county": run["county"], "status": FAILED,
                                                            "sha256": run["file_sha256"], "imported": imported})
                return FAILED
            status = DONE
            await _finish(run_id, DONE, rows_imported=imported, progress_done=len(new), **counts)
    except CunxinError as exc:  # the file became unreadable, no catalogue … : failed with the reason
        await _finish(run_id, FAILED, error_code=exc.code[:48], error_zh=exc.message_zh)
        return FAILED
    await _audit("history_import", principal, {
        "run": run_id, "county": run["county"], "status": status, "sha256": run["file_sha256"],
        "dry_run": run["dry_run"], "mode": run["mode"], "rows": len(raw), "invalid": bad_rows,
        "imported": imported, "already": len(already)})
    return status


async def _label(account_id: int) -> str:
    row = await Account.select(Account.username).where(Account.id == account_id).first()
    return row["username"] if row else f"account:{account_id}"


@dataclass(frozen=True)
class _Placed:
    row: parsing.HistoryRow
    where: scope.Location


async def _place(actor: Actor, accepted: list[parsing.HistoryRow]) -> tuple[list[_Placed], list[parsing.RowError]]:
    """Each row's subject, where the scope module says the county covers it; otherwise the row is
    bad — "unknown", in the same words whether the person exists elsewhere or nowhere."""
    hashes = {n: protection.id_number_hash(n) for n in {r.id_number for r in accepted if r.id_number}}
    persons: dict[str, int] = {}
    if hashes:
        by_hash = {h: n for n, h in hashes.items()}
        for r in await fetch("SELECT id, id_number_hash FROM person WHERE id_number_hash = ANY({})", list(by_hash)):
            persons[by_hash[r["id_number_hash"]]] = r["id"]
    codes = sorted({r.household_code for r in accepted if r.subject_kind == "household"})
    households: dict[str, list[int]] = {}
    if codes:
        for r in await fetch("SELECT id, code FROM household WHERE code = ANY({})", codes):
            households.setdefault(r["code"], []).append(r["id"])
    places: dict[tuple[str, int], scope.Location | None] = {}

    async def place(kind: str, subject_id: int) -> scope.Location | None:
        if (kind, subject_id) not in places:
            where = await scope.locate(kind, subject_id)
            places[(kind, subject_id)] = where if where is not None and scope.covers(actor, where) else None
        return places[(kind, subject_id)]

    out: list[_Placed] = []
    errors: list[parsing.RowError] = []
    for row in accepted:
        where = None
        if row.subject_kind == "person":
            if row.id_number in persons:
                where = await place("person", persons[row.id_number])
            if where is None:
                errors.append(parsing.RowError(row.row_number, "id_number", "HISTORY_PERSON_UNKNOWN",
                                               f"本县（区）户籍中没有身份证号为 {row.masked_id} 的人员",
                                               f"No person with ID number {row.masked_id} in this county's registry"))
                continue
        else:
            found = [w for w in [await place("household", h) for h in households.get(row.household_code, [])] if w]
            if len(found) != 1:
                errors.append(parsing.RowError(row.row_number, "household_code", "HISTORY_HOUSEHOLD_UNKNOWN",
                                               f"本县（区）没有户号为 {row.household_code} 的家庭",
                                               f"No household {row.household_code} in this county"))
                continue
            where = found[0]
        out.append(_Placed(row, where))
    return out, errors


async def _existing_keys(actor: Actor, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    rows = await fetch("SELECT idempotency_key FROM credit_event WHERE recorded_by = {} AND idempotency_key = ANY({})",
                       actor.id, keys)
    return {r["idempotency_key"] for r in rows}


def _event_in(p: _Placed) -> EventIn:
    r = p.row
    return EventIn(idempotency_key=event_key(r), item_code=r.item_code, subject_kind=r.subject_kind,
                   subject_id=p.where.id, occurred_on=r.occurred_on, quantity=r.quantity, level=r.level,
                   note=parsing.event_note(r))


def _chunks(placed: list[_Placed], size: int) -> list[list[_Placed]]:
    """Whole subjects per chunk, each subject's rows in the ledger's canonical order."""
    by_subject: dict[tuple[str, int], list[_Placed]] = {}
    for p in placed:
        by_subject.setdefault((p.where.kind, p.where.id), []).append(p)
    out: list[list[_Placed]] = [[]]
    for subject in sorted(by_subject):
        rows = sorted(by_subject[subject], key=lambda p: (p.row.occurred_on, event_key(p.row)))
        if out[-1] and len(out[-1]) + len(rows) > size:
            out.append([])
        out[-1].extend(rows)
    return [c for c in out if c]


async def _write(run_id: int, actor: Actor, placed: list[_Placed], today: date, progress: Progress | None) -> int:
    total, done, written = len(placed), 0, 0
    if progress:
        progress(0, total)
    for chunk in _chunks(placed, CHUNK):
        async with engine_finder().transaction():
            await recording.lock_subjects([(p.where.kind, p.where.id) for p in chunk])
            present = await _existing_keys(actor, [event_key(p.row) for p in chunk])  # a concurrent run's
            todo = [p for p in chunk if event_key(p.row) not in present]
            changed = await _write_chunk(actor, todo, today)
        written += len(todo)
        done += len(chunk)
        await fetch("UPDATE history_import SET progress_done = {}, rows_imported = {}, heartbeat_at = {} WHERE id = {}",
                    done, written, clock.now(), run_id)
        for kind, subject_id in sorted(changed):
            await ledger.ledger_changed(kind, subject_id)
        if progress:
            progress(done, total)
    return written


async def _write_chunk(actor: Actor, todo: list[_Placed], today: date) -> set[tuple[str, int]]:
    """The chunk's events and their entries, as live recording in canonical order would write them:
    the ledger's set-based path (``ledger.bulk.write_events``: one insert; a subject whose new events
    all come after its counted ones gets its entries from one reconcile; any other subject's events one
    by one, each re-scoring the subject exactly as a late live entry does)."""
    items = [bulk.NewEvent(data, p.where, ledger.payload_hash(data), status=COUNTED, late=False,
                           review_reason=HISTORY_REVIEW_REASON)
             for p in sorted(todo, key=lambda p: (p.where.kind, p.where.id, p.row.occurred_on, event_key(p.row)))
             for data in [_event_in(p)]]
    try:
        await bulk.write_events(actor, items, today, notify_since=notice_rules.news_since(today))
    except RuleError as exc:
        raise InvalidInput(exc.message_zh, exc.message_en, code=exc.code) from exc
    return {(p.where.kind, p.where.id) for p in todo}


HISTORY_REVIEW_REASON = "历史导入（县级管理员导入即审核）"


async def requeue_stale() -> int:
    """Runs still queued (Redis was down at upload) or whose worker was lost: queued again."""
    now = clock.now()
    rows = await fetch(
        """SELECT id FROM history_import WHERE (status = {} AND requested_at < {}) OR (status = {} AND heartbeat_at < {})
           ORDER BY id""", QUEUED, now - timedelta(minutes=2), RUNNING, now - STALE_AFTER)
    for r in rows:
        await jobs.enqueue("run_history_import", r["id"], job_id=None)
    return len(rows)


async def county_id_of(code: str | None) -> int:
    """For the command line: the county with this code, or the only county there is."""
    if code:
        rows = await fetch("SELECT id FROM county WHERE code = {}", code)
        if not rows:
            raise COUNTY_UNKNOWN
        return rows[0]["id"]
    rows = await fetch("SELECT id FROM county ORDER BY id LIMIT 2")
    if len(rows) != 1:
        raise InvalidInput("有多个县（区），请用 --county 指定", "Several counties: name one with --county",
                           code="HISTORY_COUNTY_REQUIRED")
    return rows[0]["id"]
