"""Every route of the app × every role × a subject outside that role's jurisdiction.

The routes come from the app itself (``app.routes``), not from a list kept here. A route with a
subject in its path (``{household_id}``, ``{event_id}`` …) is sent, for every role, with the id of a
subject that role may not reach — reads and writes alike, writes with a valid body built for the
handler's request model — and must answer exactly as it does for an id that does not exist (404
for "not yours", 403 for a role the route's guards refuse, 401 without a token) and write nothing.
Routes without a subject in their path are classified once, in ``NO_SUBJECT``, each with its reason
and, for lists, bodies naming subjects and county-wide actions, a check that the foreign subject
stays out. A new route that is neither, a new path parameter or a new request model the matrix
cannot fill fails ``test_every_route_is_classified`` by name.

Who is foreign to whom (built by the ``world`` fixture):

* FAR   a household of the second township (党寨镇): foreign to ``township_admin`` and to the
        accounts of county X, a small second county this module creates (its county admin and
        auditor stand for those roles: the demo county's subjects are foreign to them);
* NEAR  a household in the grid worker's village but in another grid: foreign to ``grid_worker``;
* HOME  a household in the grid worker's grid, not the villager's own: foreign to ``villager``.

Each has a person, a pending and a counted event (with its ledger entry and a processed photo,
recorded by someone other than the role looking), a household proposal of a closed rating period
and an objection to it. Rating periods are county records: the demo county's is foreign to county
X, county X's to everyone in the demo county. The demo ``county_admin`` is the positive control:
the same ids answer 200 to the jurisdiction they belong to, so the matrix cannot pass by
everything being 404.
"""

from __future__ import annotations

import io
import json
import random
import secrets
import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from litestar.routes import ASGIRoute, HTTPRoute
from openpyxl import Workbook
from PIL import Image

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.auth.services import account_actor
from backend.bank import schemas as bank_schemas
from backend.commitments import schemas as commitment_schemas
from backend.feeds import controllers as feed_controllers
from backend.history import services as history_services
from backend.feeds import schemas as feed_schemas
from backend.consent import schemas as consent_schemas
from backend.measures import build as measure_build
from backend.measures import schemas as measure_schemas
from backend.objections import schemas as objection_schemas
from backend.repair import schemas as repair_schemas
from backend.reports import services as report_services
from points_rules.reports import HalfYear
from backend.webhooks import outbox as webhook_outbox
from backend.webhooks import schemas as webhook_schemas
from backend.village_rules import schemas as village_schemas
from points_rules import feeds as feed_rules
from points_rules import DEFAULT_CATALOGUE_DIR
from backend.db import fetch
from backend import jobs
from piccolo.engine import engine_finder
from backend.evidence import services as evidence
from backend.identity import parse_id_number
from backend.identity.idcard import compute_check_digit
from backend.ledger import schemas as ledger_schemas
from backend.ratings import periods as rating_periods
from backend.ratings import schemas as ratings_schemas
from backend.ratings import tables as rating_tables
from backend.ratings.schemas import PeriodIn
from backend.registry import protection
from backend.registry import schemas as registry_schemas
from backend.registry.tables import (HEAD, County, Grid, Household, HouseholdMembership, HouseholdResidence, Person,
                                     Township, Village)
from backend.registry.writer import person_row
from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, DEMO_PASSWORD

TODAY = clock.today()
MISSING = 2**31 - 1  # a valid id (for int and bigint parameters) that no row has
ROLES = ("county_admin", "auditor", "township_admin", "grid_worker", "villager", "bank", "anonymous")
ROLE = {"county_admin": Role.COUNTY_ADMIN, "auditor": Role.AUDITOR, "township_admin": Role.TOWNSHIP_ADMIN,
        "grid_worker": Role.GRID_WORKER, "villager": Role.VILLAGER, "bank": Role.BANK, "anonymous": None}
COUNTY_X_ROLES = ("county_admin", "auditor")  # played by county X's accounts
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFUSALS = {401: "AUTH_REQUIRED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


# --- the world -----------------------------------------------------------------------------------------------


@dataclass
class Subjects:
    """One household and what hangs off it."""

    household: int
    person: int  # the head
    member: int  # another member (not the head)
    id_number: str  # the head's full ID number
    grid: int
    village: int
    township: int
    pending_event: int = 0
    counted_event: int = 0
    entry: int = 0
    evidence: int = 0
    proposal: int = 0
    objection: int = 0
    consent: int = 0  # a paper consent of the household
    entry_objection: int = 0  # a paper objection to ``entry``
    commitment: int = 0  # a paper credit commitment of the household, captured by its grid worker
    negative_entry: int = 0  # a reviewed minor deduction of the household (ENV-DUMPING)
    repair: int = 0  # a paper repair application for ``negative_entry``, captured by its grid worker
    inbox_notice: int = 0  # the head's notice of ``counted_event`` (backend.notifications)


@dataclass
class World:
    far: Subjects
    near: Subjects
    home: Subjects
    mid_village: int  # another village of the first township (not the grid worker's)
    mid_branch: int
    far_branch: int
    far_organisation: int
    demo_period: int
    demo_township_ids: list[int]
    x: dict[str, int]  # county X: county, township, village, grid, household, person, period, notice
    consent: dict[str, int] = field(default_factory=dict)  # demo county: recipient, notice, paper_evidence
    records: dict[str, dict[str, int]] = field(default_factory=dict)  # county records: "demo" and "x"
    x_id_number: str = ""  # the head of county X's household
    far_queue: int = 0  # an unmatched feed record held by FAR's township
    far_activity: int = 0  # a party activity of FAR's branch, recorded by FAR's grid worker
    far_patrol: int = 0  # a patrol report of FAR's grid
    far_rule_version: int = 0  # the approved village rule set of FAR's village (backend.village_rules)
    far_village_entry: int = 0  # a village points entry of FAR's person, by FAR's grid worker
    far_village_code: str = ""  # FAR's village's code (its village items are V-<code>-…)
    demo_product_code: str = ""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def subjects_of(self, role: str) -> Subjects:
        return {"grid_worker": self.near, "villager": self.home}.get(role, self.far)

    def foreign(self, role: str) -> dict[str, int]:
        """Path parameter → an id this role may not reach."""
        s = self.subjects_of(role)
        near_home = role in ("grid_worker", "villager")
        return {
            "household_id": s.household, "person_id": s.person, "event_id": s.pending_event, "entry_id": s.entry,
            "evidence_id": s.evidence, "proposal_id": s.proposal, "objection_id": s.objection,
            "grid_id": self.near.grid if role == "villager" else s.grid,
            "village_id": self.mid_village if near_home else s.village,
            "branch_id": self.mid_branch if near_home else self.far_branch,
            "township_id": self.far.township, "organisation_id": self.far_organisation,
            "period_id": self.demo_period if role in COUNTY_X_ROLES else self.x["period"],
            "notice_id": self.consent["notice"] if role in COUNTY_X_ROLES else self.x["notice"],
            "consent_id": s.consent, "entry_objection_id": s.entry_objection,
            "queue_id": self.far_queue,  # held by FAR's township: foreign to every role that reaches the queue
            "activity_id": self.far_activity, "patrol_report_id": self.far_patrol,  # recorded in FAR's grid
            "commitment_id": s.commitment, "repair_id": s.repair, "inbox_notice_id": s.inbox_notice,
            # FAR's village rules and village entry: foreign to every role (county X's too); the grid worker
            # and the villager may read approved versions of their own villages only
            "rule_version_id": self.far_rule_version, "village_entry_id": self.far_village_entry,
            **self.records["demo" if role in COUNTY_X_ROLES else "x"],
        }

    def own(self, role: str) -> dict[str, int]:
        """A household, a person and a grid this role may change (for bodies that name a second subject)."""
        if role in COUNTY_X_ROLES:
            return {"household": self.x["household"], "person": self.x["person"], "grid": self.x["grid"]}
        return {"household": self.near.household, "person": self.near.member, "grid": self.near.grid}


# Records of a county (a bank product, a measure, a list, a webhook endpoint and one of its deliveries):
# a role of one county is sent the other county's.
COUNTY_RECORDS = ("product_id", "measure_id", "list_id", "endpoint_id", "delivery_id", "source_id")
PARAM_KINDS = ("household_id", "person_id", "event_id", "entry_id", "evidence_id", "proposal_id", "objection_id",
               "grid_id", "village_id", "branch_id", "township_id", "organisation_id", "period_id", "notice_id",
               "consent_id", "entry_objection_id", "queue_id", "activity_id",
               "patrol_report_id", "commitment_id") + COUNTY_RECORDS
PARAM_KINDS += ("import_id",)  # a history import run: a county record (backend.history)
PARAM_KINDS += ("repair_id",)  # a repair application of the household (backend.repair)
PARAM_KINDS += ("rule_version_id", "village_entry_id")  # village rules and village points (backend.village_rules)
PARAM_KINDS += ("upload_id",)  # a county's uploaded catalogue version: a county record (backend.catalogue)
PARAM_KINDS += ("run_id",)  # a semi-annual report run: a county record, aggregates only (backend.reports)
PARAM_KINDS += ("inbox_notice_id",)  # a notice in a villager's inbox: its recipient's alone (backend.notifications)



def _noise_jpeg() -> bytes:
    """A photo with a perceptual hash of its own (random blocks), so it is never taken for another test's."""
    rng = random.Random(secrets.randbits(64))
    small = Image.new("RGB", (16, 12))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
    buffer = io.BytesIO()
    small.resize((320, 240), Image.Resampling.NEAREST).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def _household_subjects(household_id: int) -> Subjects:
    rows = await fetch(
        """SELECT m.person, m.relation = {} AS head, h.grid, h.village, v.township
           FROM household_membership m JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village
           WHERE m.household = {} AND m.valid_to IS NULL ORDER BY (m.relation = {}) DESC, m.person""",
        HEAD, household_id, HEAD)
    head = next(r for r in rows if r["head"])
    member = next(r for r in rows if not r["head"])
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", head["person"]))[0]["id_number_cipher"]
    return Subjects(household=household_id, person=head["person"], member=member["person"],
                    id_number=protection.reveal_id_number(cipher), grid=head["grid"], village=head["village"],
                    township=head["township"])


async def _first_household(condition: str, *args) -> int:
    """The first household (by id) matching the condition that has a head and another member."""
    rows = await fetch(
        f"""SELECT h.id FROM household h JOIN village v ON v.id = h.village
            WHERE {condition}
              AND EXISTS (SELECT 1 FROM household_membership m WHERE m.household = h.id AND m.valid_to IS NULL
                          AND m.relation = '户主')
              AND (SELECT count(*) FROM household_membership m WHERE m.household = h.id AND m.valid_to IS NULL) > 1
            ORDER BY h.id LIMIT 1""", *args)
    assert rows, condition
    return rows[0]["id"]


async def _unused_id_number(like: str) -> str:
    for seq in range(999, 100, -1):
        first17 = like[:14] + str(seq)
        candidate = first17 + compute_check_digit(first17)
        if not await Person.exists().where(Person.id_number_hash == protection.id_number_hash(candidate)):
            return candidate
    raise AssertionError("no free ID number")


async def _county_x(tag: str, like_id_number: str) -> dict[str, int]:
    """A second county with one township, village, grid and a one-person household, its county admin,
    its auditor and an open rating period."""
    county = (await County.insert(County(code=f"RM{tag}", name="矩阵区")).returning(County.id))[0]["id"]
    township = (await Township.insert(Township(code=f"RM{tag}t", name="矩阵镇", county=county))
                .returning(Township.id))[0]["id"]
    village = (await Village.insert(Village(county_id=county, code=f"RM{tag}v", name="矩阵村", township=township))
               .returning(Village.id))[0]["id"]
    grid = (await Grid.insert(Grid(county_id=county, code=f"RM{tag}g", name="矩阵网格", village=village)).returning(Grid.id))[0]["id"]
    household = (await Household.insert(Household(county_id=county, code=f"RM{tag}h", village=village, grid=grid, address="矩阵村1号"))
                 .returning(Household.id))[0]["id"]
    await HouseholdResidence.insert(HouseholdResidence(county_id=county, household=household, grid=grid, address="矩阵村1号",
                                                       valid_from=TODAY - timedelta(days=400), reason="初始登记"))
    number = await _unused_id_number(like_id_number)
    person = (await Person.insert(person_row(county_id=county, name="矩阵甲", resident_id=parse_id_number(number, today=TODAY),
                                             phone=None)).returning(Person.id))[0]["id"]
    await HouseholdMembership.insert(HouseholdMembership(county_id=county, person=person, household=household, relation=HEAD,
                                                         valid_from=TODAY - timedelta(days=400), reason="初始登记"))
    admin = await accounts.create_account(f"rm{tag}_county", DEMO_PASSWORD, Role.COUNTY_ADMIN,
                                          county_code=f"RM{tag}", display_name="矩阵区管理员")
    await accounts.create_account(f"rm{tag}_auditor", DEMO_PASSWORD, Role.AUDITOR, county_code=f"RM{tag}",
                                  display_name="矩阵区审计员")
    period = await rating_periods.create_period(await account_actor(admin), PeriodIn(
        code=f"X{tag}", name_zh="矩阵区评定", starts_on=TODAY.replace(month=1, day=1), ends_on=TODAY))
    return {"county": county, "township": township, "village": village, "grid": grid, "household": household,
            "person": person, "period": period.id, "admin": admin}


async def _events(client, headers: dict, s: Subjects) -> None:
    """A counted event with a processed photo (and so a ledger entry) and a pending one, recorded by ``headers``."""
    upload = await client.post("/api/v1/evidence", files={"data": ("p.jpg", _noise_jpeg(), "image/jpeg")},
                               headers=headers)
    s.evidence = (await _ok(upload, 202))["id"]
    counted = await _ok(await client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
        "subject_id": s.person, "occurred_on": (TODAY - timedelta(days=1)).isoformat(),
        "evidence_ids": [s.evidence]}), 201)
    assert counted["status"] == "counted" and counted["entries"], counted
    s.counted_event, s.entry = counted["id"], counted["entries"][0]["id"]
    s.inbox_notice = (await fetch("SELECT id FROM notice WHERE recipient_person_id = {} AND dedupe_key = {}",
                                  s.person, f"event:{s.counted_event}:recorded"))[0]["id"]
    assert await evidence.process_evidence(s.evidence) == "ready"
    pending = await _ok(await client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": uuid.uuid4().hex, "item_code": "CUSTOMS-REFORM", "subject_kind": "household",
        "subject_id": s.household, "occurred_on": (TODAY - timedelta(days=1)).isoformat()}), 201)
    assert pending["status"] == "pending_review", pending
    s.pending_event = pending["id"]


NOTICE_TEXT = "本人同意将家庭信用等级提供给{recipient}，用于补贴资格审核；方式：系统查询；保存一年；可随时撤回。"


async def _notice(client, headers: dict) -> int:
    return (await _ok(await client.post("/api/v1/consent/notices", headers=headers, json={
        "recipient_kind": "subsidy_office", "purpose": "subsidy_eligibility", "title_zh": "补贴资格授权",
        "text_zh": NOTICE_TEXT, "consent_days": 365}), 201))["id"]


async def _upload(client, headers: dict) -> int:
    upload = await client.post("/api/v1/evidence", files={"data": ("form.jpg", _noise_jpeg(), "image/jpeg")},
                               headers=headers)
    return (await _ok(upload, 202))["id"]


def _paper_body(recipient: int, notice: int, evidence_id: int) -> dict:
    return {"recipient_id": recipient, "purpose": "subsidy_eligibility", "data_scope": "grade_score",
            "notice_id": notice, "signed_on": TODAY.isoformat(), "evidence_id": evidence_id, "capacity": "witness"}


async def _paper_consent(client, worker: dict, s: Subjects, recipient: int, notice: int) -> None:
    """The household's head signed a paper form; a grid worker of its grid captured it."""
    body = _paper_body(recipient, notice, await _upload(client, worker))
    s.consent = (await _ok(await client.post(f"/api/v1/households/{s.household}/consents", headers=worker,
                                             json=body), 201))["id"]


async def _grid_worker_of(client, tokens, tag: str, name: str, grid_id: int) -> dict:
    code = (await fetch("SELECT code FROM grid WHERE id = {}", grid_id))[0]["code"]
    await accounts.create_account(f"rm{tag}_{name}", DEMO_PASSWORD, Role.GRID_WORKER, grid_codes=[code],
                                  display_name="矩阵网格员")
    return await tokens(f"rm{tag}_{name}")


def _measure_body(code: str) -> dict:
    return {"code": code, "kind": "incentive", "category": "subsidy", "name_zh": "矩阵农业补贴优先",
            "legal_basis": "《张掖市社会信用体系建设促进条例》第三十九条", "office_zh": "区农业农村局",
            "conditions": [{"kind": "household_grade_at_least", "grade": "A"}],
            "valid_from": TODAY.replace(month=1, day=1).isoformat(), "valid_to": None}


async def _county_records(client, admin: dict, county_id: int, tag: str, bank_client: str,
                          endpoint_recipient: int | None = None) -> dict[str, int]:
    """A bank (consent recipient) and its product, a measure with a built list, and a webhook
    endpoint of one county, made through the API by its county admin."""
    bank_client_id = (await fetch("SELECT id FROM bank_client WHERE client_id = {}", bank_client))[0]["id"]
    bank = (await _ok(await client.post("/api/v1/consent/recipients", headers=admin, json={
        "kind": "bank", "code": f"rm-bank-{tag}", "name_zh": "矩阵农商银行", "bank_client_id": bank_client_id}), 201))["id"]
    product = (await _ok(await client.post("/api/v1/bank/products", headers=admin, json={
        "recipient_id": bank, "code": f"RM{tag}", "name_zh": "矩阵信用贷", "purposes": ["credit_application"],
        "data_scope": "grade", "rating_mandatory": True, "stale_days": 365, "failed_check_blocks": True}), 201))["id"]
    measure = (await _ok(await client.post("/api/v1/measures", headers=admin, json=_measure_body(f"RM-{tag}")), 201))["id"]
    with jobs.suppressed("build_eligibility_list"):
        listing = (await _ok(await client.post(f"/api/v1/measures/{measure}/eligibility-lists", headers=admin,
                                               json={"as_of": TODAY.isoformat()}), 202))["id"]
    assert await measure_build.build_list(listing) == "done"
    endpoint = (await _ok(await client.post("/api/v1/webhooks/endpoints", headers=admin, json={
        "url": "http://127.0.0.1:9/hook", "subscriber_zh": "矩阵订阅方", "event_types": ["consent.granted"],
        "recipient_id": endpoint_recipient or bank}), 201))["id"]
    source = await _ok(await client.post("/api/v1/feeds/sources", headers=admin, json={
        "code": f"rm-{tag}", "name": "矩阵区人民法院", "kind": "court_defaulters",
        "mapping": {"listed": {"item_code": "JUDGMENT-DEFAULTER"}}}), 201)
    return {"bank_recipient": bank, "product_id": product, "measure_id": measure, "list_id": listing,
            "endpoint_id": endpoint, "county": county_id, "source_id": source["id"]}, source


async def _held_feed_record(client, source: dict, township_code: str, id_number: str) -> int:
    """A signed court record for a person nobody registered, held by the township its region code names."""
    body = json.dumps({"records": [{"record_id": uuid.uuid4().hex, "type": "listed", "id_number": id_number,
                                    "name": "未登记", "occurred_on": TODAY.isoformat(),
                                    "region_code": township_code}]}).encode()
    stamp = str(int(clock.now().timestamp()))
    response = await client.post(f"/api/v1/feeds/inbound/{source['code']}/records", content=body, headers={
        "X-Feed-Key": source["key_id"], "X-Feed-Timestamp": stamp, "content-type": "application/json",
        "X-Feed-Signature": feed_rules.sign(source["secret"], stamp, body)})
    (result,) = (await _ok(response))["results"]
    assert result["outcome"] == "unmatched", result
    return result["queue_id"]


def _header_only_xlsx() -> bytes:
    book = Workbook()
    book.active.append(["记录编号", "类型", "身份证号", "姓名", "日期"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Multipart:
    """A multipart body for :func:`send` (an upload)."""

    files: dict


CATALOGUE_DRAFT = (DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml").read_text(encoding="utf-8").replace(
    'version: "2026.2"', 'version: "2099.1"', 1).replace("effective_from: 2026-07-01", "effective_from: 2099-01-01", 1)
HISTORY_FILE = Multipart({"data": ("history.csv", "身份证号,事项代码,发生日期,来源文书\n".encode(), "text/csv")})  # header only


async def _delivery_of(endpoint_id: int) -> int:
    rows = await fetch("SELECT id FROM webhook_delivery WHERE endpoint = {} ORDER BY id LIMIT 1", endpoint_id)
    assert rows, f"no delivery for endpoint {endpoint_id}"
    return rows[0]["id"]


def _activity_body(branch: int, attendees: list[int]) -> dict:
    return {"idempotency_key": uuid.uuid4().hex, "branch_id": branch, "kind": "environment_cleanup",
            "item_code": "GRID-CLEANUP", "level": "took_part", "occurred_on": TODAY.isoformat(), "place": "村委会广场",
            "description": "主题党日", "photo_evidence_id": None, "attendee_person_ids": attendees}


def _patrol_body(grid: int, findings: list[dict]) -> dict:
    return {"idempotency_key": uuid.uuid4().hex, "grid_id": grid, "patrolled_on": TODAY.isoformat(),
            "route": "一组—三组", "notes": "巡查", "photo_evidence_id": None, "findings": findings}


async def _field_work(client, worker: dict, s: Subjects, branch: int) -> tuple[int, int]:
    """A party activity of the subject's branch and a patrol report of its grid, by its grid worker."""
    activity = await _ok(await client.post("/api/v1/party-activities", headers=worker,
                                           json=_activity_body(branch, [s.member])))
    patrol = await _ok(await client.post("/api/v1/patrol-reports", headers=worker, json=_patrol_body(s.grid, [])))
    return activity["activity"]["id"] if "activity" in activity else activity["id"], \
        patrol["report"]["id"] if "report" in patrol else patrol["id"]


async def _paper_objection(client, worker: dict, s: Subjects) -> None:
    """The subject signed an objection to their counted entry; their grid worker captured it."""
    s.entry_objection = (await _ok(await client.post("/api/v1/entry-objections/paper", headers=worker, json={
        "entry_id": s.entry, "reason": "记录与事实不符", "signed_on": TODAY.isoformat(),
        "form_evidence_id": await _upload(client, worker)}), 201))["id"]


async def _commitment_template(client, headers: dict) -> int:
    """A repair template of the caller's county (the shipped defaults are written on the first read)."""
    return (await _ok(await client.get("/api/v1/commitment-templates", headers=headers,
                                       params={"purpose": "repair"})))[0]["id"]


async def _paper_commitment(client, worker: dict, s: Subjects) -> None:
    """The household signed a credit commitment on paper; their grid worker captured it with its photo."""
    s.commitment = (await _ok(await client.post("/api/v1/commitments/paper", headers=worker, json={
        "idempotency_key": uuid.uuid4().hex, "template_id": await _commitment_template(client, worker),
        "subject_kind": "household", "subject_id": s.household, "signed_on": TODAY.isoformat(),
        "paper_evidence_id": await _upload(client, worker)}), 201))["id"]


async def _paper_repair(client, worker: dict, admin: dict, s: Subjects) -> None:
    """The household dumped rubbish (a minor deduction: repairable at once), the township approved it;
    the household signed a repair application on paper and their grid worker captured it."""
    event = await _ok(await client.post("/api/v1/events", headers=worker, json={
        "idempotency_key": uuid.uuid4().hex, "item_code": "ENV-DUMPING", "subject_kind": "household",
        "subject_id": s.household, "occurred_on": (TODAY - timedelta(days=2)).isoformat(),
        "evidence_ids": [await _upload(client, worker)]}), 201)
    approved = await _ok(await client.post(f"/api/v1/review/events/{event['id']}/approve", headers=admin, json={}))
    s.negative_entry = approved["entries"][0]["id"]
    s.repair = (await _ok(await client.post("/api/v1/repairs/paper", headers=worker, json={
        "entry_id": s.negative_entry, "route": "rectification", "corrected_on": TODAY.isoformat(),
        "statement": "已清理倾倒垃圾", "signed_on": TODAY.isoformat(), "form_evidence_id": await _upload(client, worker),
        "documents": {"rectification_photo_ids": [await _upload(client, worker)]}}), 201))["id"]


def _village_item(village_code: str) -> dict:
    return {"code": f"V-{village_code}-YARD", "name_zh": "庭院整洁", "behaviour_zh": "庭院干净整洁，经村评比获评",
            "category": "环境卫生", "points": 2, "validity_years": 1, "needs_review": False}


VILLAGE_LIMITS = {"min_points": -10, "max_points": 10, "max_validity_years": 3, "allowed_categories": ["环境卫生"],
                  "max_items": 5}


async def _village_rules(client, county_admin: dict, x_admin: dict, township_admin2: dict, far_worker: dict,
                         s: Subjects) -> tuple[int, int]:
    """Village-rule limits in both counties, an approved rule set of FAR's village (proposed by its
    township, approved by the county) and a village entry of FAR's person by FAR's grid worker."""
    for headers in (county_admin, x_admin):
        await _ok(await client.post("/api/v1/village-rule-limits", headers=headers, json=VILLAGE_LIMITS), 201)
    code = (await fetch("SELECT code FROM village WHERE id = {}", s.village))[0]["code"]
    proposed = await _ok(await client.post("/api/v1/village-rule-versions", headers=township_admin2, json={
        "village_id": s.village, "effective_from": TODAY.isoformat(), "items": [_village_item(code)]}), 201)
    await _ok(await client.post(f"/api/v1/village-rule-versions/{proposed['id']}/decide", headers=county_admin,
                                json={"decision": "approve"}))
    entry = await _ok(await client.post("/api/v1/village-points", headers=far_worker, json={
        "idempotency_key": uuid.uuid4().hex, "subject_kind": "person", "subject_id": s.person,
        "item_code": f"V-{code}-YARD", "occurred_on": TODAY.isoformat()}), 201)
    return proposed["id"], entry["entry"]["id"]


async def _objection(s: Subjects, period_id: int, raised_by: int) -> None:
    """The household's proposal, publicised and objected to (rows written directly: this module is
    about who may reach them, tests/integration/ratings about how they come about)."""
    proposal, county_id = (await fetch("SELECT id, county_id FROM rating_proposal WHERE period = {} "
                                       "AND level = 'household' AND subject_id = {}", period_id, s.household))[0].values()
    await rating_tables.RatingProposal.update({
        rating_tables.RatingProposal.status: rating_tables.DISPUTED,
        rating_tables.RatingProposal.publicity_starts_on: TODAY,
        rating_tables.RatingProposal.publicity_ends_on: TODAY + timedelta(days=10),
    }).where(rating_tables.RatingProposal.id == proposal)
    row = await rating_tables.RatingObjection.insert(rating_tables.RatingObjection(
        county_id=county_id, proposal=proposal, raised_by=raised_by, reason="评定结果与实际不符", raised_on=TODAY, mark_by=TODAY,
        disputed_marked_on=TODAY, respond_by=TODAY + timedelta(days=9))).returning(rating_tables.RatingObjection.id)
    s.proposal, s.objection = proposal, row[0]["id"]


@pytest.fixture(scope="module")
async def world(app_client, tokens) -> World:
    me = {u: await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens(u)))
          for u in ("township_admin", "township_admin2", "grid_worker", "villager")}
    worker_grids = me["grid_worker"]["grid_ids"]
    home_village = (await fetch("SELECT village FROM grid WHERE id = {}", worker_grids[0]))[0]["village"]
    far = await _household_subjects(await _first_household("v.township = {}", me["township_admin2"]["township_id"]))
    near = await _household_subjects(await _first_household("h.village = {} AND NOT h.grid = ANY({})",
                                                            home_village, worker_grids))
    home = await _household_subjects(await _first_household("h.grid = ANY({}) AND h.id <> {}", worker_grids,
                                                            me["villager"]["household_id"]))
    mid_village = (await fetch("SELECT id FROM village WHERE township = {} AND id <> {} ORDER BY id LIMIT 1",
                               me["township_admin"]["township_id"], home_village))[0]["id"]
    branch = {r["village"]: r["id"] for r in await fetch("SELECT id, village FROM party_branch")}
    far_organisation = (await fetch("SELECT id FROM organisation WHERE township = {} ORDER BY id LIMIT 1",
                                    far.township))[0]["id"]
    demo_county = (await fetch("SELECT county FROM township WHERE id = {}", far.township))[0]["county"]
    demo_townships = [r["id"] for r in await fetch("SELECT id FROM township WHERE county = {}", demo_county)]

    # Events: FAR recorded by township_admin2, NEAR and HOME by township_admin — never by a role looking.
    await _events(app_client, await tokens("township_admin2"), far)
    for s in (near, home):
        await _events(app_client, await tokens("township_admin"), s)

    # A closed period of the demo county (closed "tomorrow": a period closes once it has ended).
    county_admin = await tokens("county_admin")
    period = await _ok(await app_client.post("/api/v1/ratings/periods", headers=county_admin, json={
        "code": "M" + secrets.token_hex(5), "name_zh": "矩阵测试评定", "starts_on": TODAY.replace(month=1, day=1).isoformat(),
        "ends_on": TODAY.isoformat()}), 201)
    admin_id = (await fetch("SELECT id FROM account WHERE username = 'county_admin'"))[0]["id"]
    actor = await account_actor(admin_id)
    with clock.frozen(clock.now() + timedelta(days=1)):
        await rating_periods.close_period(actor, period["id"])
    villager_account = (await fetch("SELECT id FROM account WHERE username = 'villager'"))[0]["id"]
    for s in (far, near, home):
        await _objection(s, period["id"], villager_account)

    x = await _county_x(secrets.token_hex(3), far.id_number)
    w = World(far=far, near=near, home=home, mid_village=mid_village, mid_branch=branch[mid_village],
              far_branch=branch[far.village], far_organisation=far_organisation, demo_period=period["id"],
              demo_township_ids=demo_townships, x=x)

    # Consent: a subsidy office and a notice in each county, a paper consent for FAR, NEAR and HOME
    # (each captured by a grid worker of its grid), and an unused photo of the demo grid worker's.
    tag = (await fetch("SELECT username FROM account WHERE id = {}", x["admin"]))[0]["username"].removesuffix("_county")
    recipient = (await _ok(await app_client.post("/api/v1/consent/recipients", headers=county_admin, json={
        "kind": "subsidy_office", "code": f"rm-{tag}", "name_zh": "矩阵农业农村局"}), 201))["id"]
    w.consent = {"recipient": recipient, "notice": await _notice(app_client, county_admin)}
    x_admin = await tokens(f"{tag}_county")
    x["notice"] = await _notice(app_client, x_admin)

    # County records of both counties; the demo county's endpoint hears the subsidy office's consents.
    x_code = (await fetch("SELECT code FROM county WHERE id = {}", x["county"]))[0]["code"]
    x_bank, _ = await accounts.create_bank_client("矩阵区农商银行", x_code)
    demo_records, demo_source = await _county_records(app_client, county_admin, demo_county, tag + "d",
                                                      DEMO_BANK_CLIENT_ID, endpoint_recipient=recipient)
    x_records, _ = await _county_records(app_client, x_admin, x["county"], tag + "x", x_bank)
    w.records = {"demo": demo_records, "x": x_records}
    far_township_code = (await fetch("SELECT code FROM township WHERE id = {}", far.township))[0]["code"]
    w.far_queue = await _held_feed_record(app_client, demo_source, far_township_code,
                                          await _unused_id_number(far.id_number))
    async with engine_finder().transaction():
        await webhook_outbox.emit(x["county"], "consent.granted", {
            "consent_id": 1, "subject_kind": "household", "subject_id": x["household"],
            "recipient_id": w.records["x"]["bank_recipient"], "purpose": "credit_application", "data_scope": "grade",
            "expires_on": None}, recipient_id=w.records["x"]["bank_recipient"])
    workers = {"far": await _grid_worker_of(app_client, tokens, tag, "gwfar", far.grid),
               "near": await _grid_worker_of(app_client, tokens, tag, "gwnear", near.grid),
               "home": await tokens("grid_worker")}
    for name, s in (("far", far), ("near", near), ("home", home)):
        await _paper_consent(app_client, workers[name], s, recipient, w.consent["notice"])
        await _paper_objection(app_client, workers[name], s)
        await _paper_commitment(app_client, workers[name], s)
        await _paper_repair(app_client, workers[name],
                            await tokens("township_admin2" if name == "far" else "township_admin"), s)
    w.consent["paper_evidence"] = await _upload(app_client, await tokens("grid_worker"))
    w.far_activity, w.far_patrol = await _field_work(app_client, workers["far"], far, branch[far.village])
    for county in ("demo", "x"):
        w.records[county]["delivery_id"] = await _delivery_of(w.records[county]["endpoint_id"])
    for county, headers in (("demo", county_admin), ("x", x_admin)):   # a history import run of each county
        w.records[county]["import_id"] = (await _ok(await app_client.post("/api/v1/event-imports", headers=headers,
                                                                          files=HISTORY_FILE.files), 202))["id"]
    last_half = HalfYear.of(clock.today()).previous().code
    for county, headers in (("demo", county_admin), ("x", x_admin)):   # a built semi-annual report of each county
        run = await _ok(await app_client.post(REPORTS, headers=headers, json={"period": last_half}), 202)
        assert await report_services.run_report(run["id"]) == "done"
        w.records[county]["run_id"] = run["id"]
    for county, headers in (("demo", county_admin), ("x", x_admin)):   # a catalogue draft of each county
        w.records[county]["upload_id"] = (await _ok(await app_client.post(
            "/api/v1/county-catalogue/versions", headers=headers, json={"yaml": CATALOGUE_DRAFT}), 201))["id"]
    w.demo_product_code = f"RM{tag}d"
    w.far_village_code = (await fetch("SELECT code FROM village WHERE id = {}", far.village))[0]["code"]
    w.far_rule_version, w.far_village_entry = await _village_rules(app_client, county_admin, x_admin,
                                                                   await tokens("township_admin2"), workers["far"], far)
    x_cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", x["person"]))[0]["id_number_cipher"]
    w.x_id_number = protection.reveal_id_number(x_cipher)

    # Log in every role once, before any snapshot is taken (a login writes a session).
    w.headers = {"county_admin": await tokens(f"{tag}_county"), "auditor": await tokens(f"{tag}_auditor"),
                 "township_admin": await tokens("township_admin"), "grid_worker": await tokens("grid_worker"),
                 "villager": await tokens("villager"), "anonymous": {}}
    bank = await app_client.post("/api/v1/auth/token", json={
        "grant_type": "client_credentials", "client_id": DEMO_BANK_CLIENT_ID, "client_secret": DEMO_BANK_SECRET})
    w.headers["bank"] = {"Authorization": f"Bearer {(await _ok(bank))['access_token']}"}
    w.headers["demo_county_admin"] = county_admin
    # The FAR household has been read in its own county (so the auditors' log has a row about it).
    await _ok(await app_client.get(f"/api/v1/households/{far.household}", headers=county_admin))
    return w


# --- the routes, from the app ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as the app declares it: /api/v1/households/{household_id:int}
    params: tuple[str, ...]
    handler: typing.Any

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, int]) -> str:
        path = self.path
        for name in self.params:
            path = path.replace("{" + name + ":int}", str(values[name]))
        return path

    @property
    def data_model(self) -> type | None:
        data = self.handler.parsed_fn_signature.parameters.get("data")
        return None if data is None else data.annotation

    def allowed_roles(self) -> frozenset[Role] | None:
        """The roles the route's guards let through (``None``: no role guard). Guards are
        ``require_roles`` closures; any other kind of guard is a change this test must learn."""
        allowed = None
        for guard in (g for layer in self.handler.ownership_layers for g in (layer.guards or [])):
            roles = next((c.cell_contents for c in guard.__closure__ or () if isinstance(c.cell_contents, frozenset)),
                         None)
            assert roles is not None, f"{self}: guard {guard!r} is not a require_roles guard"
            allowed = roles if allowed is None else allowed & roles
        return allowed


def endpoints(app) -> tuple[list[Endpoint], list[str]]:
    """Every HTTP endpoint of the app (CORS preflight handlers aside), and every mounted ASGI app."""
    found, mounts = [], []
    for route in app.routes:
        if isinstance(route, ASGIRoute):
            mounts.append(route.path)
            continue
        assert isinstance(route, HTTPRoute), route
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method == "OPTIONS" and handler.handler_name == "options_handler":
                    continue  # Litestar's automatic preflight answer: no data, no handler of ours
                found.append(Endpoint(method, route.path, tuple(route.path_parameters), handler))
    return sorted(found, key=lambda e: (e.path, e.method)), mounts


# --- bodies: one minimal valid body per request model -----------------------------------------------------------


def _event_body(subject_kind: str, subject_id: int) -> dict:
    return {"idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": subject_kind,
            "subject_id": subject_id, "occurred_on": (TODAY - timedelta(days=1)).isoformat()}


BODIES: dict[type, Callable[[World, str], dict]] = {
    ledger_schemas.EventIn: lambda w, role: _event_body("person", w.subjects_of(role).person),
    ledger_schemas.BatchIn: lambda w, role: {"events": [_event_body("person", w.subjects_of(role).person)]},
    ledger_schemas.BulkReviewIn: lambda w, role: {"event_ids": [w.subjects_of(role).pending_event]},
    ledger_schemas.ReviewIn: lambda w, role: {"reason": "核实无误"},
    ledger_schemas.RejectIn: lambda w, role: {"reason": "证据不足"},
    ledger_schemas.ReverseIn: lambda w, role: {"reason": "登记有误"},
    registry_schemas.PersonLookupIn: lambda w, role: {"id_number": w.subjects_of(role).id_number},
    # The second subject a body names is one the role may change: only the path's subject is foreign.
    registry_schemas.MembershipChangeIn: lambda w, role: {"person_id": w.own(role)["person"], "relation": "其他",
                                                          "valid_from": TODAY.isoformat(), "reason": "迁入"},
    registry_schemas.ResidenceChangeIn: lambda w, role: {"grid_id": w.own(role)["grid"], "address": "新址1号",
                                                         "valid_from": TODAY.isoformat(), "reason": "搬迁"},
    ratings_schemas.ApprovalIn: lambda w, role: {"level": "household"},
    ratings_schemas.ReproposeIn: lambda w, role: {"grade": "AA", "reason": "复核后调整"},
    ratings_schemas.ObjectionIn: lambda w, role: {"reason": "评定结果与实际不符"},
    ratings_schemas.ResolveIn: lambda w, role: {"decision": "dismiss", "reason": "经核实维持原评定"},
    # The notice, recipient and photo are the caller's own: only the path's subject is foreign.
    consent_schemas.PaperGrantIn: lambda w, role: _paper_body(w.consent["recipient"], w.consent["notice"],
                                                              w.consent["paper_evidence"]),
    measure_schemas.MeasureVersionIn: lambda w, role: {k: v for k, v in _measure_body("unused").items() if k != "code"}
    | {"change_reason": "条款调整"},
    measure_schemas.MeasureEndIn: lambda w, role: {"valid_to": TODAY.isoformat(), "change_reason": "政策到期"},
    measure_schemas.ListIn: lambda w, role: {"as_of": TODAY.isoformat()},
    webhook_schemas.EndpointPatch: lambda w, role: {"description": "矩阵修改"},
    webhook_schemas.RotateIn: lambda w, role: {"grace_hours": 1},
    objection_schemas.DecisionIn: lambda w, role: {"decision": "refuse", "reason": "经核实维持原记录"},
    commitment_schemas.DecisionIn: lambda w, role: {"outcome": "kept", "note": "经核实按期履约"},
    repair_schemas.RepairDecisionIn: lambda w, role: {"decision": "refuse", "reason": "材料不实"},
    repair_schemas.SupplementIn: lambda w, role: {"documents": {"correction_photo_ids": [w.consent["paper_evidence"]]}},
    feed_schemas.ResolveIn: lambda w, role: {"subject_kind": "person", "subject_id": w.own(role)["person"]},
    feed_schemas.DismissIn: lambda w, role: {"reason": "非本辖区人员"},
    village_schemas.DecisionIn: lambda w, role: {"decision": "reject", "reason": "矩阵不予批准"},
    village_schemas.ReverseIn: lambda w, role: {"reason": "矩阵冲正"},
    feed_controllers.FeedFile: lambda w, role: Multipart({"data": ("feed.xlsx", _header_only_xlsx(), XLSX)}),
}


# --- what "nothing was written" means ---------------------------------------------------------------------------

# Every table is watched (row count and newest row version: an INSERT or UPDATE anywhere moves
# ``max(xmin)``), except the migration bookkeeping. A refused read writes no access-log row either.
UNWATCHED = {"piccolo_migration"}


async def snapshot(client) -> dict[str, tuple[int, int]]:
    tables = [r["tablename"] for r in await fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
              if r["tablename"] not in UNWATCHED]
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n, coalesce(max(xmin::text::bigint), 0) AS x "
                             f'FROM "{t}"' for t in sorted(tables))
    state = {r["t"]: (r["n"], r["x"]) for r in await fetch(sql)}
    state["redis:arq:queue"] = (await client.app.state.redis.zcard("arq:queue"), 0)
    return state


def changed(before: dict, after: dict) -> list[str]:
    return [f"{k}: {before.get(k)} → {after.get(k)}" for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


async def send(client, method: str, url: str, headers: dict, body: dict | Multipart | None = None, **params):
    if isinstance(body, Multipart):
        return await client.request(method, url, headers=headers, files=body.files, params=params or None)
    return await client.request(method, url, headers=headers, json=body, params=params or None)


def expected_refusal(endpoint: Endpoint, role: str) -> set[int]:
    if role == "anonymous":
        return {401}
    allowed = endpoint.allowed_roles()
    if allowed is not None and ROLE[role] not in allowed:
        return {403}
    return {404, 403}  # 403: a service-level "this role may not do this at all"


def refusal_problem(endpoint: Endpoint, role: str, response, missing) -> str | None:
    """Why ``response`` (foreign subject) is not a proper refusal, or ``None``."""
    status = response.status_code
    if status not in expected_refusal(endpoint, role):
        return f"{status} (expected {sorted(expected_refusal(endpoint, role))}) {response.text[:200]}"
    code = response.json().get("code")
    if code != REFUSALS[status]:
        return f"{status} with code {code} (expected {REFUSALS[status]})"
    if (missing.status_code, missing.content) != (status, response.content):
        return f"answers differently for a missing id ({missing.status_code} {missing.text[:120]}): an existence oracle"
    return None


# --- the routes without a subject in their path ------------------------------------------------------------------

Check = Callable[[typing.Any, World], Awaitable[None]]


@dataclass(frozen=True)
class NoSubject:
    kind: str  # public | self | list | body | query | county
    reason: str
    check: Check | None = None


async def _pages(client, url: str, headers: dict, key: str = "id", **params) -> tuple[set[int], int]:
    """Every id of a paginated list (all pages) and its total."""
    ids, offset = set(), 0
    while True:
        page = await _ok(await client.get(url, headers=headers, params={"limit": 200, "offset": offset, **params}))
        ids |= {item[key] for item in page["items"]}
        offset += 200
        if offset >= page["total"]:
            return ids, page["total"]


async def _refused_roles(client, world: World, method: str, url: str, allowed: tuple[str, ...],
                         body: dict | None = None) -> None:
    """Roles outside ``allowed`` get 401 (anonymous) or 403."""
    for role in ROLES:
        if role in allowed:
            continue
        response = await send(client, method, url, world.headers[role], body)
        assert response.status_code == (401 if role == "anonymous" else 403), (role, method, url, response.text)


async def check_townships(client, w: World) -> None:
    readers = ("county_admin", "auditor", "township_admin", "grid_worker", "villager")
    for role in readers:
        listed = {t["id"] for t in await _ok(await client.get("/api/v1/townships", headers=w.headers[role]))}
        foreign = set(w.demo_township_ids) if role in COUNTY_X_ROLES else {w.far.township}
        assert listed and not listed & foreign, (role, listed)
    await _refused_roles(client, w, "GET", "/api/v1/townships", readers)


async def check_households(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "grid_worker", "villager")
    for role in readers:
        foreign = w.foreign(role)
        ids, _ = await _pages(client, "/api/v1/households", w.headers[role])
        assert foreign["household_id"] not in ids, role
        for name in ("grid_id", "village_id"):
            _, total = await _pages(client, "/api/v1/households", w.headers[role], **{name: foreign[name]})
            assert total == 0, (role, name)
    await _refused_roles(client, w, "GET", "/api/v1/households", readers)


async def check_my_events(client, w: World) -> None:
    loggers = ("county_admin", "township_admin", "grid_worker")
    for role in loggers:
        s = w.subjects_of(role)
        listed = {e["id"] for e in await _ok(await client.get("/api/v1/events/mine", headers=w.headers[role],
                                                              params={"limit": 200}))}
        assert not listed & {s.pending_event, s.counted_event}, role
    await _refused_roles(client, w, "GET", "/api/v1/events/mine", loggers)


async def check_review_queue(client, w: World) -> None:
    reviewers = ("county_admin", "township_admin")
    for role in reviewers:
        ids, _ = await _pages(client, "/api/v1/review/events", w.headers[role])
        assert w.subjects_of(role).pending_event not in ids, role
    # the positive control: the event is in its own township's queue
    ids, _ = await _pages(client, "/api/v1/review/events", w.headers["demo_county_admin"])
    assert w.far.pending_event in ids
    await _refused_roles(client, w, "GET", "/api/v1/review/events", reviewers)


async def check_audit_log(client, w: World) -> None:
    readers = ("county_admin", "auditor")
    params = {"subject_kind": "household", "subject_id": w.far.household}
    for role in readers:
        _, total = await _pages(client, "/api/v1/audit/access-log", w.headers[role], **params)
        assert total == 0, role
        page = await _ok(await client.get("/api/v1/audit/access-log", headers=w.headers[role]))
        assert not {i["township_id"] for i in page["items"]} & set(w.demo_township_ids), role
    _, total = await _pages(client, "/api/v1/audit/access-log", w.headers["demo_county_admin"], **params)
    assert total > 0, "the demo county's own log has the read"
    await _refused_roles(client, w, "GET", "/api/v1/audit/access-log", readers)


async def check_periods(client, w: World) -> None:
    admins = ("county_admin", "township_admin")
    for role in admins:
        listed = {p["id"] for p in await _ok(await client.get("/api/v1/ratings/periods", headers=w.headers[role]))}
        assert w.foreign(role)["period_id"] not in listed, role
    await _refused_roles(client, w, "GET", "/api/v1/ratings/periods", admins)


async def check_objections(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "villager")
    for role in readers:
        ids, _ = await _pages(client, "/api/v1/ratings/objections", w.headers[role])
        assert w.subjects_of(role).objection not in ids, role
        ids, _ = await _pages(client, "/api/v1/ratings/objections", w.headers[role], period_id=w.demo_period)
        assert w.subjects_of(role).objection not in ids, role
    ids, _ = await _pages(client, "/api/v1/ratings/objections", w.headers["demo_county_admin"])
    assert w.far.objection in ids
    await _refused_roles(client, w, "GET", "/api/v1/ratings/objections", readers)


async def _consent_ids(client, headers: dict) -> set[int]:
    ids, offset = set(), 0
    while True:
        page = await _ok(await client.get("/api/v1/consents", headers=headers, params={"limit": 200, "offset": offset}))
        ids |= {c["id"] for c in page}
        offset += 200
        if len(page) < 200:
            return ids


async def check_consents(client, w: World) -> None:
    admins = ("county_admin", "township_admin")
    for role in admins:
        assert w.subjects_of(role).consent not in await _consent_ids(client, w.headers[role]), role
    own = await _consent_ids(client, w.headers["demo_county_admin"])
    assert {w.far.consent, w.near.consent, w.home.consent} <= own
    await _refused_roles(client, w, "GET", "/api/v1/consents", admins)


async def check_consent_notices(client, w: World) -> None:
    """Notices and recipients are county records: county X's admin does not see the demo county's."""
    for role in ("county_admin", "township_admin"):
        notices = {n["id"] for n in await _ok(await client.get("/api/v1/consent/notices", headers=w.headers[role]))}
        assert w.foreign(role)["notice_id"] not in notices, role
    recipients = {r["id"] for r in await _ok(await client.get("/api/v1/consent/recipients",
                                                               headers=w.headers["county_admin"]))}
    assert w.consent["recipient"] not in recipients


async def _ids(client, url: str, headers: dict) -> set[int]:
    return {row["id"] for row in await _ok(await client.get(url, headers=headers))}


def _own_and_foreign(w: World, role: str, kind: str) -> tuple[int, int]:
    """(the role's own county's record, the other county's) of a county record kind."""
    mine, other = ("x", "demo") if role in COUNTY_X_ROLES else ("demo", "x")
    return w.records[mine][kind], w.records[other][kind]


async def _county_list(client, w: World, url: str, kind: str, readers: tuple[str, ...],
                       also_allowed: tuple[str, ...] = ()) -> None:
    """Each county's admin (and the other readers) list their county's record, never the other's."""
    for role in readers:
        listed = await _ids(client, url, w.headers[role])
        mine, foreign = _own_and_foreign(w, role, kind)
        assert foreign not in listed, (url, role)
        if role == "county_admin":
            assert mine in listed, (url, role)
    assert _own_and_foreign(w, "township_admin", kind)[0] in await _ids(client, url, w.headers["demo_county_admin"])
    await _refused_roles(client, w, "GET", url, readers + also_allowed)


async def check_bank_products(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/bank/products", "product_id", ("county_admin",), also_allowed=("bank",))
    assert w.records["x"]["product_id"] not in await _ids(client, "/api/v1/bank/products", w.headers["bank"])


async def check_bank_pulls(client, w: World) -> None:
    """County X has no pulls: its admin lists none, whatever the demo bank pulled."""
    assert await _ok(await client.get("/api/v1/bank/rating-pulls", headers=w.headers["county_admin"])) == []
    await _refused_roles(client, w, "GET", "/api/v1/bank/rating-pulls", ("county_admin", "bank"))


async def check_measures(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/measures", "measure_id", ("county_admin", "auditor", "township_admin"))


async def check_eligibility_lists(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/eligibility-lists", "list_id", ("county_admin", "auditor", "township_admin"))


async def check_webhook_endpoints(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/webhooks/endpoints", "endpoint_id", ("county_admin",))


async def check_feed_sources(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/feeds/sources", "source_id", ("county_admin",))


async def check_feed_queue(client, w: World) -> None:
    for role in ("county_admin", "township_admin"):
        ids, _ = await _pages(client, "/api/v1/feeds/queue", w.headers[role])
        assert w.far_queue not in ids, role
    ids, _ = await _pages(client, "/api/v1/feeds/queue", w.headers["demo_county_admin"])
    assert w.far_queue in ids
    await _refused_roles(client, w, "GET", "/api/v1/feeds/queue", ("county_admin", "township_admin"))


async def check_grid_worker_work(client, w: World) -> None:
    """FAR's grid worker (township 2, who recorded the matrix's activity) is not in township 1's
    table, nor in county X's; the demo grid worker sees their own row only."""
    far_worker = (await fetch("SELECT recorded_by FROM party_activity WHERE id = {}", w.far_activity))[0]["recorded_by"]
    for role in ("township_admin", "county_admin", "grid_worker"):
        rows = (await _ok(await client.get("/api/v1/grid-worker-work", headers=w.headers[role])))["grid_workers"]
        assert far_worker not in {r["account_id"] for r in rows}, role
    own = (await _ok(await client.get("/api/v1/grid-worker-work", headers=w.headers["grid_worker"])))["grid_workers"]
    assert len(own) <= 1
    rows = (await _ok(await client.get("/api/v1/grid-worker-work", headers=w.headers["demo_county_admin"])))["grid_workers"]
    assert far_worker in {r["account_id"] for r in rows}
    await _refused_roles(client, w, "GET", "/api/v1/grid-worker-work", ("county_admin", "township_admin", "grid_worker"))


async def check_quality(client, w: World) -> None:
    """The data-quality list of unmatched feed records: FAR's held record is not township 1's nor
    county X's, the demo county admin sees it; FAR's township named by township 1's admin is 404;
    grid workers, villagers and banks are refused (auditors: counts only)."""
    url = "/api/v1/quality/unmatched_feed_records"
    for role in ("township_admin", "county_admin"):
        ids, _ = await _pages(client, url, w.headers[role], key="queue_id")
        assert w.far_queue not in ids, role
    ids, _ = await _pages(client, url, w.headers["demo_county_admin"], key="queue_id")
    assert w.far_queue in ids
    for path in ("/api/v1/quality", url, "/api/v1/quality/trend"):
        foreign = await client.get(path, headers=w.headers["township_admin"], params={"township_id": w.far.township})
        assert foreign.status_code == 404, (path, foreign.text)
    await _refused_roles(client, w, "GET", url, ("county_admin", "township_admin"))
    await _refused_roles(client, w, "GET", "/api/v1/quality", ("county_admin", "auditor", "township_admin"))


async def check_commitments(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "grid_worker", "villager")
    for role in readers:
        for due in (None, "running"):
            ids, _ = await _pages(client, "/api/v1/commitments", w.headers[role], **({"due": due} if due else {}))
            assert w.subjects_of(role).commitment not in ids, (role, due)
    ids, _ = await _pages(client, "/api/v1/commitments", w.headers["demo_county_admin"])
    assert {w.far.commitment, w.near.commitment, w.home.commitment} <= ids
    await _refused_roles(client, w, "GET", "/api/v1/commitments", readers)


async def check_commitment_templates(client, w: World) -> None:
    """Templates are county configuration: county X's accounts never see the demo county's."""
    demo = {t["id"] for t in await _ok(await client.get("/api/v1/commitment-templates",
                                                        headers=w.headers["demo_county_admin"]))}
    theirs = {t["id"] for t in await _ok(await client.get("/api/v1/commitment-templates",
                                                          headers=w.headers["county_admin"]))}
    assert demo and theirs and not demo & theirs
    await _refused_roles(client, w, "GET", "/api/v1/commitment-templates",
                         ("county_admin", "township_admin", "grid_worker", "villager"))


async def check_catalogue_uploads(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/county-catalogue/versions", "upload_id", ("county_admin",))


async def check_event_imports(client, w: World) -> None:
    await _county_list(client, w, "/api/v1/event-imports", "import_id", ("county_admin",))


REPORTS = "/api/v1/reports/semi-annual"


async def check_report_runs(client, w: World) -> None:
    await _county_list(client, w, REPORTS, "run_id", ("county_admin", "auditor"))


async def check_report_request(client, w: World) -> None:
    """County X's admin builds county X's report (the county from the token); nobody else may ask."""
    body = {"period": HalfYear.of(clock.today()).previous().code}
    run = await _ok(await client.post(REPORTS, headers=w.headers["county_admin"], json=body), 202)
    assert run["county_id"] != (await _ok(await client.get(f"{REPORTS}/{w.records['demo']['run_id']}",
                                                           headers=w.headers["demo_county_admin"])))["county_id"]
    await _refused_roles(client, w, "POST", REPORTS, ("county_admin",), body)


async def check_event_import_rows(client, w: World) -> None:
    """County X's admin imports a file naming FAR's person (of the demo county): the row is "unknown",
    word for word as an unregistered ID number, and nothing reaches the ledger; other roles are refused."""
    unregistered = await _unused_id_number(w.far.id_number)
    reports = []
    for number in (w.far.id_number, unregistered):
        content = ("身份证号,事项代码,发生日期,来源文书\n" + f"{number},BLOOD-DONATION,2024-05-01,献血证 矩阵\n").encode()
        run = await _ok(await client.post("/api/v1/event-imports", headers=w.headers["county_admin"],
                                          files={"data": ("history.csv", content, "text/csv")}), 202)
        events = (await fetch("SELECT count(*) AS n FROM credit_event"))[0]["n"]
        assert await history_services.run_import(run["id"]) == "rejected"
        assert (await fetch("SELECT count(*) AS n FROM credit_event"))[0]["n"] == events
        done = await _ok(await client.get(f"/api/v1/event-imports/{run['id']}", headers=w.headers["county_admin"]))
        assert [e["code"] for e in done["errors"]] == ["HISTORY_PERSON_UNKNOWN"] and number not in str(done)
        reports.append([(e["row"], e["message_zh"][:12]) for e in done["errors"]])
    assert reports[0] == reports[1]
    for role in ROLES:
        if role != "county_admin":
            response = await send(client, "POST", "/api/v1/event-imports", w.headers[role], HISTORY_FILE)
            assert response.status_code == (401 if role == "anonymous" else 403), (role, response.text)


async def check_entry_objections(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "grid_worker", "villager")
    for role in readers:
        ids, _ = await _pages(client, "/api/v1/entry-objections", w.headers[role])
        assert w.subjects_of(role).entry_objection not in ids, role
    ids, _ = await _pages(client, "/api/v1/entry-objections", w.headers["demo_county_admin"])
    assert {w.far.entry_objection, w.near.entry_objection, w.home.entry_objection} <= ids
    await _refused_roles(client, w, "GET", "/api/v1/entry-objections", readers)


async def check_repairs(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "grid_worker", "villager")
    for role in readers:
        for due in (None, "due_soon", "overdue", "escalated"):
            ids, _ = await _pages(client, "/api/v1/repairs", w.headers[role], **({"due": due} if due else {}))
            assert w.subjects_of(role).repair not in ids, (role, due)
    ids, _ = await _pages(client, "/api/v1/repairs", w.headers["demo_county_admin"])
    assert {w.far.repair, w.near.repair, w.home.repair} <= ids
    await _refused_roles(client, w, "GET", "/api/v1/repairs", readers)


async def check_repair_requirements(client, w: World) -> None:
    """The entry is named in the query: a foreign one answers as a missing one, and is not logged."""
    for role in ("county_admin", "township_admin", "grid_worker", "villager"):
        before, last_read = await snapshot(client), await _last_access_log_id()
        foreign = await client.get("/api/v1/repairs/requirements", headers=w.headers[role],
                                   params={"entry_id": w.subjects_of(role).negative_entry})
        missing = await client.get("/api/v1/repairs/requirements", headers=w.headers[role],
                                   params={"entry_id": 2**62})
        assert foreign.status_code == missing.status_code == 404, (role, foreign.text)
        assert foreign.json()["code"] == missing.json()["code"], role
        assert not changed(before, await snapshot(client)), role
        assert not await fetch("SELECT 1 FROM access_log WHERE id > {}", last_read), role
    own = await client.get("/api/v1/repairs/requirements", headers=w.headers["demo_county_admin"],
                           params={"entry_id": w.far.negative_entry})
    assert own.status_code == 200 and own.json()["severity"] == "minor", own.text  # the positive control
    await _refused_roles(client, w, "GET", f"/api/v1/repairs/requirements?entry_id={w.far.negative_entry}",
                         ("county_admin", "township_admin", "grid_worker", "villager"))


async def check_objection_report(client, w: World) -> None:
    """The on-time report covers the caller's township (or county) only."""
    report = await _ok(await client.get("/api/v1/entry-objections/report", headers=w.headers["township_admin"]))
    assert w.far.township not in {t["township_id"] for t in report["townships"]}
    report = await _ok(await client.get("/api/v1/entry-objections/report", headers=w.headers["county_admin"]))
    assert not set(w.demo_township_ids) & {t["township_id"] for t in report["townships"]}
    await _refused_roles(client, w, "GET", "/api/v1/entry-objections/report", ("county_admin", "township_admin"))


async def check_county_chart(client, w: World) -> None:
    url = "/api/v1/county/charts/grade-distribution.svg"
    names = [r["name"] for r in await fetch("SELECT name FROM township WHERE id = ANY({})", w.demo_township_ids)]
    mine = await client.get(url, headers=w.headers["county_admin"])
    assert mine.status_code == 200 and not any(n in mine.text for n in names), mine.text[:300]
    rated = [r["name"] for r in await fetch("SELECT DISTINCT t.name FROM standing_household s JOIN township t "
                                             "ON t.id = s.township_id WHERE t.id = ANY({})", w.demo_township_ids)]
    theirs = await client.get(url, headers=w.headers["demo_county_admin"])
    assert theirs.status_code == 200 and all(n in theirs.text for n in rated)
    await _refused_roles(client, w, "GET", url, ("county_admin",))


async def check_village_rule_limits(client, w: World) -> None:
    """Limits are county configuration: county X's admin never sees the demo county's."""
    demo = await _ids(client, "/api/v1/village-rule-limits", w.headers["demo_county_admin"])
    theirs = await _ids(client, "/api/v1/village-rule-limits", w.headers["county_admin"])
    assert demo and theirs and not demo & theirs
    await _refused_roles(client, w, "GET", "/api/v1/village-rule-limits",
                         ("county_admin", "auditor", "township_admin", "grid_worker"))


async def check_village_rule_versions(client, w: World) -> None:
    readers = ("county_admin", "township_admin", "grid_worker", "villager")
    for role in readers:
        for params in ({}, {"village_id": w.far.village}, {"status": "approved"}):
            listed = {v["id"] for v in await _ok(await client.get("/api/v1/village-rule-versions",
                                                                  headers=w.headers[role], params=params))}
            assert w.far_rule_version not in listed, (role, params)
    own = {v["id"] for v in await _ok(await client.get("/api/v1/village-rule-versions",
                                                       headers=w.headers["demo_county_admin"]))}
    assert w.far_rule_version in own
    await _refused_roles(client, w, "GET", "/api/v1/village-rule-versions", readers)


async def check_body_subjects(client, w: World) -> None:
    """Runs the routes whose body names the subject (see ``test_subjects_named_in_bodies_are_scoped``)."""
    await body_subject_checks(client, w)


async def check_finalize(client, w: World) -> None:
    before = await snapshot(client)
    assert (await _ok(await client.post("/api/v1/ratings/finalize", headers=w.headers["county_admin"]))) == {
        "effective": 0}
    after = await snapshot(client)
    assert not changed(before, after), changed(before, after)
    await _refused_roles(client, w, "POST", "/api/v1/ratings/finalize", ("county_admin",))


async def check_public(client, w: World) -> None:
    for url in ("/healthz", "/api/v1/catalogue/versions", "/catalogue"):
        assert (await client.get(url)).status_code == 200, url


async def check_admin_mount(client, w: World) -> None:
    """piccolo-admin has its own login (county staff): without one its API answers nothing."""
    client.cookies.clear()  # the shared client may still hold another test's admin session
    for url in ("/admin/api/tables/", "/admin/api/tables/person/", "/admin/api/tables/household/"):
        for role in ("anonymous", "township_admin"):  # an API token is not an admin session
            response = await client.get(url, headers=w.headers[role])
            assert response.status_code in (401, 403, 302, 307), (url, role, response.status_code, response.text[:200])


NO_SUBJECT: dict[tuple[str, str], NoSubject] = {
    ("GET", "/.well-known/jwks.json"): NoSubject("public", "public signing keys: no personal data"),
    ("GET", "/api/v1/consent/notices"): NoSubject("list", "notice texts of the caller's county: no personal data",
                                                  check_consent_notices),
    ("POST", "/api/v1/consent/notices"): NoSubject("list", "a new notice version in the caller's county: no personal data"),
    ("GET", "/api/v1/consent/recipients"): NoSubject("list", "recipients (banks, offices) of the caller's county"),
    ("POST", "/api/v1/consent/recipients"): NoSubject("list", "a new recipient in the caller's county"),
    ("GET", "/api/v1/consents"): NoSubject("list", "consents filtered by the caller's jurisdiction (backend.consent.services)",
                                           check_consents),
    ("GET", "/api/v1/me/consents"): NoSubject("self", "the villager's own consents (person and household from the token)"),
    ("POST", "/api/v1/me/consents"): NoSubject("self", "the villager grants consent for themselves or their own household"),
    ("GET", "/healthz"): NoSubject("public", "liveness: no data", check_public),
    ("GET", "/readyz"): NoSubject("public", "readiness of the database and Redis: no data"),
    ("POST", "/api/v1/auth/login"): NoSubject("public", "password login: exchanges credentials for the caller's own token"),
    ("POST", "/api/v1/auth/refresh"): NoSubject("public", "refresh: the caller's own session"),
    ("POST", "/api/v1/auth/token"): NoSubject("public", "bank client credentials: the caller's own token"),
    ("POST", "/api/v1/auth/logout"): NoSubject("self", "ends the caller's own session (tested in test_auth)"),
    ("GET", "/api/v1/auth/me"): NoSubject("self", "the caller's own role and jurisdiction"),
    ("GET", "/api/v1/me/points"): NoSubject("self", "the villager's own points (person from the token)"),
    ("GET", "/api/v1/me/roster"): NoSubject("list", "the grid worker's own grids from the token; others 403 "
                                                    "(tests/integration/test_phone_endpoints.py)"),
    ("GET", "/api/v1/me/catalogue"): NoSubject("public", "the catalogue in force in the caller's county: public information"),
    ("GET", "/m"): NoSubject("public", "the H5 app's page: no data (it logs in through the API)"),
    ("GET", "/m/assets/{file_path:path}"): NoSubject("public", "the H5 app's bundles: no data"),
    ("GET", "/m/sw.js"): NoSubject("public", "the H5 app's service worker (caches the app's files): no data"),
    ("HEAD", "/m/assets/{file_path:path}"): NoSubject("public", "the H5 app's bundles: no data"),
    ("GET", "/api/v1/me/access-log"): NoSubject("self", "reads of the villager's own data (person and household from the token)"),
    ("GET", "/api/v1/catalogue/versions"): NoSubject("public", "the catalogue is public information (art. 32)", check_public),
    ("GET", "/api/v1/catalogue/versions/{version:str}"): NoSubject("public", "one catalogue version: public"),
    ("GET", "/catalogue"): NoSubject("public", "the catalogue as a page: public", check_public),
    ("GET", "/schema"): NoSubject("public", "OpenAPI documentation"),
    ("GET", "/schema/openapi.json"): NoSubject("public", "OpenAPI documentation"),
    ("GET", "/schema/assets/{file_path:path}"): NoSubject("public", "the API documentation's own scripts and styles"),
    ("HEAD", "/schema/assets/{file_path:path}"): NoSubject("public", "the API documentation's own scripts and styles"),
    ("GET", "/schema/swagger"): NoSubject("public", "OpenAPI documentation"),
    ("GET", "/schema/oauth2-redirect.html"): NoSubject("public", "OpenAPI documentation"),
    ("GET", "/schema/{path:str}"): NoSubject("public", "OpenAPI documentation (unknown renderer: 404)"),
    ("GET", "/api/v1/townships"): NoSubject("list", "structure filtered by covers_structure; the foreign township is absent", check_townships),
    ("GET", "/api/v1/households"): NoSubject("list", "filtered by household_filter_sql; the foreign household is absent, and filtering by a foreign grid or village is empty", check_households),
    ("GET", "/api/v1/events/mine"): NoSubject("list", "events the caller recorded; others' events are absent", check_my_events),
    ("GET", "/api/v1/review/events"): NoSubject("list", "the reviewer's township (county); the foreign pending event is absent", check_review_queue),
    ("GET", "/api/v1/audit/access-log"): NoSubject("list", "the log of the caller's county; rows about another county's household are absent", check_audit_log),
    ("GET", "/api/v1/ratings/periods"): NoSubject("list", "periods of the caller's county; the other county's period is absent", check_periods),
    ("GET", "/api/v1/ratings/objections"): NoSubject("list", "filtered by household_filter_sql; the foreign objection is absent", check_objections),
    ("GET", "/api/v1/county/charts/grade-distribution.svg"): NoSubject("list", "aggregate of the caller's county; another county's townships are absent", check_county_chart),
    ("POST", "/api/v1/persons:lookup"): NoSubject("body", "the ID number in the body names the subject", check_body_subjects),
    # Banks (backend.bank): products are county records; a pull names its household in the body.
    ("GET", "/api/v1/bank/products"): NoSubject("list", "products of the caller's county, or the bank's own", check_bank_products),
    ("POST", "/api/v1/bank/products"): NoSubject("body", "the bank (recipient_id) must be of the caller's county", check_body_subjects),
    ("POST", "/api/v1/bank/rating-pulls"): NoSubject("body", "the head's ID number in the body names the household", check_body_subjects),
    ("GET", "/api/v1/bank/rating-pulls"): NoSubject("list", "the bank's own pulls, or the county's (household_filter_sql)", check_bank_pulls),
    # Measures (backend.measures): county records.
    ("GET", "/api/v1/measures"): NoSubject("list", "the caller's county's measures", check_measures),
    ("POST", "/api/v1/measures"): NoSubject("county", "a new measure in the caller's county (from the token)"),
    ("GET", "/api/v1/eligibility-lists"): NoSubject("list", "the caller's county's lists", check_eligibility_lists),
    # Entry objections (backend.objections): the entry is named in the body.
    ("GET", "/api/v1/entry-objections"): NoSubject("list", "objections the caller may see (scope.covers)", check_entry_objections),
    # Credit repair (backend.repair): the entry is named in the body or the query.
    ("GET", "/api/v1/repairs"): NoSubject("list", "repair applications the caller may see (scope.covers)", check_repairs),
    ("GET", "/api/v1/repairs/requirements"): NoSubject("query", "entry_id in the query names the entry",
                                                       check_repair_requirements),
    ("POST", "/api/v1/repairs"): NoSubject("body", "entry_id in the body names the entry", check_body_subjects),
    ("POST", "/api/v1/repairs/paper"): NoSubject("body", "entry_id in the body names the entry", check_body_subjects),
    ("POST", "/api/v1/entry-objections"): NoSubject("body", "entry_id/event_id in the body name the entry", check_body_subjects),
    ("POST", "/api/v1/entry-objections/paper"): NoSubject("body", "entry_id/event_id in the body name the entry", check_body_subjects),
    ("GET", "/api/v1/entry-objections/report"): NoSubject("county", "on-time rates of the caller's township or county", check_objection_report),
    ("GET", "/api/v1/entry-objections/report.svg"): NoSubject("county", "the same report as a chart (same query)"),
    ("GET", "/api/v1/entry-objections/report.xlsx"): NoSubject("county", "the same report as Excel (same query)"),
    # Webhooks (backend.webhooks): county records.
    ("GET", "/api/v1/webhooks/event-types"): NoSubject("public", "the event catalogue: no personal data (county admins)"),
    ("GET", "/api/v1/webhooks/endpoints"): NoSubject("list", "the caller's county's endpoints", check_webhook_endpoints),
    ("POST", "/api/v1/webhooks/endpoints"): NoSubject("body", "recipient_id must be of the caller's county", check_body_subjects),
    # Feeds (backend.feeds): sources are county records; the queue a township's list.
    ("POST", "/api/v1/feeds/inbound/{source_code:str}/records"): NoSubject(
        "public", "a neighbouring system's signed records: authenticated by its HMAC signature, not a role"),
    ("GET", "/api/v1/feeds/sources"): NoSubject("list", "the caller's county's feed sources", check_feed_sources),
    ("POST", "/api/v1/feeds/sources"): NoSubject("county", "a new source in the caller's county (from the token)"),
    ("GET", "/api/v1/feeds/queue"): NoSubject("list", "records held by the caller's township or county", check_feed_queue),
    # Party and grid work (backend.fieldwork): the branch, grid and attendees are named in the body.
    ("POST", "/api/v1/party-activities"): NoSubject("body", "branch_id and attendee_person_ids name the subjects", check_body_subjects),
    ("POST", "/api/v1/patrol-reports"): NoSubject("body", "grid_id and each finding's subject name the subjects", check_body_subjects),
    ("GET", "/api/v1/grid-worker-work"): NoSubject("list", "the caller's grid workers (or their own row)", check_grid_worker_work),
    ("GET", "/api/v1/grid-worker-work/chart.svg"): NoSubject("list", "the same table as a chart (same query)"),
    ("GET", "/api/v1/grid-worker-work/table.xlsx"): NoSubject("list", "the same table as Excel (same query)"),
    # Data quality (backend.quality): counts and lists of the caller's township or county (scope.area_filter_sql).
    ("GET", "/api/v1/quality"): NoSubject("county", "the six counts of the caller's area: no person named"),
    ("GET", "/api/v1/quality/trend"): NoSubject("county", "the six counts per week: no person named"),
    ("GET", "/api/v1/quality/trend.svg"): NoSubject("county", "the same trend as a chart (same query)"),
    ("GET", "/api/v1/quality/{check:str}"): NoSubject("list", "one check's rows in the caller's area (check: a name, not a subject)", check_quality),
    ("GET", "/api/v1/quality/{check:str}/table.xlsx"): NoSubject("list", "the same list as Excel (same query)"),
    # Credit commitments (backend.commitments): the subject is named in the body; templates are county records.
    ("GET", "/api/v1/commitment-templates"): NoSubject("list", "templates of the caller's county: no personal data", check_commitment_templates),
    ("POST", "/api/v1/commitment-templates"): NoSubject("county", "a new template in the caller's county (from the token)"),
    ("GET", "/api/v1/commitments"): NoSubject("list", "commitments the caller may see (scope.covers)", check_commitments),
    ("POST", "/api/v1/commitments"): NoSubject("body", "subject_kind/subject_id in the body name the subject", check_body_subjects),
    ("POST", "/api/v1/commitments/paper"): NoSubject("body", "subject_kind/subject_id in the body name the subject", check_body_subjects),
    # County catalogue versions (backend.catalogue): uploads are county records; publishing another county's is 404.
    ("GET", "/api/v1/county-catalogue/versions"): NoSubject("list", "the caller's county's uploads", check_catalogue_uploads),
    ("POST", "/api/v1/county-catalogue/versions"): NoSubject("county", "a draft of the caller's county (from the token): no personal data"),
    # History import (backend.history): runs are county records; each row's person must be in the caller's county.
    ("GET", "/api/v1/event-imports"): NoSubject("list", "the caller's county's import runs", check_event_imports),
    ("POST", "/api/v1/event-imports"): NoSubject(
        "body", "rows name people by ID number: another county's is an unknown row", check_event_import_rows),
    ("GET", "/api/v1/event-imports/template.xlsx"): NoSubject("public", "an empty template: no personal data (county admins)"),
    # The semi-annual report (backend.reports): runs are county records of aggregates (no person named).
    ("GET", "/api/v1/reports/semi-annual"): NoSubject("list", "the caller's county's report runs", check_report_runs),
    ("POST", "/api/v1/reports/semi-annual"): NoSubject("county", "the caller's own county's report (from the token)",
                                                      check_report_request),
    # The honour roll (backend.honour): public; persons only under consent (tests/integration/honour).
    ("GET", "/api/v1/public/honour-roll"): NoSubject("public", "positive information; persons only under their active honour_roll consent"),
    ("GET", "/honour-roll"): NoSubject("public", "the honour roll as a page (the same data)"),
    ("POST", "/api/v1/events"): NoSubject("body", "subject_kind/subject_id in the body name the subject", check_body_subjects),
    ("POST", "/api/v1/events:batch"): NoSubject("body", "each event in the body names its subject", check_body_subjects),
    ("POST", "/api/v1/review/events:decide"): NoSubject("body", "event_ids and exceptions in the body name the events", check_body_subjects),
    ("POST", "/api/v1/ratings/recompute"): NoSubject("body", "the caller's county, or the township named in the query", check_body_subjects),
    ("POST", "/api/v1/ratings/finalize"): NoSubject("county", "the caller's own county only: nothing elsewhere changes", check_finalize),
    ("POST", "/api/v1/ratings/periods"): NoSubject("county", "creates a period in the caller's own county (the county comes from the token)"),
    # Village rules (backend.village_rules): limits are county records; a version names its village, a
    # village entry its subject, in the body.
    ("GET", "/api/v1/village-rule-limits"): NoSubject("list", "the caller's county's limits: no personal data", check_village_rule_limits),
    ("POST", "/api/v1/village-rule-limits"): NoSubject("county", "new limits of the caller's county (from the token)"),
    ("GET", "/api/v1/village-rule-versions"): NoSubject("list", "versions of the caller's township or county; approved ones of the caller's villages", check_village_rule_versions),
    ("POST", "/api/v1/village-rule-versions"): NoSubject("body", "village_id in the body names the village", check_body_subjects),
    ("POST", "/api/v1/village-points"): NoSubject("body", "subject_kind/subject_id in the body name the subject", check_body_subjects),
    # Notifications (backend.notifications): the villager's own inbox; the county's delivery log.
    ("GET", "/api/v1/me/notices"): NoSubject("self", "the villager's own notices (person from the token)"),
    ("POST", "/api/v1/me/notices/read-all"): NoSubject("self", "marks the villager's own notices read (person from the token)"),
    ("GET", "/api/v1/me/notices/deliveries"): NoSubject("self", "what was sent about the villager (person from the token)"),
    ("GET", "/api/v1/notices/deliveries"): NoSubject("list", "the caller's county's delivery log (county admins, auditors; "
                                                             "tests/integration/notifications)"),
    ("GET", "/api/v1/me/village-points"): NoSubject("self", "the villager's own village points (person from the token)"),
    ("POST", "/api/v1/evidence"): NoSubject("county", "an unattached photo only its uploader sees until linked to the uploader's own event (link_evidence checks uploaded_by)"),
}
MOUNTS: dict[str, NoSubject] = {
    "/admin": NoSubject("public", "piccolo-admin: its own session login, county staff only", check_admin_mount),
}


# --- routes with a subject in the body, or a second subject in a body ------------------------------------------------


async def _last_access_log_id() -> int:
    return (await fetch("SELECT coalesce(max(id), 0) AS n FROM access_log"))[0]["n"]


async def body_subject_checks(client, w: World) -> None:
    failures: list[str] = []

    async def refused(label: str, role: str, method: str, url: str, body: dict | None, codes: set[str],
                      status: int = 404, **params) -> dict | None:
        before, last_read = await snapshot(client), await _last_access_log_id()
        response = await send(client, method, url, w.headers[role], body, **params)
        after = await snapshot(client)
        # A refusal writes nothing, not even an access-log row (a registry change checks both its
        # subjects before it logs a read: scope.authorize_reads). A refused bank pull is the one
        # exception: it is recorded (bank_rating_pull and its security event), and about no household.
        wrote = changed(before, after)
        if label.startswith("POST /api/v1/bank/rating-pulls"):
            wrote = [c for c in wrote if not c.startswith(("bank_rating_pull:", "security_event:"))]
            leaked = await fetch("SELECT id FROM bank_rating_pull WHERE household_id IS NOT NULL AND id > "
                                 "(SELECT coalesce(max(id), 0) - 1 FROM bank_rating_pull)")
            wrote += [f"bank_rating_pull names a household: {leaked}"] if leaked else []
        about_foreign = await fetch("SELECT id, subject_kind, subject_id FROM access_log WHERE id > {}", last_read)
        if wrote or about_foreign:
            failures.append(f"{label} [{role}]: wrote {wrote} {about_foreign}")
        if response.status_code != status or (status >= 400 and response.json().get("code") not in codes):
            failures.append(f"{label} [{role}]: {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    loggers = ("county_admin", "township_admin", "grid_worker")
    for role in loggers:
        s = w.subjects_of(role)
        for kind, subject in (("person", s.person), ("household", s.household),
                              ("organisation", w.far_organisation)):
            await refused(f"POST /api/v1/events {kind}", role, "POST", "/api/v1/events",
                          _event_body(kind, subject), {"NOT_FOUND"})
            out = await refused(f"POST /api/v1/events:batch {kind}", role, "POST", "/api/v1/events:batch",
                                {"events": [_event_body(kind, subject)]}, set(), status=200)
            if out is not None and (out["created"], [r["error"] and r["error"]["code"] for r in out["results"]]) != (
                    0, ["NOT_FOUND"]):
                failures.append(f"POST /api/v1/events:batch {kind} [{role}]: {out}")
    for role in ("county_admin", "township_admin"):
        s = w.subjects_of(role)
        out = await refused("POST /api/v1/review/events:decide", role, "POST", "/api/v1/review/events:decide",
                            {"event_ids": [s.pending_event],
                             "exceptions": [{"event_id": s.counted_event, "action": "reject", "reason": "不符"}]},
                            set(), status=200)
        if out is not None and ([r["error"] and r["error"]["code"] for r in out["results"]], out["approved"],
                                out["rejected"]) != (["NOT_FOUND", "NOT_FOUND"], 0, 0):
            failures.append(f"POST /api/v1/review/events:decide [{role}]: {out}")
        # a period of the caller's own county, with a foreign proposal among the exceptions
        if role == "township_admin":
            await refused("POST approvals (foreign exception)", role, "POST",
                          f"/api/v1/ratings/periods/{w.demo_period}/approvals",
                          {"level": "household", "exceptions": [{"proposal_id": w.far.proposal, "action": "return",
                                                                 "reason": "退回"}]},
                          {"RATINGS_PROPOSAL_NOT_FOUND"})
        own = w.own(role)
        await refused("POST members (foreign person)", role, "POST", f"/api/v1/households/{own['household']}/members",
                      {"person_id": s.person, "relation": "其他", "valid_from": TODAY.isoformat(), "reason": "迁入"},
                      {"NOT_FOUND"})
        await refused("POST residence (foreign grid)", role, "POST", f"/api/v1/households/{own['household']}/residence",
                      {"grid_id": s.grid, "address": "新址1号", "valid_from": TODAY.isoformat(), "reason": "搬迁"},
                      {"REGISTRY_GRID_NOT_FOUND"})
    await refused("POST /api/v1/ratings/recompute", "county_admin", "POST", "/api/v1/ratings/recompute", None,
                  {"NOT_FOUND"}, township_id=w.far.township)

    unregistered = await _unused_id_number(w.far.id_number)
    for role in ("county_admin", "township_admin", "grid_worker", "villager"):
        s = w.subjects_of(role)
        out = await refused("POST /api/v1/persons:lookup", role, "POST", "/api/v1/persons:lookup",
                            {"id_number": s.id_number}, {"NOT_FOUND"})
        missing = await send(client, "POST", "/api/v1/persons:lookup", w.headers[role], {"id_number": unregistered})
        if out is not None and missing.json() != out:
            failures.append(f"POST /api/v1/persons:lookup [{role}]: unregistered and foreign answer differently")
    for role in ("auditor", "bank", "anonymous"):
        await refused("POST /api/v1/persons:lookup", role, "POST", "/api/v1/persons:lookup",
                      {"id_number": w.far.id_number}, {"AUTH_REQUIRED", "PERMISSION_DENIED"},
                      status=401 if role == "anonymous" else 403)

    # Entry objections name their entry in the body: a villager's neighbour's, a grid worker's
    # outside their grids.
    await refused("POST /api/v1/entry-objections", "villager", "POST", "/api/v1/entry-objections",
                  {"entry_id": w.home.entry, "reason": "记录有误"}, {"NOT_FOUND"})
    await refused("POST /api/v1/entry-objections/paper", "grid_worker", "POST", "/api/v1/entry-objections/paper",
                  {"entry_id": w.near.entry, "reason": "记录有误", "signed_on": TODAY.isoformat(),
                   "form_evidence_id": w.consent["paper_evidence"]}, {"NOT_FOUND"})
    # Repair applications name their entry in the body.
    await refused("POST /api/v1/repairs", "villager", "POST", "/api/v1/repairs",
                  {"entry_id": w.home.negative_entry, "route": "rectification", "corrected_on": TODAY.isoformat(),
                   "statement": "已纠正"}, {"NOT_FOUND"})
    await refused("POST /api/v1/repairs/paper", "grid_worker", "POST", "/api/v1/repairs/paper",
                  {"entry_id": w.near.negative_entry, "route": "rectification", "corrected_on": TODAY.isoformat(),
                   "statement": "已纠正", "signed_on": TODAY.isoformat(),
                   "form_evidence_id": w.consent["paper_evidence"]}, {"NOT_FOUND"})
    # Party activities and patrol reports name their branch or grid in the body.
    await refused("POST /api/v1/party-activities (foreign branch)", "township_admin", "POST", "/api/v1/party-activities",
                  _activity_body(w.far_branch, [w.far.member]), {"NOT_FOUND"})
    await refused("POST /api/v1/party-activities (foreign branch)", "grid_worker", "POST", "/api/v1/party-activities",
                  _activity_body(w.mid_branch, [w.near.member]), {"NOT_FOUND"})
    await refused("POST /api/v1/patrol-reports (foreign grid)", "grid_worker", "POST", "/api/v1/patrol-reports",
                  _patrol_body(w.near.grid, []), {"NOT_FOUND"})
    # Credit commitments name their subject in the body: a villager's neighbour, a household outside
    # the grid worker's grids, another township's household.
    template = (await fetch("SELECT id FROM commitment_template WHERE county_id = (SELECT county FROM township "
                            "WHERE id = {}) AND purpose = 'repair' AND active ORDER BY id LIMIT 1",
                            w.far.township))[0]["id"]
    await refused("POST /api/v1/commitments", "villager", "POST", "/api/v1/commitments",
                  {"idempotency_key": uuid.uuid4().hex, "template_id": template, "subject_kind": "household",
                   "subject_id": w.home.household}, {"NOT_FOUND"})
    for role in ("grid_worker", "township_admin"):
        await refused("POST /api/v1/commitments/paper", role, "POST", "/api/v1/commitments/paper",
                      {"idempotency_key": uuid.uuid4().hex, "template_id": template, "subject_kind": "household",
                       "subject_id": w.subjects_of(role).household, "signed_on": TODAY.isoformat(),
                       "paper_evidence_id": w.consent["paper_evidence"]}, {"NOT_FOUND"})
    # Village rules name their village, village points their subject, in the body.
    for role in ("township_admin",):
        await refused("POST /api/v1/village-rule-versions (foreign village)", role, "POST",
                      "/api/v1/village-rule-versions", {"village_id": w.far.village, "effective_from": TODAY.isoformat(),
                                                        "items": [_village_item(w.far_village_code)]}, {"NOT_FOUND"})
    for role in ("township_admin", "grid_worker"):
        s = w.subjects_of(role)
        for kind, subject in (("person", s.person), ("household", s.household)):
            await refused(f"POST /api/v1/village-points {kind}", role, "POST", "/api/v1/village-points",
                          {"idempotency_key": uuid.uuid4().hex, "subject_kind": kind, "subject_id": subject,
                           "item_code": f"V-{w.far_village_code}-YARD", "occurred_on": TODAY.isoformat()},
                          {"NOT_FOUND"})
    # County records named in a body: another county's bank, another county's recipient.
    x_bank = w.records["x"]["bank_recipient"]
    await refused("POST /api/v1/bank/products (foreign bank)", "demo_county_admin", "POST", "/api/v1/bank/products",
                  {"recipient_id": x_bank, "code": "RMFOREIGN", "name_zh": "外区产品", "purposes": ["credit_application"],
                   "data_scope": "grade", "rating_mandatory": True, "stale_days": 365, "failed_check_blocks": True},
                  {"BANK_RECIPIENT_UNKNOWN"}, status=422)
    await refused("POST /api/v1/webhooks/endpoints (foreign recipient)", "demo_county_admin", "POST",
                  "/api/v1/webhooks/endpoints", {"url": "http://127.0.0.1:9/x", "subscriber_zh": "外区订阅",
                                                 "event_types": ["consent.granted"], "recipient_id": x_bank},
                  {"WEBHOOK_RECIPIENT_UNKNOWN"}, status=422)
    # A bank names a household by its head's ID number: another county's household answers exactly
    # as an unregistered number does (no existence oracle), and discloses nothing.
    pulls = []
    for number in (w.x_id_number, unregistered):
        body = {"head_id_number": number, "product_code": w.demo_product_code, "purpose": "credit_application"}
        headers = {**w.headers["bank"], "Idempotency-Key": uuid.uuid4().hex}
        before, last_read = await snapshot(client), await _last_access_log_id()
        response = await client.post("/api/v1/bank/rating-pulls", headers=headers, json=body)
        if response.status_code != 403 or response.json().get("code") != "CONSENT_REQUIRED":
            failures.append(f"POST /api/v1/bank/rating-pulls: {response.status_code} {response.text[:200]}")
        if await fetch("SELECT id FROM access_log WHERE id > {}", last_read):
            failures.append("POST /api/v1/bank/rating-pulls: a refused pull wrote an access-log row")
        pulls.append({k: v for k, v in response.json().items() if k != "details"} | {
            "details": {k: v for k, v in response.json()["details"].items() if k != "pull_id"}})
    if pulls[0] != pulls[1]:
        failures.append(f"POST /api/v1/bank/rating-pulls: foreign and unregistered answer differently: {pulls}")
    assert not failures, "\n".join(failures)


# --- the tests ------------------------------------------------------------------------------------------------------


def _classify(app) -> tuple[list[Endpoint], list[str]]:
    """(endpoints with a subject in the path, problems)."""
    found, mounts = endpoints(app)
    subject, problems = [], []
    for e in found:
        if (e.method, e.path) in NO_SUBJECT:
            continue
        if not e.params:
            problems.append(f"{e}: no subject in its path and not classified in NO_SUBJECT "
                            "(a list, the caller's own data, public, or a subject named in the body?)")
            continue
        unknown = [p for p in e.params if p not in PARAM_KINDS]
        if unknown:
            problems.append(f"{e}: path parameter(s) {unknown} the matrix cannot fill with a foreign id "
                            "(add them to PARAM_KINDS and World.foreign)")
            continue
        model = e.data_model
        if model is not None and model not in BODIES:
            problems.append(f"{e}: request model {model!r} has no minimal body in BODIES")
            continue
        subject.append(e)
    declared = {(e.method, e.path) for e in found}
    problems += [f"NO_SUBJECT lists {m} {p}, which the app does not have" for m, p in NO_SUBJECT
                 if (m, p) not in declared]
    problems += [f"mounted app {m} is not classified in MOUNTS" for m in mounts if m not in MOUNTS]
    return subject, problems


async def test_every_route_is_classified(app_client):
    subject, problems = _classify(app_client.app)
    assert not problems, "\n".join(problems)
    assert len(subject) >= 35, [str(e) for e in subject]  # the matrix really covers the app


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_an_unclassified_route_fails_by_name():
    """The classification fails for a route nobody listed (the app here is a throwaway one)."""
    from litestar import Litestar, get

    @get("/api/v1/brand-new")
    async def brand_new() -> str:
        return ""

    @get("/api/v1/things/{thing_id:int}")
    async def thing(thing_id: int) -> str:
        return ""

    _, problems = _classify(Litestar(route_handlers=[brand_new, thing]))
    assert any(p.startswith("GET /api/v1/brand-new: no subject") for p in problems), problems
    assert any("GET /api/v1/things/{thing_id:int}: path parameter(s) ['thing_id']" in p for p in problems), problems


async def test_foreign_subjects_are_refused_on_every_route(app_client, world):
    """Every route × role: a foreign id answers exactly as a missing one, and nothing is written."""
    subject, problems = _classify(app_client.app)
    assert not problems, "\n".join(problems)
    failures = []
    missing_ids = {name: MISSING for name in PARAM_KINDS}
    for e in subject:
        before = await snapshot(app_client)
        for role in ROLES:
            body_factory = BODIES.get(e.data_model) if e.data_model else None
            response = await send(app_client, e.method, e.url(world.foreign(role)), world.headers[role],
                                  body_factory(world, role) if body_factory else None)
            missing = await send(app_client, e.method, e.url(missing_ids), world.headers[role],
                                 body_factory(world, role) if body_factory else None)
            problem = refusal_problem(e, role, response, missing)
            if problem:
                failures.append(f"{e} [{role}, {e.url(world.foreign(role))}]: {problem}")
        after = await snapshot(app_client)
        if changed(before, after):
            failures.append(f"{e}: a refused request wrote {changed(before, after)}")
    assert not failures, f"{len(failures)} scope failures:\n" + "\n".join(failures)


async def test_the_same_ids_answer_their_own_jurisdiction(app_client, world):
    """Positive control: every GET with a subject in its path answers 200 to the demo county admin for
    the FAR ids — the ids the matrix sends are real, readable, and refused only for being foreign."""
    subject, _ = _classify(app_client.app)
    params = {**world.foreign("township_admin"), "period_id": world.demo_period, "notice_id": world.consent["notice"],
              **world.records["demo"]}
    failures = []
    for e in (e for e in subject if e.method == "GET"):
        response = await app_client.get(e.url(params), headers=world.headers["demo_county_admin"])
        if response.status_code != 200:
            failures.append(f"{e} {e.url(params)}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role,subjects,status", [
    ("township_admin2", "far", 200), ("township_admin", "near", 200), ("township_admin", "far", 404),
    ("grid_worker", "home", 200), ("grid_worker", "near", 404), ("villager", "home", 404),
])
async def test_a_sample_of_same_jurisdiction_reads(app_client, tokens, world, role, subjects, status):
    s = getattr(world, subjects)
    headers = await tokens(role)
    for url in (f"/api/v1/households/{s.household}", f"/api/v1/persons/{s.person}/points",
                f"/api/v1/households/{s.household}/rating"):
        response = await app_client.get(url, headers=headers)
        assert response.status_code == status, (url, response.text)


async def test_own_household_for_the_villager(app_client, tokens, world):
    me = await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens("villager")))
    for url in (f"/api/v1/households/{me['household_id']}", f"/api/v1/households/{me['household_id']}/points",
                f"/api/v1/persons/{me['person_id']}"):
        assert (await app_client.get(url, headers=await tokens("villager"))).status_code == 200, url


@pytest.mark.parametrize("route", [k for k, v in NO_SUBJECT.items() if v.check is not None and
                                   v.check is not check_body_subjects], ids=lambda k: f"{k[0]} {k[1]}")
async def test_routes_without_a_subject(app_client, world, route):
    await NO_SUBJECT[route].check(app_client, world)


async def test_admin_mount(app_client, world):
    await MOUNTS["/admin"].check(app_client, world)


async def test_subjects_named_in_bodies_are_scoped(app_client, world):
    """Events, batches, bulk review, ID-number lookup, recompute's township, and the second subject a
    registry change or an approval names: a foreign one is refused and nothing is written."""
    await body_subject_checks(app_client, world)


async def test_a_township_admin_lists_only_their_township_in_their_county_period(app_client, world):
    """The demo period is the township admin's county's: its proposals are a list, filtered to the township."""
    headers = world.headers["township_admin"]
    url = f"/api/v1/ratings/periods/{world.demo_period}/proposals"
    ids, total = await _pages(app_client, url, headers)
    assert total > 0 and world.far.proposal not in ids and world.near.proposal in ids
    _, total = await _pages(app_client, url, headers, village_id=world.far.village)
    assert total == 0


@pytest.mark.parametrize("role", ["county_admin", "township_admin"])
async def test_another_countys_period_is_not_found(app_client, world, role):
    """Found by the matrix: a period of another county answered 200 (an empty page, "0 approved")
    where a missing one answers 404 — an oracle for other counties' periods. Periods are now
    county records in scope.covers_county."""
    period = world.foreign(role)["period_id"]
    for method, path, body in (("GET", "/proposals", None), ("POST", "/approvals", {"level": "household"})):
        foreign = await send(app_client, method, f"/api/v1/ratings/periods/{period}{path}", world.headers[role], body)
        missing = await send(app_client, method, f"/api/v1/ratings/periods/{MISSING}{path}", world.headers[role], body)
        assert foreign.status_code == 404 and foreign.content == missing.content, (path, foreign.text)
    own = await app_client.get(f"/api/v1/ratings/periods/{world.x['period'] if role == 'county_admin' else world.demo_period}"
                               "/proposals", headers=world.headers[role])
    assert own.status_code == 200, own.text
