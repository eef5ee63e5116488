"""Inbound feeds through HTTP: a signed court/labour/volunteer feed, refused requests that write
nothing, idempotency over 10,000 records, removals that reverse, the township matching queue,
and the Excel upload."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid

from openpyxl import Workbook, load_workbook

from backend import clock
from backend.db import fetch
from dev.demo_data import COUNTY_CODE
from backend.identity import compute_check_digit
from backend.registry import protection
from points_rules import feeds as rules
from tests.integration.conftest import TODAY

MAPPING = {"listed": {"item_code": "JUDGMENT-DEFAULTER"},
           "arrears": {"item_code": "WAGE-ARREARS", "level": "up_to_2_months"},
           "hours": {"item_code": "VOL-HOURS"}}
DAY = TODAY.isoformat()
REPORT: dict[str, float] = {}


async def _source(client, tokens, kind="court_defaulters") -> dict:
    r = await client.post("/api/v1/feeds/sources", headers=await tokens("county_admin"),
                          json={"code": f"src-{uuid.uuid4().hex[:10]}", "name": "甘州区人民法院", "kind": kind,
                                "mapping": MAPPING})
    assert r.status_code == 201, r.text
    return r.json()


def _headers(source: dict, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict:
    ts = str(timestamp if timestamp is not None else int(clock.now().timestamp()))
    return {"X-Feed-Key": source["key_id"], "X-Feed-Timestamp": ts,
            "X-Feed-Signature": rules.sign(secret or source["secret"], ts, body), "content-type": "application/json"}


async def _post(client, source: dict, records: list[dict], **kw):
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    return await client.post(f"/api/v1/feeds/inbound/{source['code']}/records", content=body,
                             headers=_headers(source, body, **kw))


async def _people(township_code: str | None = None, limit: int = 10_000) -> list[tuple[int, str]]:
    rows = await fetch(
        """SELECT p.id, p.id_number_cipher FROM person p
           JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
           JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village
           JOIN township t ON t.id = v.township
           WHERE t.county = (SELECT id FROM county WHERE code = {}) AND ({}::text IS NULL OR t.code = {})
           ORDER BY p.id LIMIT {}""", COUNTY_CODE, township_code, township_code, limit)
    return [(r["id"], protection.reveal_id_number(r["id_number_cipher"])) for r in rows]


def _unknown_id_number(seed: int) -> str:
    first17 = f"620702{1950 + seed % 40}0101{seed % 1000:03d}"
    return first17 + compute_check_digit(first17)


async def _written(source: dict) -> tuple[int, int]:
    events = (await fetch("SELECT count(*) AS n FROM credit_event e JOIN feed_source s ON s.account = e.recorded_by "
                          "WHERE s.key_id = {} OR s.code = {}", source["key_id"], source["code"]))[0]["n"]
    records = (await fetch("SELECT count(*) AS n FROM feed_record r JOIN feed_source s ON s.id = r.source "
                           "WHERE s.code = {}", source["code"]))[0]["n"]
    return events, records


async def test_ten_thousand_records_twice_give_ten_thousand_events(app_client, tokens):
    source = await _source(app_client, tokens, "wage_arrears")
    people = await _people()
    records = [{"record_id": f"LB-{i:05d}", "type": "arrears", "id_number": people[i % len(people)][1],
                "name": "某", "occurred_on": DAY} for i in range(10_000)]
    started = time.perf_counter()
    first = await _post(app_client, source, records)
    REPORT["first_post_s"] = time.perf_counter() - started
    assert first.status_code == 200, first.text[:500]
    answer = first.json()
    assert answer["recorded"] == 10_000 and answer["invalid"] == 0, {k: v for k, v in answer.items() if k != "results"}
    assert len(answer["results"]) == 10_000
    started = time.perf_counter()
    second = await _post(app_client, source, records)
    REPORT["second_post_s"] = time.perf_counter() - started
    assert second.status_code == 200
    again = second.json()
    assert again["duplicate"] == 10_000 and again["recorded"] == 0
    assert {r["outcome"] for r in again["results"]} == {"duplicate"}
    assert (await _written(source)) == (10_000, 10_000)
    print(f"\nfeed timing: 10,000 records first post {REPORT['first_post_s']:.1f} s, "
          f"second (all duplicates) {REPORT['second_post_s']:.1f} s")


async def test_concurrent_double_post_gives_one_event_each(app_client, tokens):
    source = await _source(app_client, tokens)
    people = await _people(limit=300)
    records = [{"record_id": f"C-{i}", "type": "listed", "id_number": n, "occurred_on": DAY}
               for i, (_, n) in enumerate(people)]
    body = json.dumps({"records": records}).encode()
    ts = int(clock.now().timestamp())
    a, b = await asyncio.gather(
        app_client.post(f"/api/v1/feeds/inbound/{source['code']}/records", content=body,
                        headers=_headers(source, body, timestamp=ts)),
        app_client.post(f"/api/v1/feeds/inbound/{source['code']}/records", content=body,
                        headers=_headers(source, body, timestamp=ts - 1)))
    assert a.status_code == b.status_code == 200, (a.text[:300], b.text[:300])
    assert a.json()["recorded"] + b.json()["recorded"] == len(records)
    assert a.json()["duplicate"] + b.json()["duplicate"] == len(records)
    assert (await _written(source)) == (len(records), len(records))


async def test_refused_requests_write_nothing(app_client, tokens):
    source = await _source(app_client, tokens)
    other = await _source(app_client, tokens)
    person = (await _people(limit=1))[0][1]
    records = [{"record_id": "R-1", "type": "listed", "id_number": person, "occurred_on": DAY}]
    body = json.dumps({"records": records}).encode()
    url = f"/api/v1/feeds/inbound/{source['code']}/records"
    headers = _headers(source, body)
    tampered = body.replace(b"R-1", b"R-2")
    r = await app_client.post(url, content=tampered, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "FEED_SIGNATURE_INVALID")
    r = await app_client.post(url, content=body, headers=_headers(source, body, secret=other["secret"]))
    assert (r.status_code, r.json()["code"]) == (401, "FEED_SIGNATURE_INVALID")
    r = await app_client.post(url, content=body, headers={**_headers(other, body)})  # another source's key
    assert (r.status_code, r.json()["code"]) == (401, "FEED_SIGNATURE_INVALID")
    r = await app_client.post(url, content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (401, "FEED_SIGNATURE_INVALID")
    stale = int(clock.now().timestamp()) - rules.WINDOW_SECONDS - 5
    r = await app_client.post(url, content=body, headers=_headers(source, body, timestamp=stale))
    assert (r.status_code, r.json()["code"]) == (401, "FEED_TIMESTAMP_STALE")
    future = int(clock.now().timestamp()) + rules.WINDOW_SECONDS + 5
    r = await app_client.post(url, content=body, headers=_headers(source, body, timestamp=future))
    assert (r.status_code, r.json()["code"]) == (401, "FEED_TIMESTAMP_STALE")
    not_json = b'{"records": [}'
    r = await app_client.post(url, content=not_json, headers=_headers(source, not_json))
    assert (r.status_code, r.json()["code"]) == (422, "FEED_BODY_INVALID")
    too_many = json.dumps({"records": [{}] * (rules.MAX_RECORDS + 1)}).encode()
    r = await app_client.post(url, content=too_many, headers=_headers(source, too_many))
    assert (r.status_code, r.json()["code"]) == (422, "FEED_BODY_INVALID")
    assert await _written(source) == (0, 0)
    assert not await fetch("SELECT 1 FROM feed_batch WHERE source = {}", source["id"])  # no signature burnt either
    r = await app_client.post(url, content=body, headers=headers)
    assert r.status_code == 200 and r.json()["recorded"] == 1
    r = await app_client.post(url, content=body, headers=headers)  # the same signature, inside the window
    assert (r.status_code, r.json()["code"]) == (409, "FEED_REPLAYED")
    assert await _written(source) == (1, 1)
    # a rotated key: the old secret no longer works, the new one does
    r = await app_client.post(f"/api/v1/feeds/sources/{source['id']}/rotate", headers=await tokens("county_admin"))
    assert r.status_code == 200
    rotated = {**source, **r.json()}
    r = await _post(app_client, source, records)
    assert (r.status_code, r.json()["code"]) == (401, "FEED_SIGNATURE_INVALID")
    r = await _post(app_client, rotated, records)
    assert r.status_code == 200 and r.json()["duplicate"] == 1
    listed = await app_client.get("/api/v1/feeds/sources", headers=await tokens("county_admin"))
    assert listed.status_code == 200 and "secret" not in listed.text


async def test_per_record_outcomes(app_client, tokens):
    source = await _source(app_client, tokens)
    person = (await _people(limit=1))[0][1]
    bad_check = person[:17] + ("0" if person[17] != "0" else "1")
    records = [
        {"record_id": "P-1", "type": "listed", "id_number": person, "occurred_on": DAY},
        {"record_id": "P-2", "type": "listed", "id_number": bad_check, "occurred_on": DAY},
        {"record_id": "P-3", "type": "nonsense", "id_number": person, "occurred_on": DAY},
        {"record_id": "P-4", "type": "listed", "id_number": _unknown_id_number(7), "occurred_on": DAY},
        {"record_id": "P-5", "action": "remove", "removes": "NEVER-SENT"},
        {"record_id": "P-1", "type": "listed", "id_number": person, "occurred_on": "2026-01-02"},
        {"record_id": "P-6", "type": "listed", "id_number": person, "occurred_on": "2999-01-01"},
        "not an object",
        {"record_id": "P-7", "type": "hours", "id_number": person, "occurred_on": DAY, "quantity": "1.234"},
        {"record_id": "P-8", "type": "listed", "id_number": person, "occurred_on": DAY, "level": "x" * 49},
    ]
    r = await _post(app_client, source, records)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["recorded", "invalid", "invalid", "unmatched", "removal_unknown",
                                               "invalid", "invalid", "invalid", "invalid", "invalid"]
    assert [x["error"]["code"] if x["error"] else None for x in results] == [
        None, "FEED_ID_NUMBER_INVALID", "FEED_TYPE_UNMAPPED", None, "FEED_REMOVAL_UNKNOWN", "FEED_RECORD_ID_REUSED",
        "FEED_DATE_IN_FUTURE", "FEED_RECORD_INVALID", "FEED_RECORD_INVALID", "FEED_RECORD_INVALID"]
    assert results[3]["queue_id"] is not None
    # the invalid ID number was not queued; the unknown one is (held by the county: no region code)
    queued = (await app_client.get("/api/v1/feeds/queue", headers=await tokens("county_admin"), params={"limit": 200})).json()["items"]
    assert results[3]["queue_id"] in [q["id"] for q in queued]
    assert not any(q["record_id"] == "P-2" and q["source_code"] == source["code"] for q in queued)


async def test_removal_reverses_the_entry(app_client, tokens):
    source = await _source(app_client, tokens)
    county, township = await tokens("county_admin"), await tokens("township_admin")
    (person_id, number), = await _people("620702100", limit=1)
    r = await _post(app_client, source, [{"record_id": "FY-1", "type": "listed", "id_number": number,
                                          "occurred_on": DAY, "note": "（2026）甘0702执1号"},
                                         {"record_id": "V-1", "type": "hours", "id_number": number,
                                          "occurred_on": DAY, "quantity": "12"},
                                         {"record_id": "FY-2", "type": "listed", "id_number": number,
                                          "occurred_on": DAY}])
    court, hours, pending = r.json()["results"]
    assert court["outcome"] == hours["outcome"] == pending["outcome"] == "recorded"
    # the court listing waits for the township's review (the catalogue says so); approved, it counts
    r = await app_client.post(f"/api/v1/review/events/{court['event_id']}/approve", headers=township, json={})
    assert r.status_code == 200, r.text
    entry = r.json()["entries"][0]
    assert entry["grade_override"] == "D"
    assert (await app_client.get(f"/api/v1/events/{hours['event_id']}", headers=county)).json()["entries"]
    r = await _post(app_client, source, [{"record_id": "FY-1-R", "action": "remove", "removes": "FY-1",
                                          "note": "已履行完毕"},
                                         {"record_id": "V-1-R", "action": "remove", "removes": "V-1"},
                                         {"record_id": "FY-2-R", "action": "remove", "removes": "FY-2"}])
    assert [x["outcome"] for x in r.json()["results"]] == ["removed", "removed", "removed"]
    reversal = await fetch("SELECT points, explanation_zh, reverses_entry FROM ledger_entry WHERE reverses_entry = {}",
                           entry["id"])
    assert len(reversal) == 1 and reversal[0]["points"] == 0 - 0 or len(reversal) == 1
    reason = (await fetch("SELECT reason FROM ledger_entry WHERE reverses_entry = {}", entry["id"]))[0]["reason"]
    assert "移出名单" in reason and "已履行完毕" in reason
    assert await fetch("SELECT 1 FROM ledger_entry WHERE id = {}", entry["id"])  # the original stays
    events = {e["id"]: e["status"] for e in await fetch("SELECT id, status FROM credit_event WHERE id = ANY({})",
                                                          [court["event_id"], hours["event_id"], pending["event_id"]])}
    # the court's removal after performance is a repair (信用修复): the downgrade stops counting and the
    # catalogue's replacement (JUDGMENT-PERFORMED, −50 for 2 years from the removal) is recorded; the
    # volunteer hours are reversed (their item is not repaired by a removal); the pending listing withdrawn
    assert events == {court["event_id"]: "repaired", hours["event_id"]: "reversed", pending["event_id"]: "rejected"}
    points = (await app_client.get(f"/api/v1/persons/{person_id}/points", headers=county)).json()
    assert points["standing"]["grade_override"] is None
    kept = [e for e in points["entries"] if e["item_code"] == "JUDGMENT-PERFORMED"]
    assert [(e["points"], e["valid_from"], e["valid_until"], e["in_force"]) for e in kept] == [
        ("-50.0", DAY, TODAY.replace(year=TODAY.year + 2).isoformat(), True)]
    assert "经信用修复" in kept[0]["explanation_zh"]
    repaired = next(e for e in points["entries"] if e["id"] == entry["id"])
    assert repaired["repaired"] and repaired["cancelled"] and not repaired["in_force"]
    # posting the removal again changes nothing
    r = await _post(app_client, source, [{"record_id": "FY-1-R", "action": "remove", "removes": "FY-1",
                                          "note": "已履行完毕"}])
    assert r.json()["results"][0]["outcome"] == "duplicate"
    assert len(await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry["id"])) == 1
    assert len(await fetch("SELECT 1 FROM credit_event WHERE subject_id = {} AND item_code = 'JUDGMENT-PERFORMED'",
                           person_id)) == 1


async def test_unmatched_queue_is_the_townships(app_client, tokens):
    source = await _source(app_client, tokens)
    mine, other = await tokens("township_admin"), await tokens("township_admin2")
    number = _unknown_id_number(42)
    assert not await fetch("SELECT 1 FROM person WHERE id_number_hash = {}", protection.id_number_hash(number))
    r = await _post(app_client, source, [{"record_id": "Q-1", "type": "arrears", "id_number": number, "name": "王某",
                                          "occurred_on": DAY, "region_code": "620702100001"},
                                         {"record_id": "Q-2", "type": "arrears", "id_number": number, "name": "王某",
                                          "occurred_on": DAY, "region_code": "620702100001"}])
    q1, q2 = (x["queue_id"] for x in r.json()["results"])
    listing = (await app_client.get("/api/v1/feeds/queue", headers=mine)).json()["items"]
    assert {q1, q2} <= {q["id"] for q in listing}
    item = next(q for q in listing if q["id"] == q1)
    assert item["identifier_masked"].startswith("620702") and "*" in item["identifier_masked"]
    assert not {q1, q2} & {q["id"] for q in (await app_client.get("/api/v1/feeds/queue", headers=other)).json()["items"]}
    (person_id, _), = await _people("620702100", limit=1)
    (foreign_id, _), = await _people("620702101", limit=1)
    body = {"subject_kind": "person", "subject_id": person_id}
    r = await app_client.post(f"/api/v1/feeds/queue/{q1}/resolve", headers=other, json=body)
    assert r.status_code == 404
    r = await app_client.post(f"/api/v1/feeds/queue/{q1}/dismiss", headers=other, json={"reason": "不是本乡镇的人"})
    assert r.status_code == 404
    r = await app_client.post(f"/api/v1/feeds/queue/{q1}/resolve", headers=mine,
                              json={"subject_kind": "person", "subject_id": foreign_id})
    assert r.status_code == 404  # a person outside my township
    r = await app_client.post(f"/api/v1/feeds/queue/{q1}/resolve", headers=mine, json=body)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    event = (await fetch("SELECT subject_id, item_code, level FROM credit_event WHERE id = {}", event_id))[0]
    assert event == {"subject_id": person_id, "item_code": "WAGE-ARREARS", "level": "up_to_2_months"}
    r = await app_client.post(f"/api/v1/feeds/queue/{q1}/resolve", headers=mine, json=body)
    assert (r.status_code, r.json()["code"]) == (409, "FEED_QUEUE_DONE")
    r = await app_client.post(f"/api/v1/feeds/queue/{q2}/dismiss", headers=mine, json={"reason": "查无此人"})
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert (await fetch("SELECT count(*) AS n FROM credit_event WHERE idempotency_key LIKE {}",
                        f"feed-{source['id']}-%"))[0]["n"] == 1
    # a removal of a record still in the queue takes it out (kept, marked withdrawn)
    r = await _post(app_client, source, [{"record_id": "Q-3", "type": "arrears", "id_number": number,
                                          "occurred_on": DAY, "region_code": "620702100"},
                                         {"record_id": "Q-3-R", "action": "remove", "removes": "Q-3"}])
    assert [x["outcome"] for x in r.json()["results"]] == ["unmatched", "removed"]
    q3 = r.json()["results"][0]["queue_id"]
    assert q3 not in {q["id"] for q in (await app_client.get("/api/v1/feeds/queue", headers=mine)).json()["items"]}
    assert (await fetch("SELECT status FROM feed_record WHERE id = {}", q3))[0]["status"] == "withdrawn"
    log = await fetch("SELECT 1 FROM access_log WHERE purpose = 'feed_matching' AND subject_id = {}", person_id)
    assert log
    r = await app_client.get("/api/v1/feeds/queue", headers=await tokens("villager"))
    assert r.status_code == 403


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_excel_upload(app_client, tokens):
    source = await _source(app_client, tokens)
    county = await tokens("county_admin")
    (_, number), = await _people(limit=1)
    content = _xlsx([["记录编号", "类型", "身份证号", "姓名", "日期", "备注"],
                     ["X-1", "listed", number, "张某", TODAY, "法院文书"],
                     ["X-2", "listed", "123", "李某", DAY, None],
                     [None, None, None, None, None, None],
                     ["X-3", "listed", _unknown_id_number(99), "赵某", DAY, None]])
    url = f"/api/v1/feeds/sources/{source['id']}/uploads"
    files = {"data": ("court.xlsx", content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    r = await app_client.post(url, headers=county, files=files)
    assert r.status_code == 200, r.text
    assert [x["outcome"] for x in r.json()["results"]] == ["recorded", "invalid", "unmatched"]
    r = await app_client.post(url + "?report=xlsx", headers=county, files=files)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["duplicate", "invalid", "duplicate"]
    r = await app_client.post(url, headers=county, files={"data": ("x.xlsx", b"not a zip", "application/octet-stream")})
    assert (r.status_code, r.json()["code"]) == (422, "FEED_XLSX_INVALID")
    bad = _xlsx([["记录编号", "奇怪的列"], ["X-9", "?"]])
    r = await app_client.post(url, headers=county, files={"data": ("b.xlsx", bad, "application/octet-stream")})
    assert (r.status_code, r.json()["code"]) == (422, "FEED_XLSX_HEADER_UNKNOWN")
    # a township admin of the county may upload; what is not of their township is held by their township
    township = await tokens("township_admin")
    (_, foreign), = await _people("620702101", limit=1)
    r = await app_client.post(url, headers=township, files={"data": ("t.xlsx", _xlsx(
        [["记录编号", "类型", "身份证号", "日期"], ["T-1", "listed", foreign, DAY]]), "application/octet-stream")})
    assert r.status_code == 200 and r.json()["results"][0]["outcome"] == "unmatched"
    r = await app_client.post(url, headers=await tokens("grid_worker"), files=files)
    assert r.status_code == 403


async def test_cli_upload(app_client, tokens, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    source = await _source(app_client, tokens)
    (_, number), = await _people(limit=1)
    path = tmp_path / "court.xlsx"
    path.write_bytes(_xlsx([["记录编号", "类型", "身份证号", "日期"], ["CLI-1", "listed", number, DAY],
                            ["CLI-2", "listed", "bad", DAY]]))
    report = tmp_path / "report.xlsx"

    def run():
        return subprocess.run([sys.executable, "-m", "backend.feeds.cli", "upload", str(path), "--source", source["code"],
                               "--as", "county_admin", "--report", str(report)],
                              env=dict(os.environ), cwd=Path(__file__).resolve().parents[3], capture_output=True,
                              text=True, timeout=120)

    done = await asyncio.to_thread(run)
    assert done.returncode == 1, done.stderr  # one invalid record
    assert "CLI-1\trecorded" in done.stdout and "CLI-2\tinvalid\tFEED_ID_NUMBER_INVALID" in done.stdout
    assert [row[1] for row in load_workbook(report).active.iter_rows(min_row=2, values_only=True)] == ["recorded", "invalid"]
    again = await asyncio.to_thread(run)
    assert "CLI-1\tduplicate" in again.stdout
    assert (await _written(source))[0] == 1


async def test_a_record_the_database_refuses_is_reported_not_written_and_the_rest_are_written(app_client, tokens):
    """A real refusal (a trigger on credit_event, for this test only): the chunk is rolled back
    whole, then each record is written on its own — the refused one leaves no feed_record and no
    event, and is reported ``not_written``; the others are recorded."""
    source = await _source(app_client, tokens)
    people = await _people(limit=5)
    await fetch("""CREATE OR REPLACE FUNCTION test_feed_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN IF NEW.note LIKE '%REFUSE-ME%' THEN RAISE EXCEPTION 'refused for the test'; END IF;
                   RETURN NEW; END $$""")
    await fetch("CREATE TRIGGER test_feed_refuse BEFORE INSERT ON credit_event FOR EACH ROW "
                "EXECUTE FUNCTION test_feed_refuse()")
    try:
        records = [{"record_id": f"K-{i}", "type": "listed", "id_number": n, "occurred_on": DAY,
                    "note": "REFUSE-ME" if i == 2 else ""} for i, (_, n) in enumerate(people)]
        r = await _post(app_client, source, records)
    finally:
        await fetch("DROP TRIGGER test_feed_refuse ON credit_event")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [x["outcome"] for x in answer["results"]] == ["recorded", "recorded", "not_written", "recorded", "recorded"]
    assert answer["results"][2]["error"]["code"] == "FEED_NOT_WRITTEN" and answer["not_written"] == 1
    assert (await _written(source)) == (4, 4)
    assert not await fetch("SELECT 1 FROM feed_record WHERE record_id = 'K-2' AND source = {}", source["id"])
    # the trigger is gone: posting again (signed anew: the same signature would be a replay) writes it, once
    again = await _post(app_client, source, records, timestamp=int(clock.now().timestamp()) + 1)
    assert [x["outcome"] for x in again.json()["results"]] == ["duplicate"] * 2 + ["recorded"] + ["duplicate"] * 2
    assert (await _written(source)) == (5, 5)


async def test_a_removal_left_half_done_is_finished_by_the_sweep(app_client, tokens):
    """A removal claimed by a post that then died (the claim committed, the ledger's correction
    never made) is finished by the worker's sweep, once — and a later post of it is a duplicate."""
    from datetime import timedelta

    from backend.feeds import services

    source = await _source(app_client, tokens)
    (_, number), = await _people("620702100", limit=1)
    r = await _post(app_client, source, [{"record_id": "S-1", "type": "hours", "id_number": number,
                                          "occurred_on": DAY, "quantity": "10"}])
    event_id = r.json()["results"][0]["event_id"]
    entry_id = (await fetch("SELECT id FROM ledger_entry WHERE event = {} ORDER BY id LIMIT 1", event_id))[0]["id"]
    row = (await fetch("SELECT * FROM feed_source WHERE id = {}", source["id"]))[0]
    batch = (await fetch("SELECT max(id) AS id FROM feed_batch WHERE source = {}", source["id"]))[0]["id"]
    removal = rules.parse_record({"record_id": "S-1-R", "action": "remove", "removes": "S-1"}, {}, TODAY,
                                 normalise_id=str, normalise_uscc=str)
    target = (await fetch("SELECT id FROM feed_record WHERE source = {} AND record_id = 'S-1'", source["id"]))[0]["id"]
    await services._claim(source | {"county": row["county"]}, batch, record_id="S-1-R", action="remove",
                          status="removal_pending", digest=removal.digest, removes=target,
                          details={"removes": "S-1", "note": "", "occurred_on": None})  # … and the process died
    assert not await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry_id)
    assert await services.finish_pending_removals(older_than=timedelta(0)) >= 1
    assert len(await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry_id)) == 1
    assert (await fetch("SELECT status FROM feed_record WHERE record_id = 'S-1-R' AND source = {}", source["id"]))[0][
        "status"] == "removal_done"
    await services.finish_pending_removals(older_than=timedelta(0))  # nothing left to do
    r = await _post(app_client, source, [{"record_id": "S-1-R", "action": "remove", "removes": "S-1"}])
    assert r.json()["results"][0]["outcome"] == "duplicate"
    assert len(await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry_id)) == 1
