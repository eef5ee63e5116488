"""Photo evidence end to end: upload (cheap checks, 202 pending) → the worker's job, run here
in-process → metadata-free image and thumbnail, reuse detection, scoped retrieval, and the
upload surviving a Redis outage.

Photos are seeded block noise, so each has its own perceptual hash (plain single-colour photos
all hash to 0 and would look like reuses of one another).
"""

from __future__ import annotations

import io
import random
import re
import struct
import uuid
import zlib
from datetime import date, timedelta

import pytest
from PIL import Image

from backend import clock
from backend import jobs
from backend.auth.accounts import create_account
from backend.auth.roles import Role
from backend.db import fetch
from backend.evidence import services as evidence
from backend.registry.protection import reveal_id_number
from dev.seed import DEMO_PASSWORD
from backend.settings import get_settings

TODAY = clock.today()
WORKER = "grid_worker"
GPS_IFD, MAKE, MODEL, ORIENTATION = 0x8825, 0x010F, 0x0110, 0x0112
CHINESE = re.compile(r"[\u4e00-\u9fff]")


# --- building photos -------------------------------------------------------------------------------

def _noise(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Seeded 16×12 blocks of colour, scaled up: a distinct, stable perceptual hash per seed."""
    rng = random.Random(seed)
    small = Image.new("RGB", (16, 12))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
    return small.resize(size, Image.Resampling.NEAREST)


def _jpeg(image: Image.Image, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def _phone_exif() -> Image.Exif:
    """What a phone writes: make, model, orientation and where the photo was taken."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "Xiaomi", "Redmi Note 12", 6  # 6: rotate 90° to view
    exif[GPS_IFD] = {1: "N", 2: (38.0, 55.0, 41.5), 3: "E", 4: (100.0, 27.0, 12.25)}  # 甘州区
    return exif


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG that *claims* width×height (no need to allocate the pixels to test the cap)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _assert_no_metadata(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    assert b"Exif\x00\x00" not in data
    for leak in (b"Xiaomi", b"Redmi", b"GPS"):
        assert leak not in data
    return image


# --- talking to the app ----------------------------------------------------------------------------

async def _upload(app_client, tokens, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg",
                  user: str = WORKER):
    return await app_client.post("/api/v1/evidence", files={"data": (filename, data, content_type)},
                                 headers=await tokens(user))


async def _upload_ok(app_client, tokens, data: bytes, user: str = WORKER) -> int:
    response = await _upload(app_client, tokens, data, user=user)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return response.json()["id"]


async def _evidence_row(evidence_id: int) -> dict:
    return (await fetch("SELECT * FROM evidence WHERE id = {}", evidence_id))[0]


async def _evidence_count() -> int:
    return (await fetch("SELECT count(*) AS n FROM evidence"))[0]["n"]


async def _people(app_client, tokens) -> list[dict]:
    """(person, household) pairs in the worker's grids, heads of household first."""
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
    return await fetch(
        """SELECT m.person, h.id AS household FROM household h
           JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
           WHERE h.grid = ANY({}) ORDER BY h.id, (m.relation = '户主') DESC, m.person""", sorted(me["grid_ids"]))


async def _volunteer_event(app_client, tokens, person: int, evidence_id: int) -> dict:
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "VOL-HOURS", "subject_kind": "person",
            "subject_id": person, "occurred_on": (TODAY - timedelta(days=2)).isoformat(), "quantity": "3",
            "evidence_ids": [evidence_id]}
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
    assert response.status_code == 201, response.text
    return response.json()


async def _review_queue(app_client, tokens, user: str) -> dict[int, dict]:
    """Every event in the reviewer's queue (all pages)."""
    items, offset = {}, 0
    while True:
        page = (await app_client.get(f"/api/v1/review/events?limit=200&offset={offset}",
                                     headers=await tokens(user))).json()
        items.update({e["id"]: e for e in page["items"]})
        offset += 200
        if offset >= page["total"]:
            return items


async def _villager_login(person: int) -> str:
    """A villager account for ``person`` (its ID number decrypted from the registry)."""
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person))[0]["id_number_cipher"]
    username = f"villager_{person}_{uuid.uuid4().hex[:6]}"
    await create_account(username, DEMO_PASSWORD, Role.VILLAGER, person_id_number=reveal_id_number(cipher))
    return username


# --- metadata --------------------------------------------------------------------------------------

async def test_gps_and_camera_metadata_never_leave_the_server(app_client, tokens):
    original = _jpeg(_noise(101), exif=_phone_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)[2] == (38.0, 55.0, 41.5)  # the input has GPS
    assert b"Exif\x00\x00" in original and b"Xiaomi" in original

    evidence_id = await _upload_ok(app_client, tokens, original)
    incoming = (await _evidence_row(evidence_id))["incoming_key"]
    assert evidence.storage().exists(incoming)
    assert await evidence.process_evidence(evidence_id) == "ready"
    assert await evidence.process_evidence(evidence_id) == "ready"  # a second run (arq retry) changes nothing

    headers = await tokens(WORKER)
    status = (await app_client.get(f"/api/v1/evidence/{evidence_id}", headers=headers)).json()
    assert (status["status"], status["width"], status["height"]) == ("ready", 480, 640)  # orientation applied
    image = await app_client.get(f"/api/v1/evidence/{evidence_id}/image", headers=headers)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert _assert_no_metadata(image.content).size == (480, 640)
    thumbnail = await app_client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=headers)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert max(_assert_no_metadata(thumbnail.content).size) <= 320

    row = await _evidence_row(evidence_id)
    root = evidence.storage().root
    assert root == get_settings().var_dir / "evidence"
    for key in (row["image_key"], row["thumbnail_key"]):
        _assert_no_metadata((root / key).read_bytes())
    assert (root / row["image_key"]).read_bytes() == image.content
    assert not evidence.storage().exists(incoming)  # the upload itself (with its GPS) is gone
    leaking = [p for p in root.rglob("*") if p.is_file() and b"Redmi Note 12" in p.read_bytes()]
    assert leaking == []


# --- refused at upload -----------------------------------------------------------------------------

MB = 1024 * 1024
# case: (bytes, file name, content type, status, code); None = the web server's own refusal
REFUSED_UPLOADS = {
    "100-megapixel PNG": (lambda: _png_header(10_000, 10_000), "huge.png", "image/png", 422,
                          "EVIDENCE_TOO_MANY_PIXELS"),
    "41-megapixel PNG": (lambda: _png_header(8_000, 5_125), "big.png", "image/png", 422, "EVIDENCE_TOO_MANY_PIXELS"),
    "SVG": (lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                    b'<rect width="10" height="10"/></svg>', "photo.svg", "image/svg+xml", 422, "EVIDENCE_FORMAT"),
    "PDF renamed .jpg": (lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
                         "photo.jpg", "image/jpeg", 422, "EVIDENCE_FORMAT"),
    "empty": (lambda: b"", "photo.jpg", "image/jpeg", 422, "EVIDENCE_FORMAT"),
    "10 MB + 1 byte": (lambda: b"\xff\xd8\xff" + b"\0" * (10 * MB - 2), "photo.jpg", "image/jpeg", 413,
                       "EVIDENCE_TOO_LARGE"),
    "12 MB": (lambda: b"\xff\xd8\xff" + b"\0" * (12 * MB), "photo.jpg", "image/jpeg", 413, "PAYLOAD_TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(REFUSED_UPLOADS))
async def test_uploads_refused_before_anything_is_stored(app_client, tokens, case):
    build, filename, content_type, status, code = REFUSED_UPLOADS[case]
    data = build()
    before = await _evidence_count()
    response = await _upload(app_client, tokens, data, filename, content_type)
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["code"] == code
    assert CHINESE.search(response.json()["message_zh"])
    assert await _evidence_count() == before


async def test_a_villager_cannot_upload(app_client, tokens):
    response = await _upload(app_client, tokens, _jpeg(_noise(102)), user="villager")
    assert response.status_code == 403


async def test_a_truncated_jpeg_is_refused_at_upload(app_client, tokens):
    whole = _jpeg(_noise(103, (1200, 900)))
    before = await _evidence_count()
    response = await _upload(app_client, tokens, whole[: len(whole) * 6 // 10])
    assert response.status_code == 422 and response.json()["code"] == "EVIDENCE_CORRUPT"
    assert CHINESE.search(response.json()["message_zh"])
    assert await _evidence_count() == before


async def test_a_jpeg_with_corrupt_scan_data_is_accepted_then_rejected_by_the_job(app_client, tokens):
    damaged = bytearray(_jpeg(_noise(103, (1200, 900))))
    middle = len(damaged) // 2
    damaged[middle : middle + 200] = bytes(0xFF if i % 2 else 0x00 for i in range(200))
    evidence_id = await _upload_ok(app_client, tokens, bytes(damaged))  # header and end marker are fine
    assert await evidence.process_evidence(evidence_id) == "rejected"
    headers = await tokens(WORKER)
    status = (await app_client.get(f"/api/v1/evidence/{evidence_id}", headers=headers)).json()
    assert (status["status"], status["error_code"]) == ("rejected", "EVIDENCE_CORRUPT")
    assert CHINESE.search(status["error_message_zh"]), status
    image = await app_client.get(f"/api/v1/evidence/{evidence_id}/image", headers=headers)
    assert image.status_code == 404 and image.json()["code"] == "EVIDENCE_NOT_READY"
    assert not evidence.storage().exists((await _evidence_row(evidence_id))["incoming_key"])
    # A rejected photo cannot be attached to an event.
    people = await _people(app_client, tokens)
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "VOL-HOURS", "subject_kind": "person",
            "subject_id": people[-1]["person"], "occurred_on": TODAY.isoformat(), "quantity": "2",
            "evidence_ids": [evidence_id]}
    refused = await app_client.post("/api/v1/events", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "EVIDENCE_UNKNOWN"


# --- reuse -----------------------------------------------------------------------------------------

async def test_a_reused_photo_flags_the_second_event_for_review(app_client, tokens):
    people = await _people(app_client, tokens)
    photo = _noise(104)
    first_id = await _upload_ok(app_client, tokens, _jpeg(photo))
    first = await _volunteer_event(app_client, tokens, people[3]["person"], first_id)
    assert await evidence.process_evidence(first_id) == "ready"
    assert (await _evidence_row(first_id))["reuse_of"] is None

    # The same photo, re-saved smaller and at another quality, for someone else's event.
    again_id = await _upload_ok(app_client, tokens, _jpeg(photo.resize((600, 450)), quality=70))
    second = await _volunteer_event(app_client, tokens, people[5]["person"], again_id)
    assert second["flag_reason"] == ""
    assert await evidence.process_evidence(again_id) == "ready"

    headers = await tokens(WORKER)
    assert (await app_client.get(f"/api/v1/evidence/{again_id}", headers=headers)).json()["reuse_of"] == first_id
    flagged = (await app_client.get(f"/api/v1/events/{second['id']}", headers=headers)).json()
    assert str(first_id) in flagged["flag_reason"] and CHINESE.search(flagged["flag_reason"])
    assert (await app_client.get(f"/api/v1/events/{first['id']}", headers=headers)).json()["flag_reason"] == ""

    queue = await _review_queue(app_client, tokens, "township_admin")
    assert second["id"] in queue and first["id"] not in queue
    assert queue[second["id"]]["flag_reason"] == flagged["flag_reason"]
    assert second["id"] not in await _review_queue(app_client, tokens, "township_admin2")

    # Processed before it is attached: the event is flagged when the photo is linked.
    third_id = await _upload_ok(app_client, tokens, _jpeg(photo))
    assert await evidence.process_evidence(third_id) == "ready"
    assert (await _evidence_row(third_id))["reuse_of"] == first_id
    third = await _volunteer_event(app_client, tokens, people[7]["person"], third_id)
    assert str(first_id) in third["flag_reason"]
    assert third["id"] in await _review_queue(app_client, tokens, "township_admin")


async def test_different_photos_are_not_flagged(app_client, tokens):
    people = await _people(app_client, tokens)
    ids = [await _upload_ok(app_client, tokens, _jpeg(_noise(seed))) for seed in (105, 106)]
    events = [await _volunteer_event(app_client, tokens, people[9 + i]["person"], ids[i]) for i in range(2)]
    for evidence_id in ids:
        assert await evidence.process_evidence(evidence_id) == "ready"
        assert (await _evidence_row(evidence_id))["reuse_of"] is None
    for event in events:
        shown = (await app_client.get(f"/api/v1/events/{event['id']}", headers=await tokens(WORKER))).json()
        assert shown["flag_reason"] == ""


# --- who may see a photo ---------------------------------------------------------------------------

async def test_only_the_subject_and_staff_in_scope_see_a_photo(app_client, tokens):
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    people = await _people(app_client, tokens)
    household_member = next(p["person"] for p in people
                            if p["household"] == me["household_id"] and p["person"] != me["person_id"])
    stranger = next(p["person"] for p in people if p["household"] != me["household_id"])
    evidence_id = await _upload_ok(app_client, tokens, _jpeg(_noise(107)))
    await _volunteer_event(app_client, tokens, me["person_id"], evidence_id)
    assert await evidence.process_evidence(evidence_id) == "ready"
    path = f"/api/v1/evidence/{evidence_id}"

    async def status(user: str, suffix: str = "") -> int:
        return (await app_client.get(path + suffix, headers=await tokens(user))).status_code

    for user in ("villager", "township_admin", "county_admin", WORKER):
        assert await status(user, "/thumbnail") == 200, user
    thumb = await app_client.get(path + "/thumbnail", headers=await tokens("villager"))
    assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    mine = (await app_client.get("/api/v1/me/points", headers=await tokens("villager"))).json()
    assert f"{path}/thumbnail" in [t for e in mine["entries"] for t in e["evidence_thumbnails"]]

    for suffix in ("", "/image", "/thumbnail"):
        assert await status("township_admin2", suffix) == 404, suffix
        assert await status("auditor", suffix) == 404, suffix
    for person in (stranger, household_member):
        username = await _villager_login(person)
        for suffix in ("", "/image", "/thumbnail"):
            assert await status(username, suffix) == 404, (person, suffix)


# --- Redis down ------------------------------------------------------------------------------------

async def test_an_upload_while_redis_is_down_is_kept_and_requeued(app_client, tokens, monkeypatch):
    await jobs.close()  # drop the live pool cleanly; it is re-created when Redis "comes back"
    real_get_pool, real_enqueue = jobs._get_pool, jobs.enqueue

    async def redis_down():
        raise ConnectionError("Connection refused (redis://127.0.0.1:6379)")

    queued: list[tuple[str, tuple, bool]] = []

    async def recording_enqueue(function, *args, job_id=None):
        ok = await real_enqueue(function, *args, job_id=job_id)
        queued.append((function, args, ok))
        return ok

    monkeypatch.setattr(jobs, "_get_pool", redis_down)
    monkeypatch.setattr(jobs, "enqueue", recording_enqueue)

    evidence_id = await _upload_ok(app_client, tokens, _jpeg(_noise(108)))
    assert queued == [("process_evidence", (evidence_id,), False)]
    row = await _evidence_row(evidence_id)
    assert row["status"] == "pending" and evidence.storage().exists(row["incoming_key"])

    queued.clear()
    assert await evidence.requeue_stale(older_than=timedelta(0)) >= 1  # still down: nothing raised
    assert ("process_evidence", (evidence_id,), False) in queued

    monkeypatch.setattr(jobs, "_get_pool", real_get_pool)  # Redis is back
    queued.clear()
    assert await evidence.requeue_stale(older_than=timedelta(0)) >= 1
    assert ("process_evidence", (evidence_id,), True) in queued

    assert await evidence.process_evidence(evidence_id) == "ready"  # what the worker does with the job
    queued.clear()
    still_pending = (await fetch("SELECT count(*) AS n FROM evidence WHERE status = 'pending'"))[0]["n"]
    assert await evidence.requeue_stale(older_than=timedelta(0)) == still_pending
    assert evidence_id not in [args[0] for _, args, _ in queued]  # processed: no longer swept


# --- linked while processing, flat photos, lost files -----------------------------------------------

async def test_a_photo_linked_while_it_is_processed_still_flags_its_event(app_client, tokens, monkeypatch):
    """The event is recorded (photo linked) after the job read the row and before it finished:
    neither the link (no reuse_of yet) nor the job (it read no event) used to flag it."""
    import asyncio

    people = await _people(app_client, tokens)
    photo = _noise(110)
    first_id = await _upload_ok(app_client, tokens, _jpeg(photo))
    assert await evidence.process_evidence(first_id) == "ready"
    await _volunteer_event(app_client, tokens, people[11]["person"], first_id)
    again_id = await _upload_ok(app_client, tokens, _jpeg(photo.resize((600, 450)), quality=70))

    loop, real_process, linked = asyncio.get_running_loop(), evidence.imaging.process, []

    def process_then_link(data: bytes):
        result = real_process(data)  # the decode is done; now the phone's event arrives
        linked.append(asyncio.run_coroutine_threadsafe(
            _volunteer_event(app_client, tokens, people[12]["person"], again_id), loop).result())
        return result

    monkeypatch.setattr(evidence.imaging, "process", process_then_link)
    assert await evidence.process_evidence(again_id) == "ready"
    assert linked and linked[0]["flag_reason"] == ""  # at link time the photo was still pending
    shown = (await app_client.get(f"/api/v1/events/{linked[0]['id']}", headers=await tokens(WORKER))).json()
    assert str(first_id) in shown["flag_reason"]


async def test_flat_photos_of_different_events_are_not_flagged(app_client, tokens):
    people = await _people(app_client, tokens)
    ids = [await _upload_ok(app_client, tokens, _jpeg(Image.new("RGB", (640, 480), colour)))
           for colour in ((250, 250, 250), (20, 20, 20))]
    events = [await _volunteer_event(app_client, tokens, people[13 + i]["person"], ids[i]) for i in range(2)]
    for evidence_id in ids:
        assert await evidence.process_evidence(evidence_id) == "ready"
        row = await _evidence_row(evidence_id)
        assert row["phash"] == "0000000000000000" and row["detail"] == 0 and row["reuse_of"] is None
    for event in events:
        shown = (await app_client.get(f"/api/v1/events/{event['id']}", headers=await tokens(WORKER))).json()
        assert shown["flag_reason"] == ""
    # The very same flat photo again is still a reuse (identical image bytes).
    again = await _upload_ok(app_client, tokens, _jpeg(Image.new("RGB", (640, 480), (250, 250, 250))))
    assert await evidence.process_evidence(again) == "ready"
    assert (await _evidence_row(again))["reuse_of"] == ids[0]


async def test_a_photo_whose_file_is_gone_is_410_not_500(app_client, tokens):
    evidence_id = await _upload_ok(app_client, tokens, _jpeg(_noise(111)))
    assert await evidence.process_evidence(evidence_id) == "ready"
    row = await _evidence_row(evidence_id)
    (evidence.storage().root / row["image_key"]).unlink()
    headers = await tokens(WORKER)
    response = await app_client.get(f"/api/v1/evidence/{evidence_id}/image", headers=headers)
    assert response.status_code == 410, response.text
    assert response.json()["code"] == "EVIDENCE_FILE_MISSING" and CHINESE.search(response.json()["message_zh"])
    assert (await app_client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=headers)).status_code == 200


async def test_an_unknown_or_foreign_photo_cannot_be_linked(app_client, tokens):
    people = await _people(app_client, tokens)
    theirs = await _upload_ok(app_client, tokens, _jpeg(_noise(112)), user="township_admin")
    for evidence_id in (theirs, 2**62):
        body = {"idempotency_key": uuid.uuid4().hex, "item_code": "VOL-HOURS", "subject_kind": "person",
                "subject_id": people[-2]["person"], "occurred_on": TODAY.isoformat(), "quantity": "2",
                "evidence_ids": [evidence_id]}
        single = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
        assert single.status_code == 422 and single.json()["code"] == "EVIDENCE_UNKNOWN", single.text
        batch = await app_client.post("/api/v1/events:batch", json={"events": [body]}, headers=await tokens(WORKER))
        assert batch.status_code == 200, batch.text
        assert batch.json()["results"][0]["error"]["code"] == "EVIDENCE_UNKNOWN"


# --- storage failing while the worker processes ------------------------------------------------------

async def test_a_photo_whose_storage_keeps_failing_is_retried_then_given_up(app_client, tokens, monkeypatch):
    """A storage error is raised again (arq retries the job, the sweep re-queues it) until the cap;
    then the photo is rejected with a code the uploader sees, and the sweep stops re-queuing it.
    Before the cap existed it stayed pending and came back every five minutes, for ever."""
    evidence_id = await _upload_ok(app_client, tokens, _jpeg(_noise(121)))
    store = evidence.storage()
    real_get = store.get

    def failing_get(key):
        raise OSError(5, "Input/output error", key)

    monkeypatch.setattr(store, "get", failing_get)
    for attempt in range(1, evidence.MAX_PROCESSING_ATTEMPTS):
        with pytest.raises(OSError):
            await evidence.process_evidence(evidence_id)
        row = await _evidence_row(evidence_id)
        assert (row["status"], row["attempts"]) == ("pending", attempt)
    assert await evidence.process_evidence(evidence_id) == "rejected"  # the last attempt gives up
    row = await _evidence_row(evidence_id)
    assert (row["status"], row["error_code"], row["attempts"]) == (
        "rejected", "EVIDENCE_PROCESSING_FAILED", evidence.MAX_PROCESSING_ATTEMPTS)

    monkeypatch.setattr(store, "get", real_get)  # storage is back: a rejected photo stays rejected
    assert await evidence.process_evidence(evidence_id) == "rejected"
    response = await app_client.get(f"/api/v1/evidence/{evidence_id}", headers=await tokens(WORKER))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected" and response.json()["error_code"] == "EVIDENCE_PROCESSING_FAILED"


async def test_a_photo_whose_runs_keep_dying_is_given_up_without_another_try(app_client, tokens):
    """Runs that died half-way (worker killed) count too: past the cap the photo is rejected at once."""
    evidence_id = await _upload_ok(app_client, tokens, _jpeg(_noise(122)))
    await fetch("UPDATE evidence SET attempts = {} WHERE id = {}", evidence.MAX_PROCESSING_ATTEMPTS, evidence_id)
    assert await evidence.process_evidence(evidence_id) == "rejected"
    assert (await _evidence_row(evidence_id))["error_code"] == "EVIDENCE_PROCESSING_FAILED"
