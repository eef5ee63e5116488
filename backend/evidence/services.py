"""Photo evidence: accept an upload at once (cheap header checks), process it in the worker
(full decode, orientation, metadata stripped, thumbnail, perceptual hash), serve it scoped."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from functools import lru_cache

from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import CunxinError, InvalidInput, NotFound, PermissionDenied, ServiceUnavailable
from backend.evidence import imaging, reuse
from backend.evidence.schemas import EvidenceOut
from backend.evidence.storage import LocalDiskStorage, default_storage
from backend.evidence.tables import PENDING, READY, REJECTED, Evidence
from backend.evidence.uses import EVIDENCE_UNKNOWN
from backend.settings import get_settings

UPLOAD_ROLES = (Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
logger = logging.getLogger("cunxin.evidence")


class EvidenceFileMissing(CunxinError):
    """The photo's row says ready but its file is gone from storage."""

    status_code = 410
    code = "EVIDENCE_FILE_MISSING"
    message_zh = "照片文件已丢失，请重新上传"
    message_en = "The photo file is missing from storage; please upload it again"
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@lru_cache(maxsize=1)
def storage() -> LocalDiskStorage:
    return default_storage(get_settings().var_dir)


def _out(row: dict) -> EvidenceOut:
    return EvidenceOut(id=row["id"], status=row["status"], event_id=row["event"], width=row["width"],
                       height=row["height"], reuse_of=row["reuse_of"], error_code=row["error_code"],
                       error_message_zh=row["error_message_zh"], created_at=row["created_at"])


async def upload(actor: Actor, data: bytes) -> EvidenceOut:
    """Store the upload in the incoming area and queue it; answers ``pending`` at once."""
    if actor.role not in UPLOAD_ROLES:
        raise PermissionDenied()
    header = imaging.sniff(data)  # size cap, allow-listed format and pixel count, before any decoding
    key = f"incoming/{uuid.uuid4().hex}"
    async with engine_finder().transaction():
        rows = await Evidence.insert(Evidence(county_id=scope.county_of(actor), uploaded_by=actor.id, status=PENDING, declared_format=header.format,
                                              byte_size=len(data), incoming_key=key)).returning(*Evidence.all_columns())
        await asyncio.to_thread(storage().put, key, data)
    row = rows[0]
    await jobs.enqueue("process_evidence", row["id"], job_id=f"evidence:{row['id']}")
    return _out(row)


async def link_evidence(actor: Actor, event_id: int, evidence_ids: list[int]) -> None:
    """Attach the recorder's own, unattached, not-rejected photos to an event (inside its transaction)."""
    wanted = sorted(set(evidence_ids))
    rows = await fetch(
        """UPDATE evidence SET event = {} WHERE id = ANY({}) AND uploaded_by = {} AND event IS NULL
           AND status <> 'rejected' RETURNING id, reuse_of""",
        event_id, wanted, actor.id,
    )
    if len(rows) != len(wanted):
        from backend.fieldwork.services import shared_photos  # a party activity's one photo serves each attendee

        rows += await shared_photos(actor, event_id, sorted(set(wanted) - {r["id"] for r in rows}))
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {r["id"] for r in rows})
        raise EVIDENCE_UNKNOWN.fresh(evidence_ids=missing)
    reused = [r["reuse_of"] for r in rows if r["reuse_of"]]
    if reused:
        await _flag_event(event_id, reused[0])


async def _flag_event(event_id: int, other_evidence_id: int) -> None:
    await fetch(
        "UPDATE credit_event SET flag_reason = {} WHERE id = {} AND flag_reason = ''",
        f"证据照片与第 {other_evidence_id} 号证据疑似重复，需复核", event_id,
    )


MAX_PROCESSING_ATTEMPTS = 8  # arq retries a failed job, the sweep re-queues it: give up after this many


async def process_evidence(evidence_id: int) -> str:
    """The worker's job. Idempotent: anything but a pending row is left alone.

    Each run counts an attempt first. A storage error (``OSError``) is raised again so the job is
    retried later; once the photo has had ``MAX_PROCESSING_ATTEMPTS`` (storage errors, or runs that
    died half-way), it is rejected with ``EVIDENCE_PROCESSING_FAILED`` instead of coming back
    forever, and the uploader is told to upload it again."""
    rows = await fetch("UPDATE evidence SET attempts = attempts + 1 WHERE id = {} AND status = 'pending' RETURNING *",
                       evidence_id)
    if not rows:
        current = await fetch("SELECT status FROM evidence WHERE id = {}", evidence_id)
        return current[0]["status"] if current else "missing"
    row = rows[0]
    if row["attempts"] > MAX_PROCESSING_ATTEMPTS:
        return await _give_up(row, "earlier attempts did not finish")
    try:
        return await _process(row)
    except OSError as exc:
        if row["attempts"] >= MAX_PROCESSING_ATTEMPTS:
            return await _give_up(row, repr(exc))
        logger.warning("evidence %s: storage error (attempt %s of %s), will retry: %r", row["id"], row["attempts"],
                       MAX_PROCESSING_ATTEMPTS, exc)
        raise


async def _give_up(row: dict, why: str) -> str:
    logger.error("evidence %s: giving up after %s attempts: %s", row["id"], row["attempts"], why)
    await _reject(row["id"], "EVIDENCE_PROCESSING_FAILED", "照片多次处理失败，请重新上传")
    return REJECTED


async def _process(row: dict) -> str:
    evidence_id = row["id"]
    try:
        data = await asyncio.to_thread(storage().get, row["incoming_key"])
    except KeyError:
        await _reject(evidence_id, "EVIDENCE_LOST", "上传文件丢失，请重新上传")
        return REJECTED
    try:
        result = await asyncio.to_thread(imaging.process, data)
    except CunxinError as exc:
        await _reject(evidence_id, exc.code, exc.message_zh)
        await asyncio.to_thread(storage().delete, row["incoming_key"])
        return REJECTED
    ext = _EXTENSIONS.get(result.image_format, "img")
    image_key, thumb_key = f"images/{result.sha256}.{ext}", f"thumbs/{result.sha256}.jpg"
    await asyncio.to_thread(storage().put, image_key, result.image_bytes)
    await asyncio.to_thread(storage().put, thumb_key, result.thumbnail_bytes)
    usable = reuse.phash_usable(reuse.Fingerprint(result.sha256, result.phash, result.detail))
    async with engine_finder().transaction():
        # The row lock orders this against link_evidence: an event linked while the photo was being
        # processed is seen here (and flagged); a link that comes later sees reuse_of. The advisory
        # lock makes two near-identical photos finishing at once see each other.
        locked = await fetch("SELECT event, status FROM evidence WHERE id = {} FOR UPDATE", evidence_id)
        if not locked or locked[0]["status"] != PENDING:
            return locked[0]["status"] if locked else "missing"
        event = locked[0]["event"]
        await fetch("SELECT pg_advisory_xact_lock(hashtext('cunxin.evidence.reuse'))")
        # Mirrors reuse.is_reuse: same image bytes, or both hashes usable and within the threshold.
        similar = await fetch(
            """SELECT id FROM evidence WHERE status = 'ready' AND id <> {}
               AND (sha256 = {} OR ({} AND detail >= {}
                    AND bit_count(('x' || phash)::bit(64) # ('x' || {})::bit(64)) <= {}))
               AND (event IS NULL OR {}::bigint IS NULL OR event <> {}::bigint)
               ORDER BY id LIMIT 1""",
            evidence_id, result.sha256, usable, reuse.MIN_DETAIL, result.phash, reuse.PHASH_REUSE_THRESHOLD,
            event, event,
        )
        reuse_of = similar[0]["id"] if similar else None
        await Evidence.update({
            Evidence.status: READY, Evidence.image_key: image_key, Evidence.thumbnail_key: thumb_key,
            Evidence.width: result.width, Evidence.height: result.height, Evidence.sha256: result.sha256,
            Evidence.phash: result.phash, Evidence.detail: result.detail, Evidence.reuse_of: reuse_of,
            Evidence.processed_at: clock.now(),
        }).where((Evidence.id == evidence_id) & (Evidence.status == PENDING))
        if reuse_of and event:
            await _flag_event(event, reuse_of)
    await asyncio.to_thread(storage().delete, row["incoming_key"])
    return READY


async def _reject(evidence_id: int, code: str, message_zh: str) -> None:
    await Evidence.update({Evidence.status: REJECTED, Evidence.error_code: code[:32],
                           Evidence.error_message_zh: message_zh,
                           Evidence.processed_at: clock.now()}).where(
        (Evidence.id == evidence_id) & (Evidence.status == PENDING))


async def requeue_stale(older_than: timedelta = timedelta(minutes=2)) -> int:
    """Sweep: re-queue uploads still pending (e.g. Redis was down when they arrived)."""
    cutoff = clock.now() - older_than
    rows = await Evidence.select(Evidence.id).where((Evidence.status == PENDING) & (Evidence.created_at < cutoff))
    for r in rows:
        await jobs.enqueue("process_evidence", r["id"], job_id=f"evidence:{r['id']}:{int(cutoff.timestamp())}")
    return len(rows)


async def _authorize(actor: Actor, row: dict, purpose: str) -> None:
    """The uploader, or anyone whose scope covers the subject of the event the photo belongs to —
    or, for a photo of no event, of the paper consent, the village-points entry, the objection, the
    repair application or the paper commitment it was filed with (the township checking a form or deciding a case must see it)."""
    if actor.kind == "account" and row["uploaded_by"] == actor.id:
        return
    if row["event"] is None:
        await _authorize_unlinked(actor, row["id"], purpose)
        return
    event = await fetch("SELECT subject_kind, subject_id FROM credit_event WHERE id = {}", row["event"])
    # A villager sees only photos of their own events (as the points view links them), not those
    # of other household members or of the household.
    if actor.role is Role.VILLAGER and (event[0]["subject_kind"], event[0]["subject_id"]) != (scope.PERSON,
                                                                                             actor.person_id):
        raise NotFound()
    await scope.authorize_read(actor, event[0]["subject_kind"], event[0]["subject_id"], fields=["evidence_photo"],
                               purpose=purpose)


async def _authorize_unlinked(actor: Actor, evidence_id: int, purpose: str) -> None:
    from backend.objections.services import photo_visible  # the objections slice builds on this one
    from backend.commitments.services import photo_visible as commitment_photo_visible  # and the commitments slice
    from backend.repair.services import photo_visible as repair_photo_visible  # so does the repair slice

    consent = await fetch("SELECT subject_kind, subject_id FROM consent_event WHERE evidence_id = {}", evidence_id)
    if consent:
        await scope.authorize_read(actor, consent[0]["subject_kind"], consent[0]["subject_id"],
                                   fields=["evidence_photo", "consent"], purpose=purpose)
        return
    village = await fetch("SELECT subject_kind, subject_id FROM village_points_entry WHERE evidence_id = {}",
                          evidence_id)
    if village:
        await scope.authorize_read(actor, village[0]["subject_kind"], village[0]["subject_id"],
                                   fields=["evidence_photo", "village_points"], purpose=purpose)
        return
    if not (await photo_visible(actor, evidence_id, purpose=purpose)
            or await repair_photo_visible(actor, evidence_id, purpose=purpose)
            or await commitment_photo_visible(actor, evidence_id, purpose=purpose)):
        raise NotFound()


async def get_evidence(actor: Actor, evidence_id: int) -> EvidenceOut:
    rows = await fetch("SELECT * FROM evidence WHERE id = {}", evidence_id)
    if not rows:
        raise NotFound()
    await _authorize(actor, rows[0], "evidence_status")
    return _out(rows[0])


async def evidence_bytes(actor: Actor, evidence_id: int, *, thumbnail: bool) -> tuple[bytes, str]:
    rows = await fetch("SELECT * FROM evidence WHERE id = {}", evidence_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    await _authorize(actor, row, "evidence_view")
    if row["status"] != READY:
        raise NotFound("照片尚未处理完成或未通过检查", "Photo not processed yet or rejected", code="EVIDENCE_NOT_READY")
    key = row["thumbnail_key"] if thumbnail else row["image_key"]
    try:
        data = await asyncio.to_thread(storage().get, key)
    except KeyError:
        # Our loss, not the caller's, and permanent: 410 so clients stop retrying; logged to be restored.
        logger.error("evidence %s is ready but its file %s is missing from storage", evidence_id, key)
        raise EvidenceFileMissing(details={"evidence_id": evidence_id}) from None
    except OSError as exc:  # storage unreachable (mount gone, permissions): retryable
        logger.warning("evidence %s: storage error reading %s: %r", evidence_id, key, exc)
        raise ServiceUnavailable("照片存储暂时不可用，请稍后重试", "Photo storage temporarily unavailable; retry later",
                                 code="EVIDENCE_STORAGE_UNAVAILABLE") from None
    media = "image/jpeg" if thumbnail or key.endswith(".jpg") else f"image/{key.rsplit('.', 1)[-1]}"
    return data, media
