"""The semi-annual report on a small county of its own: a known handful of events, reviews,
objections, repairs, ratings, bank pulls and eligibility lists in 2026H1 and some just outside it
(the day before, the day after, minutes either side of midnight in Asia/Shanghai). Every figure is
the hand count; two builds give the identical figures text and SHA-256; the workbook has one sheet
per section with the office's title row; the print page loads nothing from outside; the roles and
the other county are refused; progress is visible while the run builds; with Redis down the
request still answers 202 and the requeue sweep picks the run up."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from backend import clock, jobs
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.reports import figures as sections
from backend.reports import services
from dev.seed import DEMO_PASSWORD
from points_rules.reports import canonical_json, figures_sha256
from tests.integration.admin_ui import admin_login
from tests.integration.counties import own_county
from tests.integration.test_pages_offline import scan_html

SH = ZoneInfo("Asia/Shanghai")
BASE = "/api/v1/reports/semi-annual"


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=SH)


@pytest.fixture(scope="module")
async def county(app_client, tokens):
    own = await own_county("RP", "报表", 4, birth_seed=72)
    c, t1, g1 = own.county, own.township, own.grid
    tag = own.code[2:]
    t2 = (await fetch("INSERT INTO township (code, name, county) VALUES ({}, '报表二镇', {}) RETURNING id",
                      f"{own.code}u", c))[0]["id"]
    v2 = (await fetch("INSERT INTO village (county_id, code, name, township) VALUES ({}, {}, '报表二村', {}) RETURNING id",
                      c, f"{own.code}w", t2))[0]["id"]
    g2 = (await fetch("INSERT INTO grid (county_id, code, name, village) VALUES ({}, {}, '报表二网格', {}) RETURNING id",
                      c, f"{own.code}k", v2))[0]["id"]
    h5 = (await fetch("INSERT INTO household (county_id, code, village, grid, address) VALUES ({}, {}, {}, {}, '二村1号') "
                      "RETURNING id", c, f"{own.code}h9", v2, g2))[0]["id"]
    ids = {}
    for name, role, extra in (("admin", Role.COUNTY_ADMIN, {"county_code": own.code}),
                              ("auditor", Role.AUDITOR, {"county_code": own.code}),
                              ("town", Role.TOWNSHIP_ADMIN, {"township_code": f"{own.code}t"})):
        ids[name] = await accounts.create_account(f"rp{tag}_{name}", DEMO_PASSWORD, role, display_name=f"报表{name}",
                                                  **extra)
    hh = [h for _, h in own.people]
    admin = ids["admin"]

    # --- events: (township, grid, household, item, version, recorded_on, late, status, created_at, reviewed_at)
    events = [
        (t1, g1, hh[0], "VOL-HOURS", "2026.1", "2026-02-10", False, "counted", at("2026-02-10"), None),
        (t1, g1, hh[0], "ENV-DUMPING", "2026.1", "2026-03-05", True, "counted", at("2026-03-05"), None),
        (t1, g1, hh[1], "GRID-CLEANUP", "2026.1", "2026-04-01", False, "counted", at("2026-04-01"), at("2026-04-02", "12:00")),
        (t2, g2, h5, "WAGE-ARREARS", "2026.1", "2026-05-20", True, "rejected", at("2026-05-20", "09:00"), at("2026-05-20", "11:00")),
        (t2, g2, h5, "HONOUR", "2026.1", "2026-06-30", False, "reversed", at("2026-06-30", "08:00"), at("2026-06-30", "23:30")),
        (t1, g1, hh[2], "VOL-HOURS", "2020.1", "2025-12-31", False, "counted", at("2025-12-31"), at("2026-01-02")),
        (t1, g1, hh[2], "ENV-DUMPING", "2026.2", "2026-07-01", True, "counted", at("2026-06-30", "23:00"), at("2026-07-01", "00:30")),
        (t1, g1, hh[3], "VOL-HOURS", "2026.1", "2026-06-15", False, "counted", at("2026-06-15"), at("2026-07-03")),
    ]
    for i, (tw, grid, house, item, version, recorded, late, status, created, reviewed) in enumerate(events):
        await fetch(
            """INSERT INTO credit_event (idempotency_key, recorded_by, payload_hash, item_code, subject_kind, subject_id,
                   household_id, township_id, grid_id, occurred_on, recorded_on, catalogue_version, status, late,
                   reviewed_by, reviewed_at, created_at, county_id)
               VALUES ({}, {}, {}, {}, 'household', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})""",
            f"rp-{tag}-{i}", admin, "0" * 64, item, house, house, tw, grid, date.fromisoformat(recorded),
            date.fromisoformat(recorded), version, status, late, admin if reviewed else None, reviewed, created, c)

    # --- entry objections: (township, filed_on, respond_by, decided_on, status)
    entry_objections = [
        (t1, "2026-01-10", "2026-01-21", "2026-01-15", "upheld"),
        (t1, "2026-03-01", "2026-03-10", "2026-03-20", "refused"),
        (t2, "2025-12-25", "2026-01-06", "2026-01-05", "refused"),
        (t2, "2026-06-10", "2026-06-19", None, "open"),
        (t1, "2026-06-20", "2026-07-01", "2026-07-02", "upheld"),
        (t1, "2026-08-01", "2026-08-12", None, "open"),
    ]
    for i, (tw, filed, respond, decided, status) in enumerate(entry_objections):
        f, r = date.fromisoformat(filed), date.fromisoformat(respond)
        d = date.fromisoformat(decided) if decided else None
        await fetch(
            """INSERT INTO entry_objection (county_id, township_id, subject_kind, subject_id, household_id, entry_id,
                   filed_by, filed_by_role, reason, status, filed_at, filed_on, mark_by, disputed_marked_on,
                   respond_by, warn_on, decided_by, decided_at, decided_on, decision_reason)
               VALUES ({}, {}, 'household', {}, {}, {}, {}, 'county_admin', '记录有误', {}, {}, {}, {}, {}, {}, {}, {}, {},
                       {}, {})""",
            c, tw, hh[0], hh[0], 900_000_000 + c * 10 + i, admin, status, at(filed), f, f + timedelta(days=1), f, r,
            r - timedelta(days=2), admin if d else None, at(decided) if d else None, d, "已核实" if d else "")

    # --- repairs: (route, filed_on, status, decided_on)
    repairs = [
        ("commitment", "2026-02-01", "approved", "2026-02-20"),
        ("commitment", "2026-03-01", "refused", "2026-03-15"),
        ("training", "2026-05-01", "withdrawn", "2026-05-05"),
        ("training", "2026-06-20", "open", None),
        ("rectification", "2025-12-01", "approved", "2026-01-10"),
        ("rectification", "2026-06-25", "approved", "2026-07-03"),
        ("public_interest", "2026-07-10", "open", None),
    ]
    for i, (route, filed, status, decided) in enumerate(repairs):
        f = date.fromisoformat(filed)
        d = date.fromisoformat(decided) if decided else None
        await fetch(
            """INSERT INTO repair_application (county_id, township_id, subject_kind, subject_id, household_id, entry_id,
                   event_id, item_code, severity, display_ends_on, route, corrected_on, statement, filed_by,
                   filed_by_role, status, filed_at, filed_on, complete_on, decide_by, warn_on, decided_by, decided_at,
                   decided_on, decision_reason)
               VALUES ({}, {}, 'household', {}, {}, {}, {}, 'ENV-DUMPING', 'general', {}, {}, {}, '已整改完毕', {},
                       'county_admin', {}, {}, {}, {}, {}, {}, {}, {}, {}, {})""",
            c, t1, hh[0], hh[0], 910_000_000 + c * 10 + i, 910_000_000 + c * 10 + i, f, route, f, admin, status, at(filed),
            f, f, f + timedelta(days=10), f + timedelta(days=8), admin if d else None, at(decided) if d else None, d,
            "已审核" if d else "")

    # --- ratings: periods 2024 and 2025; (period, level, subject, grade, is_credit, status, effective_on)
    p0 = (await fetch("""INSERT INTO rating_period (county, code, name_zh, starts_on, ends_on, status)
                         VALUES ({}, '2024', '2024年度', '2024-01-01', '2024-12-31', 'closed') RETURNING id""", c))[0]["id"]
    p1 = (await fetch("""INSERT INTO rating_period (county, code, name_zh, starts_on, ends_on, status)
                         VALUES ({}, '2025', '2025年度', '2025-01-01', '2025-12-31', 'closed') RETURNING id""", c))[0]["id"]
    proposals = [
        (p1, "household", hh[0], "AAA", True, "effective", "2026-02-10"),
        (p0, "household", hh[1], "AA", True, "effective", "2025-02-01"),
        (p1, "household", hh[1], "A", True, "effective", "2026-02-10"),
        (p1, "household", hh[2], "none", False, "effective", "2026-03-01"),
        (p0, "household", hh[3], "A", True, "effective", "2025-03-01"),
        (p1, "household", hh[3], "AAA", True, "effective", "2026-07-05"),
        (p1, "household", h5, "AA", True, "publicised", None),
        (p1, "village", own.village, "credit", True, "effective", "2026-03-01"),
    ]
    proposal_ids = []
    for period, level, subject, grade, credit, status, effective in proposals:
        proposal_ids.append((await fetch(
            """INSERT INTO rating_proposal (period, level, subject_id, township_id, village_id, computed_grade, grade,
                   is_credit, status, catalogue_version, effective_on, county_id)
               VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, '2026.1', {}, {}) RETURNING id""",
            period, level, subject, t2 if subject == h5 else t1, own.village, grade, grade, credit, status,
            date.fromisoformat(effective) if effective else None, c))[0]["id"])
    for proposal, raised, respond, resolved, status in (
            (proposal_ids[3], "2026-02-20", "2026-03-02", "2026-02-25", "dismissed"),
            (proposal_ids[6], "2026-06-25", "2026-07-06", None, "open"),
            (proposal_ids[6], "2025-11-01", "2025-11-12", "2025-11-05", "dismissed")):
        await fetch(
            """INSERT INTO rating_objection (proposal, raised_by, reason, status, raised_at, raised_on, respond_by,
                   resolved_at, resolved_on, county_id) VALUES ({}, {}, '评级有误', {}, {}, {}, {}, {}, {}, {})""",
            proposal, admin, status, at(raised), date.fromisoformat(raised), date.fromisoformat(respond),
            at(resolved) if resolved else None, date.fromisoformat(resolved) if resolved else None, c)

    # --- bank pulls: two banks, one through its consent recipient
    banks = {}
    for key, name in (("a", "报表农商银行"), ("b", "报表村镇银行")):
        banks[key] = (await fetch("""INSERT INTO bank_client (name, client_id, secret_hash, county)
                                     VALUES ({}, {}, 'x', {}) RETURNING id""", name, f"rp-{tag}-{key}", c))[0]["id"]
    recipient = (await fetch("""INSERT INTO consent_recipient (county, kind, code, name_zh, bank_client)
                                VALUES ({}, 'bank', {}, '报表农商银行', {}) RETURNING id""", c, f"rp-{tag}-a", banks["a"]))[0]["id"]
    pulls = [("a", "refused", at("2026-01-15")), ("a", "refused", at("2026-01-15", "11:00")),
             ("a", "check_failed", at("2026-03-01")), ("a", "refused", at("2026-06-30", "23:59")),
             ("a", "refused", at("2026-07-01", "00:01")), ("a", "check_failed", at("2025-12-31", "23:59")),
             ("b", "refused", at("2026-04-01"))]
    for i, (bank, outcome, when) in enumerate(pulls):
        await fetch(
            """INSERT INTO bank_rating_pull (county_id, bank_client, recipient_id, product_code, purpose, idempotency_key,
                   request_fingerprint, outcome, code, status_code, created_at)
               VALUES ({}, {}, {}, 'LOAN', 'credit_loan', {}, {}, {}, 'X', 403, {})""",
            c, banks[bank], recipient if bank == "a" else None, f"k{i}", "f" * 64, outcome, when)

    # --- measures and their lists: (measure key, status, finished_at, households)
    measure_ids = {}
    for key, code, kind in (("sub", "RP-SUB", "incentive"), ("lim", "RP-LIM", "restriction")):
        measure_ids[key] = (await fetch(
            """INSERT INTO measure (county, code, version, kind, category, name_zh, legal_basis, conditions, valid_from,
                   office_zh) VALUES ({}, {}, 1, {}, 'subsidy', {}, '条例第38条', '[{{"kind": "grade"}}]', '2026-01-01',
                   '农业农村局') RETURNING id""", c, code, kind, f"{code}措施"))[0]["id"]
    lists = [("sub", "done", at("2026-03-10"), [hh[0], hh[1]]), ("sub", "done", at("2026-06-01"), [hh[0], hh[3]]),
             ("sub", "done", at("2026-07-02"), [hh[2]]), ("sub", "failed", at("2026-05-01"), []),
             ("lim", "done", at("2026-02-01"), [])]
    for key, status, finished, households in lists:
        list_id = (await fetch(
            """INSERT INTO eligibility_list (county, measure, as_of, status, requested_by, finished_at, households)
               VALUES ({}, {}, {}, 'running', {}, NULL, {}) RETURNING id""",
            c, measure_ids[key], finished.date(), admin, len(households)))[0]["id"]
        for seq, house in enumerate(households, 1):
            await fetch(
                """INSERT INTO eligibility_list_entry (list, seq, household_id, household_code, township_id,
                       township_name, village_id, village_name, grid_id, county_id)
                   VALUES ({}, {}, {}, 'h', {}, '报表镇', {}, '报表村', {}, {})""",
                list_id, seq, house, t1, own.village, g1, c)
        await fetch("UPDATE eligibility_list SET status = {}, finished_at = {}, error_code = {} WHERE id = {}", status,
                    finished, "LIST_FAILED" if status == "failed" else "", list_id)

    return {"own": own, "t2": t2, "admin": await tokens(f"rp{tag}_admin"), "auditor": await tokens(f"rp{tag}_auditor"),
            "town": await tokens(f"rp{tag}_town"), "admin_id": admin, "code": own.code}


async def _build(client, headers) -> dict:
    r = await client.post(BASE, headers=headers, json={"period": "2026H1"})
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] in ("queued", "done") and run["progress_total"] == 8
    assert await services.run_report(run["id"]) == "done"
    r = await client.get(f"{BASE}/{run['id']}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_figure_is_the_hand_count(app_client, county):
    run = await _build(app_client, county["admin"])
    assert run["status"] == "done" and run["progress_done"] == 8
    f = run["figures"]
    own = county["own"]
    assert (f["period"], f["starts_on"], f["ends_on"], f["cut"]) == ("2026H1", "2026-01-01", "2026-06-30",
                                                                     "recorded_in_half_year")
    assert f["county"] == {"code": own.code, "name": "报表区"}
    s = f["sections"]

    # 1 collection: the six events recorded in 2026H1, by category and direction
    assert {(r["category"], r["direction"]): r["events"] for r in s["collection"]["rows"]} == {
        ("志愿服务", "positive"): 2, ("网格治理", "positive"): 1, ("表彰奖励", "positive"): 1,
        ("环境卫生", "negative"): 1, ("拖欠农民工工资", "negative"): 1}
    assert s["collection"]["summary"] == {"events": 6, "positive": 4, "negative": 2}

    # 2 timeliness: township 1 has 4 events (1 late), township 2 has 2 (1 late)
    rows = {(r["level"], r["name"]): r for r in s["timeliness"]["rows"]}
    assert (rows[("township", "报表镇")]["events"], rows[("township", "报表镇")]["late"],
            rows[("township", "报表镇")]["on_time_percent"]) == (4, 1, "75.0")
    assert (rows[("township", "报表二镇")]["events"], rows[("township", "报表二镇")]["on_time_percent"]) == (2, "50.0")
    assert (rows[("grid", "报表网格")]["events"], rows[("grid", "报表二网格")]["late"]) == (4, 1)
    assert s["timeliness"]["summary"] == {"events": 6, "late": 2, "on_time": 4, "on_time_percent": "66.7"}

    # 3 reviews decided in 2026H1 (local time): 26 h, 2 h, 15.5 h and 48 h; not the one at 00:30 on 07-01
    assert s["reviews"]["summary"] == {"decided": 4, "approved": 3, "rejected": 1, "median_hours": "20.8"}
    by_town = {r["name"]: r for r in s["reviews"]["rows"]}
    assert (by_town["报表镇"]["approved"], by_town["报表镇"]["median_hours"]) == (2, "37.0")
    assert (by_town["报表二镇"]["rejected"], by_town["报表二镇"]["median_hours"]) == (1, "8.8")

    # 4 objections
    entry, rating = s["objections"]["rows"]
    assert entry == {"kind": "entry", "kind_zh": "信用记录异议", "filed": 4, "decided": 3, "upheld": 1, "not_upheld": 2,
                     "decided_on_time": 2, "decided_late": 1, "on_time_percent": "66.7", "open_at_end": 2,
                     "overdue_at_end": 1}
    assert rating == {"kind": "rating", "kind_zh": "评级异议", "filed": 2, "decided": 1, "upheld": 0, "not_upheld": 1,
                      "decided_on_time": 1, "decided_late": 0, "on_time_percent": "100.0", "open_at_end": 1,
                      "overdue_at_end": 0}

    # 5 repairs by route
    assert {r["route"]: (r["filed"], r["granted"], r["refused"], r["withdrawn"], r["open_at_end"])
            for r in s["repairs"]["rows"]} == {"commitment": (2, 1, 1, 0, 0), "rectification": (1, 1, 0, 0, 1),
                                               "training": (2, 0, 0, 1, 1)}
    assert s["repairs"]["summary"] == {"filed": 5, "granted": 2, "refused": 1, "withdrawn": 1, "open_at_end": 2}

    # 6 ratings at 2026-06-30 against 2025-12-31
    assert {(r["level"], r["grade"]): (r["count"], r["previous"], r["change"]) for r in s["ratings"]["rows"]} == {
        ("household", "AAA"): (1, 0, 1), ("household", "AA"): (0, 1, -1), ("household", "A"): (2, 1, 1),
        ("household", "none"): (1, 0, 1), ("village", "credit"): (1, 0, 1)}
    assert s["ratings"]["summary"]["household"] == {"rated": 4, "credit": 3, "credit_previous": 2, "change": 1}
    assert s["ratings"]["summary"]["village"] == {"rated": 1, "credit": 1, "credit_previous": 0, "change": 1}
    assert s["ratings"]["summary"]["township"] == {"rated": 0, "credit": 0, "credit_previous": 0, "change": 0}

    # 7 bank pulls (minutes either side of midnight count by the local day)
    assert {(r["bank"], r["outcome"]): r["pulls"] for r in s["bank_pulls"]["rows"]} == {
        ("报表农商银行", "refused"): 3, ("报表农商银行", "check_failed"): 1, ("报表村镇银行", "refused"): 1}
    assert s["bank_pulls"]["summary"] == {"pulls": 5, "by_outcome": {"check_failed": 1, "refused": 4}}

    # 8 measures by list
    assert [(r["code"], r["lists"], r["entries"], r["households"]) for r in s["measures"]["rows"]] == [
        ("RP-SUB", 2, 4, 3), ("RP-LIM", 1, 0, 0)]

    # no row names a person: no person's name or ID anywhere in the figures
    text = json.dumps(f, ensure_ascii=False)
    for person, _ in own.people:
        name = (await fetch("SELECT name FROM person WHERE id = {}", person))[0]["name"]
        assert name not in text


async def test_built_twice_the_figures_are_identical(app_client, county):
    first, second = await _build(app_client, county["admin"]), await _build(app_client, county["admin"])
    assert first["id"] != second["id"]
    rows = await fetch("SELECT figures, figures_sha256 FROM report_run WHERE id = ANY({}) ORDER BY id",
                       [first["id"], second["id"]])
    assert rows[0]["figures"] == rows[1]["figures"] and rows[0]["figures_sha256"] == rows[1]["figures_sha256"]
    assert rows[0]["figures_sha256"] == figures_sha256(json.loads(rows[0]["figures"]))
    assert rows[0]["figures"] == canonical_json(first["figures"])
    # built "later": the same figures with the clock in a later half-year
    with clock.frozen(datetime(2027, 3, 1, 9, 0, tzinfo=SH)):
        again = await services.build_figures(county["own"].county, services.half_year("2026H1"))
    assert canonical_json(again) == rows[0]["figures"]
    assert "requested" not in rows[0]["figures"] and "finished" not in rows[0]["figures"]


async def test_workbook_has_a_sheet_per_section_with_the_office_title(app_client, county):
    run = await _build(app_client, county["admin"])
    r = await app_client.get(f"{BASE}/{run['id']}/report.xlsx", headers=county["auditor"])
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    assert len(wb.sheetnames) == 8 and wb.sheetnames[0] == "1 信用信息归集"
    for ws in wb.worksheets:
        assert ws["A1"].value.startswith("报表区社会信用体系建设领导小组办公室"), ws["A1"].value
        assert "2026年上半年" in ws["A1"].value and "2026-01-01至2026-06-30" in ws["A2"].value
    ws = wb["2 及时性"]
    assert [c.value for c in ws[3]][:3] == ["层级", "代码", "名称"]
    total = [c.value for c in ws[ws.max_row]]
    assert total[4:8] == [6, 2, 4, "66.7%"]


async def test_print_page_is_self_contained(app_client, county):
    run = await _build(app_client, county["admin"])
    r = await app_client.get(f"{BASE}/{run['id']}/print", headers=county["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "@media print" in page and page.count("<svg") == 3 and "报表区社会信用体系建设领导小组办公室" in page
    assert run["figures_sha256"] in page
    found = scan_html(page, f"http://testserver{BASE}/{run['id']}/print")   # the offline-pages check's own scanner
    assert not found.problems and not found.loads, (found.problems, found.loads)   # nothing outside, nothing at all
    assert "<script" not in page and "<link" not in page and "@import" not in page


async def test_period_rules(app_client, county):
    today = clock.today()   # in 2026H2: the current half-year is built provisionally, up to yesterday
    assert services.half_year("2026H2").code == "2026H2" and today.year == 2026 and today.month >= 7
    for body, status, code in (({"period": "2027H1"}, 409, "REPORT_PERIOD_NOT_STARTED"),
                               ({"period": "2026H2", "through": today.isoformat()}, 409, "REPORT_CUT_NOT_OVER"),
                               ({"period": "2026H1", "through": "2026-07-05"}, 409, "REPORT_CUT_INVALID"),
                               ({"period": "2026H3"}, 422, "REPORT_PERIOD_INVALID"),
                               ({"period": "2026h1"}, 422, "REPORT_PERIOD_INVALID")):
        r = await app_client.post(BASE, headers=county["admin"], json=body)
        assert r.status_code == status, r.text
        assert r.json()["code"] == code
    r = await app_client.post(BASE, headers=county["admin"], json={"period": "2026H1", "through": "2026-06-30"})
    assert r.status_code == 202 and r.json()["through"] is None and not r.json()["provisional"]   # the whole half-year
    r = await app_client.post(BASE, headers=county["admin"], json={"period": "2026H2"})
    assert r.status_code == 202, r.text
    assert r.json()["provisional"] and r.json()["through"] == (today - timedelta(days=1)).isoformat()


async def test_the_current_half_year_is_reported_up_to_its_cut(app_client, county):
    """Due by 12-20, before the half-year ends: the report covers the records written up to the cut
    (the fixture's one event recorded on 07-01), says it is provisional, and two builds agree."""
    runs = []
    for _ in range(2):
        r = await app_client.post(BASE, headers=county["admin"], json={"period": "2026H2", "through": "2026-07-02"})
        assert r.status_code == 202, r.text
        assert await services.run_report(r.json()["id"]) == "done"
        runs.append((await app_client.get(f"{BASE}/{r.json()['id']}", headers=county["admin"])).json())
    first, second = runs
    assert first["id"] != second["id"] and first["figures_sha256"] == second["figures_sha256"]
    f = first["figures"]
    assert (f["provisional"], f["starts_on"], f["ends_on"], f["period_ends_on"]) == (True, "2026-07-01", "2026-07-02",
                                                                                     "2026-12-31")
    assert f["period_name_zh"] == "2026年下半年（截至7月2日）"
    assert f["sections"]["collection"]["summary"]["events"] == 1   # ENV-DUMPING, recorded 2026-07-01 (late)
    assert f["sections"]["timeliness"]["summary"] == {"events": 1, "late": 1, "on_time": 0, "on_time_percent": "0.0"}
    page = (await app_client.get(f"{BASE}/{first['id']}/print", headers=county["admin"])).text
    assert "临时报告" in page and "数据截至2026-07-02" in page


async def test_roles_and_counties(app_client, county, tokens):
    run = await _build(app_client, county["admin"])
    foreign = await tokens("county_admin")   # the demo county's admin
    for path in (f"{BASE}/{run['id']}", f"{BASE}/{run['id']}/report.xlsx", f"{BASE}/{run['id']}/print"):
        assert (await app_client.get(path, headers=foreign)).status_code == 404
        assert (await app_client.get(path, headers=county["town"])).status_code == 403
        assert (await app_client.get(path, headers=county["auditor"])).status_code == 200
    listed = (await app_client.get(BASE, headers=foreign)).json()
    assert run["id"] not in {r["id"] for r in listed}
    assert run["id"] in {r["id"] for r in (await app_client.get(BASE, headers=county["auditor"])).json()}
    assert (await app_client.get(BASE, headers=county["town"])).status_code == 403
    for headers, status in ((county["town"], 403), (county["auditor"], 403)):
        assert (await app_client.post(BASE, headers=headers, json={"period": "2026H1"})).status_code == status


async def test_progress_is_visible_while_building(app_client, county, monkeypatch):
    r = await app_client.post(BASE, headers=county["admin"], json={"period": "2025H2"})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    seen_rows, calls = [], []
    original = dict(sections.SECTIONS)

    async def watching(county_id, h):   # the fifth section looks at the run row while the run is building
        row = (await fetch("SELECT status, progress_done, progress_total FROM report_run WHERE id = {}", run_id))[0]
        seen_rows.append(dict(row))
        return await original["repairs"](county_id, h)

    monkeypatch.setattr(sections, "SECTIONS", [(k, watching if k == "repairs" else f) for k, f in sections.SECTIONS])
    assert await services.run_report(run_id, progress=lambda done, total: calls.append((done, total))) == "done"
    assert seen_rows == [{"status": "running", "progress_done": 4, "progress_total": 8}]
    assert calls == [(i, 8) for i in range(9)]
    assert await services.run_report(run_id) == "done"   # idempotent: an ended run is left alone


async def test_redis_down_the_sweep_picks_the_run_up(app_client, county, monkeypatch):
    async def redis_down():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(jobs, "_get_pool", redis_down)
    r = await app_client.post(BASE, headers=county["admin"], json={"period": "2025H1"})
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued"
    monkeypatch.undo()
    queued: list = []

    async def capture(function, *args, job_id=None):
        queued.append((function, args))
        return True

    monkeypatch.setattr(jobs, "enqueue", capture)
    assert run["id"] not in [a[0] for f, a in queued]
    with clock.frozen(clock.now() + timedelta(minutes=3)):
        assert await services.requeue_stale() >= 1
    assert ("build_semi_annual_report", (run["id"],)) in queued
    assert await services.run_report(run["id"]) == "done"
    assert (await app_client.get(f"{BASE}/{run['id']}", headers=county["admin"])).json()["status"] == "done"


async def test_the_admin_builds_and_downloads_it(app_client, county):
    """County staff in the back office: the build form queues a run of their county, the download
    forms hand over the workbook and the printable page; another county's admin gets nothing."""
    tag = county["own"].code[2:]
    username = f"rp{tag}_ui"
    await accounts.create_account(username, DEMO_PASSWORD, Role.COUNTY_ADMIN, display_name="报表后台",
                                  county_code=county["own"].code, admin_ui=True)
    try:
        headers = await admin_login(app_client, username)
        slugs = {f["name"]: f["slug"] for f in (await app_client.get("/admin/api/forms/")).json()}
        build, excel, page = (next(s for n, s in slugs.items() if n.startswith(p))
                              for p in ("生成半年报", "下载半年报（Excel）", "下载半年报打印页"))
        r = await app_client.post(f"/admin/api/forms/{build}/", json={"period": "2027H1"}, headers=headers)
        assert "REPORT_PERIOD_NOT_STARTED" in r.text, r.text
        r = await app_client.post(f"/admin/api/forms/{build}/", json={"period": "2026H1"}, headers=headers)
        assert r.status_code == 200 and "已排队" in r.text, r.text
        run_id = (await fetch("SELECT id FROM report_run WHERE county_id = {} ORDER BY id DESC LIMIT 1",
                              county["own"].county))[0]["id"]
        r = await app_client.post(f"/admin/api/forms/{excel}/", json={"run_id": run_id}, headers=headers)
        assert "REPORT_NOT_DONE" in r.text or "尚未" in r.text, r.text
        assert await services.run_report(run_id) == "done"
        r = await app_client.post(f"/admin/api/forms/{excel}/", json={"run_id": run_id}, headers=headers)
        assert r.status_code == 200, r.text
        wb = load_workbook(io.BytesIO(r.content))
        assert len(wb.sheetnames) == 8 and wb.worksheets[0]["A1"].value.startswith("报表区社会信用体系建设领导小组办公室")
        r = await app_client.post(f"/admin/api/forms/{page}/", json={"run_id": run_id}, headers=headers)
        assert r.status_code == 200 and "@media print" in r.text and "<svg" in r.text
        app_client.cookies.clear()
        # the demo county's admin (also an admin-UI login) cannot take this county's run
        headers = await admin_login(app_client, "county_admin")
        r = await app_client.post(f"/admin/api/forms/{excel}/", json={"run_id": run_id}, headers=headers)
        assert r.status_code == 200 and "NOT_FOUND" in r.text and not r.content.startswith(b"PK"), r.text
    finally:
        app_client.cookies.clear()
