"""History import through the real services and the real app: whole files in, the same file again
changes nothing, three bad rows named and nothing written, and a person's points after an import
equal those of the same events recorded live."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, timedelta

from backend.auth.services import account_actor
from backend.auth.tables import Account
from backend.db import fetch
from backend.history import services
from backend.identity import compute_check_digit
from backend.ledger import services as ledger
from backend.ledger.schemas import EventIn
from backend.registry import protection
from dev.demo_data import COUNTY_CODE

HEADER = ["身份证号", "户号", "事项代码", "等级", "数量", "发生日期", "来源文书", "备注"]
_used = [0]


async def _people(n: int) -> list[tuple[int, str]]:
    """n people of the demo county, from the last households of the county backwards (each test its own)."""
    rows = await fetch(
        """SELECT p.id, p.id_number_cipher FROM person p
           JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
           JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village
           JOIN township t ON t.id = v.township JOIN county c ON c.id = t.county
           WHERE c.code = {} ORDER BY h.id DESC, p.id LIMIT {} OFFSET {}""", COUNTY_CODE, n, _used[0])
    _used[0] += n
    return [(r["id"], protection.reveal_id_number(r["id_number_cipher"])) for r in rows]


def _rows(people: list[tuple[int, str]], per_person: int, seed: int) -> list[list[str]]:
    """Events over three years (2023–2025) through several item kinds: fixed, by level, tiered."""
    rnd = random.Random(seed)
    out = []
    for _, id_number in people:
        for k in range(per_person):
            day = date(2023, 1, 1) + timedelta(days=rnd.randrange(0, 3 * 365))
            kind = k % 4
            if kind == 0:
                out.append([id_number, "", "BLOOD-DONATION", "", "", day.isoformat(), f"献血证 {seed}-{k}", ""])
            elif kind == 1:
                out.append([id_number, "", "VOL-HOURS", "", str(rnd.choice([4, 8, 12.5, 20])), day.isoformat(),
                            f"志愿服务证明 {seed}-{k}", ""])
            elif kind == 2:
                out.append([id_number, "", "HONOUR", rnd.choice(["county", "city", "village"]), "", day.isoformat(),
                            f"表彰文件 {seed}-{k}", "历史表彰"])
            else:
                out.append([id_number, "", "GRID-CLEANUP", rnd.choice(["took_part", "outstanding"]), "",
                            day.isoformat(), f"网格台账 {seed}-{k}", ""])
    return out


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


async def _county_id() -> int:
    return (await fetch("SELECT id FROM county WHERE code = {}", COUNTY_CODE))[0]["id"]


async def _events_of(person_ids: list[int]) -> int:
    return (await fetch("SELECT count(*) AS n FROM credit_event WHERE subject_kind = 'person' AND subject_id = ANY({})",
                        person_ids))[0]["n"]


async def _entries_of(person_ids: list[int]) -> int:
    return (await fetch("SELECT count(*) AS n FROM ledger_entry WHERE subject_kind = 'person' AND subject_id = ANY({})",
                        person_ids))[0]["n"]


async def _import(content: bytes, *, name="history.csv", dry_run=False, mode="all_or_nothing"):
    run_id = await services.create_run(await _county_id(), name, content, channel="cli", requested_by=None,
                                       mode=mode, dry_run=dry_run)
    seen = []
    await services.run_import(run_id, progress=lambda done, total: seen.append((done, total)))
    return await services._run_out(run_id), seen


async def test_cli_import_then_the_same_file_and_reordered_change_nothing(app_client):
    people = await _people(40)
    ids = [p for p, _ in people]
    rows = _rows(people, 8, seed=1)
    assert await _events_of(ids) == 0
    dry, _ = await _import(_csv(rows), dry_run=True)
    assert (dry.status, dry.rows_read, dry.rows_invalid, dry.rows_imported) == ("done", 320, 0, 0)
    assert await _events_of(ids) == 0
    first, seen = await _import(_csv(rows))
    assert (first.status, first.rows_read, first.rows_invalid, first.rows_imported, first.rows_already) == (
        "done", 320, 0, 320, 0), first
    assert seen[-1] == (320, 320) and first.progress_done == 320
    assert await _events_of(ids) == 320
    events = await fetch("SELECT status, late, catalogue_version, recorded_by FROM credit_event "
                         "WHERE subject_kind = 'person' AND subject_id = ANY({})", ids)
    assert {e["late"] for e in events} == {False}
    assert {e["catalogue_version"] for e in events} == {"2020.1"}
    assert {e["status"] for e in events} <= {"counted", "skipped"} and "counted" in {e["status"] for e in events}
    entries = await _entries_of(ids)
    chain = (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
    # the same file, and the same rows reordered with other spacing: nothing changes
    again, _ = await _import(_csv(rows))
    shuffled = [list(r) for r in rows]
    random.Random(7).shuffle(shuffled)
    for r in shuffled:
        r[5] = f"  {r[5].replace('-', '/')} "          # another date format, stray spaces
        r[6] = f" {r[6]}  "
    moved, _ = await _import(_csv(shuffled), name="history-again.csv")
    for run in (again, moved):
        assert (run.status, run.rows_imported, run.rows_already, run.rows_invalid) == ("done", 0, 320, 0), run
        assert len(run.already_rows) == 320
    assert await _events_of(ids) == 320 and await _entries_of(ids) == entries
    assert (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"] == chain
    audit = await fetch("SELECT detail FROM security_event WHERE kind = 'history_import' ORDER BY id DESC LIMIT 1")
    assert '"already": 320' in audit[0]["detail"]


async def test_three_bad_rows_are_named_and_nothing_is_imported(app_client):
    people = await _people(10)
    ids = [p for p, _ in people]
    rows = _rows(people, 5, seed=2)
    bad_id = people[0][1][:-1] + ("0" if people[0][1][-1] != "0" else "1")
    first17 = "62070219600101999"
    stranger = first17 + compute_check_digit(first17)            # valid, but nobody of this county
    rows[3][0] = bad_id                                           # file row 5
    rows[10][2] = "NO-SUCH-ITEM"                                  # file row 12
    rows[20][0] = stranger                                        # file row 22
    run, _ = await _import(_csv(rows))
    assert run.status == "rejected" and run.rows_imported == 0 and run.rows_invalid == 3
    assert {(e.row, e.code) for e in run.errors} == {(5, "ID_NUMBER_CHECK_DIGIT"), (12, "RULES_UNKNOWN_ITEM"),
                                                     (22, "HISTORY_PERSON_UNKNOWN")}, run.errors
    assert all(e.message_zh for e in run.errors)
    assert stranger not in str(run.model_dump())                  # only masked
    assert await _events_of(ids) == 0
    # the good rows only, when asked for
    partial, _ = await _import(_csv(rows), mode="valid_rows")
    assert (partial.status, partial.rows_imported, partial.rows_invalid) == ("done", 47, 3)
    assert await _events_of(ids) == 47


async def test_missing_source_document_future_date_and_duplicate_rows(app_client):
    people = await _people(2)
    rows = _rows(people, 3, seed=3)
    rows[0][6] = ""
    rows[1][5] = "2999-01-01"
    rows.append(list(rows[2]))
    run, _ = await _import(_csv(rows))
    assert [(e.row, e.code) for e in run.errors] == [(2, "HISTORY_FIELD_MISSING"), (3, "HISTORY_DATE_FUTURE"),
                                                     (8, "HISTORY_ROW_DUPLICATE")]
    assert await _events_of([p for p, _ in people]) == 0


async def test_points_after_import_equal_recording_the_same_events_live(app_client):
    (imported_id, imported_number), (live_id, _) = await _people(2)
    rows = _rows([(imported_id, imported_number)], 24, seed=4)
    run, _ = await _import(_csv(rows))
    assert run.rows_imported == 24
    account = await Account.select(Account.id).where(Account.username == "county_admin").first()
    admin = await account_actor(account["id"])
    from backend.auth import scope
    from backend.feeds import recording

    where = await scope.locate("person", live_id)
    live_rows = list(rows)
    random.Random(9).shuffle(live_rows)   # live recording in any order gives the same active entries
    for i, r in enumerate(live_rows):
        data = EventIn(idempotency_key=f"live-history-{i:04d}", item_code=r[2], subject_kind="person",
                       subject_id=live_id, occurred_on=date.fromisoformat(r[5]), level=r[3] or None,
                       quantity=r[4] or None, note="live")
        from piccolo.engine import engine_finder

        async with engine_finder().transaction():
            await recording.lock_subjects([("person", live_id)])
            await recording.insert_event(admin, data, where, date.fromisoformat(r[5]))

    def shape(entries):
        return sorted((e.item_code, e.points, e.valid_from, e.valid_until) for e in entries)

    imported = await ledger.active_entries("person", imported_id)
    live = await ledger.active_entries("person", live_id)
    assert len(imported) == 24 and shape(imported) == shape(live)
    assert sum(e.points for e in imported) == sum(e.points for e in live) != 0


async def test_http_upload_is_a_job_with_status_and_report(app_client, tokens):
    people = await _people(5)
    ids = [p for p, _ in people]
    content = _csv(_rows(people, 4, seed=5))
    h = await tokens("county_admin")
    response = await app_client.post("/api/v1/event-imports", headers=h,
                                     files={"data": ("history.csv", content, "text/csv")})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and len(queued["file_sha256"]) == 64
    await services.run_import(queued["id"])      # what the worker's job does
    done = (await app_client.get(f"/api/v1/event-imports/{queued['id']}", headers=h)).json()
    assert (done["status"], done["rows_imported"], done["progress_done"], done["progress_total"]) == ("done", 20, 20, 20)
    assert await _events_of(ids) == 20
    stored = (await fetch("SELECT content FROM history_import WHERE id = {}", queued["id"]))[0]
    assert stored["content"] is None
    again = (await app_client.post("/api/v1/event-imports", headers=h,
                                   files={"data": ("same.csv", content, "text/csv")})).json()
    await services.run_import(again["id"])
    again = (await app_client.get(f"/api/v1/event-imports/{again['id']}", headers=h)).json()
    assert (again["rows_imported"], again["rows_already"]) == (0, 20)
    assert await _events_of(ids) == 20
    listed = (await app_client.get("/api/v1/event-imports", headers=h)).json()
    assert {queued["id"], again["id"]} <= {r["id"] for r in listed}
    template = await app_client.get("/api/v1/event-imports/template.xlsx", headers=h)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    # only county admins; a broken file is refused at once
    for who in ("township_admin", "grid_worker", "villager"):
        refused = await app_client.post("/api/v1/event-imports", headers=await tokens(who),
                                        files={"data": ("history.csv", content, "text/csv")})
        assert refused.status_code == 403, (who, refused.status_code)
        assert (await app_client.get(f"/api/v1/event-imports/{queued['id']}",
                                     headers=await tokens(who))).status_code == 403
    broken = await app_client.post("/api/v1/event-imports", headers=h,
                                   files={"data": ("history.xlsx", b"PK not a workbook", "application/octet-stream")})
    assert (broken.status_code, broken.json()["code"]) == (422, "HISTORY_FILE_FORMAT")
    assert (await app_client.get("/api/v1/event-imports/999999", headers=h)).status_code == 404


async def test_entries_are_those_live_recording_in_date_order_writes(app_client):
    """Not only the same points: the same entries, one per event, with the same Chinese
    explanations (doubling, cumulative hours) and no compensations, as live recording in date order."""
    (imported_id, imported_number), (live_id, _) = await _people(2)
    rows = _rows([(imported_id, imported_number)], 16, seed=6)
    days = random.Random(6).sample(range(0, 3 * 365), len(rows))     # distinct days: one canonical order
    for r, d in zip(rows, days):
        r[5] = (date(2023, 1, 1) + timedelta(days=d)).isoformat()
    run, _ = await _import(_csv(rows))
    assert run.rows_imported == 16
    account = await Account.select(Account.id).where(Account.username == "county_admin").first()
    admin = await account_actor(account["id"])
    from piccolo.engine import engine_finder

    from backend.auth import scope
    from backend.feeds import recording

    where = await scope.locate("person", live_id)
    for i, r in enumerate(sorted(rows, key=lambda r: r[5])):
        data = EventIn(idempotency_key=f"live-order-{i:04d}", item_code=r[2], subject_kind="person",
                       subject_id=live_id, occurred_on=date.fromisoformat(r[5]), level=r[3] or None,
                       quantity=r[4] or None, note="live")
        async with engine_finder().transaction():
            await recording.lock_subjects([("person", live_id)])
            await recording.insert_event(admin, data, where, date.fromisoformat(r[5]))

    async def entries(person_id):
        return [tuple(e.values()) for e in await fetch(
            """SELECT l.item_code, l.points, l.valid_from, l.valid_until, l.quantity, l.reason, l.explanation_zh,
                      l.reverses_entry IS NOT NULL AS reversal
               FROM ledger_entry l JOIN credit_event e ON e.id = l.event
               WHERE l.subject_kind = 'person' AND l.subject_id = {} ORDER BY e.occurred_on, l.id""", person_id)]

    def late_aside(rows):   # the "late flags aside": the engine's note that the entry came late
        return [r[:6] + (re.sub(r"（注：超过登记时限.*）$", "", r[6]),) + r[7:] for r in rows]

    imported, live = await entries(imported_id), await entries(live_id)
    assert len(imported) == 16 and late_aside(imported) == late_aside(live)
    assert late_aside(imported) != imported and late_aside(live) == live
    assert any("加倍" in e[6] for e in imported) or any(e[0] == "VOL-HOURS" for e in imported)
