"""信用承诺 — templates per purpose, signing (in the app or on paper), the township's due list, and
the once-only decision, kept or broken, that becomes a ledger event through the catalogue.

Who may do what:

- **templates** — any signed-in account of the county reads its templates (the wording is not
  personal data; a villager reads it before signing); the county's admins add new wordings. The
  shipped defaults (``points_rules.commitments.DEFAULT_TEMPLATES``) are written for a county the
  first time its templates are read.
- **sign in the app** — a villager for themself, or as head of household (``consent.head_of``)
  for the household. **On paper** — the subject's grid worker (or a township admin covering it:
  organisations have no grid) captures the signed sheet with their own photo of it, required.
  Both once per client idempotency key.
- **see** — whoever ``scope.covers`` the commitment's subject as it sat on signing (the subject,
  their household, the grid, the township, the county), and whoever captured it; reads are logged.
- **decide** — an admin of that township, or of the county, once: kept from the check date on,
  broken as soon as verified, with evidence photos. The decision and its ledger event (recorded
  through ``ledger.services`` with the idempotency key ``commitment:{id}``, a broken one approved at
  once — the decision *is* the review, with its evidence) are one transaction: a retried or
  concurrent second decision is a 409 and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date

from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.commitments import tables as t
from backend.commitments.schemas import CommitmentOut, DecisionIn, PaperSignIn, SignIn, TemplateIn, TemplateOut
from backend.consent.services import head_of
from backend.db import fetch
from backend.evidence.uses import unusable
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.ledger import services as ledger
from backend.ledger.schemas import EventIn
from backend.ledger.tables import PENDING_REVIEW
from backend.schemas import Page
from points_rules import commitments as rules

logger = logging.getLogger("cunxin.commitments")

LOGGED_FIELDS = ("credit_commitment",)
PURPOSE = "credit_commitment"
PAPER_ROLES = (Role.GRID_WORKER, Role.TOWNSHIP_ADMIN)
DECIDERS = (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
READERS = (Role.VILLAGER, Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
DUE_FILTERS = ("running", "due", "decided")


# --- errors ------------------------------------------------------------------------------------------

DECIDED = Conflict("该承诺已作出履约认定", "The commitment has already been decided", code="COMMITMENT_DECIDED")
NOT_SIGNER = PermissionDenied("只有本人，或户主为本户，可以签署信用承诺",
                              "Only the subject themself, or the head of household for the household, may sign",
                              code="COMMITMENT_NOT_SIGNER")
TEMPLATE_UNKNOWN = InvalidInput("承诺书模板不存在或已停用", "Template unknown or withdrawn from signing",
                                code="COMMITMENT_TEMPLATE_UNKNOWN")
KEY_REUSED = Conflict("该幂等键已用于另一份不同的承诺", "Idempotency key already used for a different commitment",
                      code="COMMITMENT_IDEMPOTENCY_CONFLICT")
PAPER_INVALID = InvalidInput("纸质承诺信息不完整或不正确", "The paper commitment is incomplete or invalid",
                             code="COMMITMENT_PAPER_INVALID")
DECISION_INVALID = InvalidInput("现在不能作出该认定", "This decision cannot be taken now",
                                code="COMMITMENT_DECISION_INVALID")
NO_COUNTY = PermissionDenied("账户未关联县区", "The account belongs to no county", code="COMMITMENT_NO_COUNTY")

_PROBLEMS = {  # code → (zh, en): every problem of a request is listed at once
    "COMMITMENT_PHOTO_REQUIRED": ("纸质承诺须附签字承诺书照片", "A paper commitment needs the photo of the signed sheet"),
    "COMMITMENT_SIGNED_ON_FUTURE": ("签字日期不能晚于今天", "signed_on may not be in the future"),
    "COMMITMENT_SIGNED_ON_TOO_OLD": ("签字日期早于承诺期，承诺已到期", "signed_on is so old that the term is already over"),
    "EVIDENCE_UNKNOWN": ("证据照片不存在、已被使用或未通过检查", "Evidence unknown, already used, or rejected"),
    "COMMITMENT_NOT_SIGNED_YET": ("承诺尚未签署", "The commitment was not signed yet"),
    "COMMITMENT_NOT_DUE": ("承诺期未满，不能认定为履约", "Kept can be decided from the check date on"),
    "COMMITMENT_EVIDENCE_REQUIRED": ("认定违诺须附证据照片", "A broken commitment needs evidence photos"),
    "COMMITMENT_OUTCOME_UNKNOWN": ("认定结果不正确", "Unknown outcome"),
}


def _problems(error: CunxinError, problems: list[tuple[str, dict]]) -> CunxinError:
    return error.fresh(problems=[{"code": code, "message_zh": _PROBLEMS[code][0], "message_en": _PROBLEMS[code][1],
                                    **extra} for code, extra in problems])


# --- the credit-repair slice's question ----------------------------------------------------------------

_DICT_COLUMNS = ("id", "purpose", "status", "signed_on", "check_on", "subject_kind", "subject_id", "template_id",
                 "text_sha256", "channel", "term_months", "county_id", "township_id", "household_id", "person_id",
                 "signed_by_person_id", "decided_on", "event_id")


async def usable_commitment(commitment_id: int, *, subject_kind: str, subject_id: int,
                            purpose: str = "repair") -> dict | None:
    """The commitment as a dict (id, purpose, status, signed_on, check_on, subject_kind, subject_id,
    template_id, text_sha256, channel, term_months, county/township/household/person ids,
    signed_by_person_id, decided_on, event_id) if it exists, is of ``purpose``, belongs to that very
    subject (a household's serves the household, a person's the person) and is signed or kept — never
    broken; else ``None``. No scope check and no access log: the caller (e.g. a repair application)
    has already authorised its subject."""
    rows = await fetch(f"SELECT {', '.join(_DICT_COLUMNS)} FROM credit_commitment WHERE id = {{}}", commitment_id)
    if not rows or not rules.serves(rows[0], subject_kind=subject_kind, subject_id=subject_id, purpose=purpose):
        return None
    return rows[0]


# --- templates -----------------------------------------------------------------------------------------


async def county_of(actor: Actor) -> int:
    """The county whose templates the caller reads (``scope.actor_county``)."""
    county_id = await scope.actor_county(actor)
    if county_id is None:
        raise NO_COUNTY.fresh()
    return county_id


async def ensure_default_templates(county_id: int) -> int:
    """Write the shipped wording per purpose for a county that has no template of that purpose
    yet (once: serialised per county); returns how many were written."""
    written = 0
    async with engine_finder().transaction():
        await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"commitment_templates:{county_id}")
        have = {r["purpose"] for r in await fetch("SELECT DISTINCT purpose FROM commitment_template "
                                                  "WHERE county_id = {}", county_id)}
        for purpose in rules.PURPOSES:
            if purpose in have:
                continue
            default = rules.DEFAULT_TEMPLATES[purpose]
            await t.CommitmentTemplate.insert(t.CommitmentTemplate(
                county_id=county_id, purpose=purpose, title=default["title"], text=default["text"],
                term_months=default["term_months"], active=True, created_by=None, created_at=clock.now()))
            written += 1
    return written


def _template_out(row: dict) -> TemplateOut:
    return TemplateOut(id=row["id"], county_id=row["county_id"], purpose=row["purpose"],
                       purpose_name_zh=rules.PURPOSE_NAMES_ZH[row["purpose"]], title=row["title"], text=row["text"],
                       text_sha256=row["text_sha256"], term_months=row["term_months"], active=row["active"],
                       created_at=row["created_at"])


async def list_templates(actor: Actor, *, purpose: str | None = None) -> list[TemplateOut]:
    """The county's templates offered for signing (a county admin also sees withdrawn ones), by purpose."""
    county_id = await county_of(actor)
    if not await fetch("SELECT 1 FROM commitment_template WHERE county_id = {} LIMIT 1", county_id):
        await ensure_default_templates(county_id)
    clauses, args = ["county_id = {}"], [county_id]
    if purpose is not None:
        clauses.append("purpose = {}")
        args.append(purpose)
    if actor.role is not Role.COUNTY_ADMIN:
        clauses.append("active")
    rows = await fetch(f"SELECT * FROM commitment_template WHERE {' AND '.join(clauses)} ORDER BY purpose, id DESC",
                       *args)
    return [_template_out(r) for r in rows]


async def create_template(actor: Actor, data: TemplateIn) -> TemplateOut:
    """A new wording in the county admin's county (the database hashes the text)."""
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    row = (await t.CommitmentTemplate.insert(t.CommitmentTemplate(
        county_id=actor.county_id, purpose=data.purpose, title=data.title, text=data.text,
        term_months=data.term_months, active=True, created_by=actor.id, created_at=clock.now(),
    )).returning(t.CommitmentTemplate.id))[0]
    return _template_out((await fetch("SELECT * FROM commitment_template WHERE id = {}", row["id"]))[0])


async def _template(template_id: int, county_id: int) -> dict:
    rows = await fetch("SELECT * FROM commitment_template WHERE id = {} AND county_id = {} AND active",
                       template_id, county_id)
    if not rows:
        raise TEMPLATE_UNKNOWN.fresh(template_id=template_id)
    return rows[0]


# --- signing -------------------------------------------------------------------------------------------


def _payload_hash(data: SignIn | PaperSignIn) -> str:
    body = data.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def sign(actor: Actor, data: SignIn, *, request_id: str = "") -> CommitmentOut:
    """A villager signs in the app, for themself or as head for the household; signed today."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    where = await scope.authorize_write(actor, data.subject_kind, data.subject_id)
    if where.kind == scope.PERSON and where.person_id == actor.person_id:
        signer = actor.person_id
    elif where.kind == scope.HOUSEHOLD and await head_of(where.household_id) == actor.person_id:
        signer = actor.person_id
    else:
        raise NOT_SIGNER.fresh()
    template = await _template(data.template_id, where.county_id)
    commitment_id = await _insert(actor, data, where, template, channel=t.APP, signed_on=clock.today(),
                                  signer=signer, photo=None)
    return await _out(commitment_id)


async def sign_on_paper(actor: Actor, data: PaperSignIn, *, request_id: str = "") -> CommitmentOut:
    """A grid worker (or township admin) captures a signed paper commitment with the sheet's photo."""
    if actor.role not in PAPER_ROLES:
        raise PermissionDenied()
    where = await scope.authorize_write(actor, data.subject_kind, data.subject_id)
    template = await _template(data.template_id, where.county_id)
    term = data.term_months or template["term_months"]
    today = clock.today()
    problems: list[tuple[str, dict]] = []
    if data.paper_evidence_id is None:
        problems.append(("COMMITMENT_PHOTO_REQUIRED", {"field": "paper_evidence_id"}))
    if data.signed_on > today:
        problems.append(("COMMITMENT_SIGNED_ON_FUTURE", {"field": "signed_on"}))
    elif rules.check_date(data.signed_on, term) < today:
        problems.append(("COMMITMENT_SIGNED_ON_TOO_OLD", {"field": "signed_on"}))
    if problems:
        raise _problems(PAPER_INVALID, problems)
    if where.kind == scope.PERSON:
        signer = where.person_id
    elif where.kind == scope.HOUSEHOLD:
        signer = await head_of(where.household_id)
    else:
        signer = None  # an organisation signs through its representative, who is not in the registry
    commitment_id = await _insert(actor, data, where, template, channel=t.PAPER, signed_on=data.signed_on,
                                  signer=signer, photo=data.paper_evidence_id)
    return await _out(commitment_id)


async def _photo_free(actor: Actor, evidence_id: int) -> bool:
    """The capturer's own photo, not rejected and not used for anything else (``evidence.uses``)."""
    return not await unusable(actor.id, [evidence_id])


async def _insert(actor: Actor, data: SignIn | PaperSignIn, where: scope.Location, template: dict, *, channel: str,
                  signed_on: date, signer: int | None, photo: int | None) -> int:
    """Once per (recorder, idempotency key): a replay answers the same commitment, another payload
    under the key is a 409."""
    digest = _payload_hash(data)
    term = data.term_months or template["term_months"]
    async with engine_finder().transaction():
        await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"commitment:sign:{actor.id}:{data.idempotency_key}")
        existing = await fetch("SELECT id, payload_hash FROM credit_commitment WHERE recorded_by = {} "
                               "AND idempotency_key = {}", actor.id, data.idempotency_key)
        if existing:
            if existing[0]["payload_hash"] != digest:
                raise KEY_REUSED.fresh()
            return existing[0]["id"]
        if photo is not None and not await _photo_free(actor, photo):
            raise _problems(PAPER_INVALID, [("EVIDENCE_UNKNOWN", {"field": "paper_evidence_id",
                                                                  "evidence_ids": [photo]})])
        row = (await t.CreditCommitment.insert(t.CreditCommitment(
            county_id=where.county_id, township_id=where.township_id, village_id=where.village_id,
            grid_id=where.grid_id, household_id=where.household_id,
            person_id=where.person_id if where.kind == scope.PERSON else None,
            subject_kind=where.kind, subject_id=where.id, template_id=template["id"], purpose=template["purpose"],
            text_sha256=template["text_sha256"], signed_by_person_id=signer, recorded_by=actor.id,
            recorded_by_role=actor.role.value, idempotency_key=data.idempotency_key, payload_hash=digest,
            channel=channel, paper_evidence_id=photo, signed_on=signed_on, term_months=term,
            check_on=rules.check_date(signed_on, term), status=t.SIGNED, created_at=clock.now(),
        )).returning(t.CreditCommitment.id))[0]
    return row["id"]


# --- seeing --------------------------------------------------------------------------------------------


def _visible(actor: Actor, row: dict) -> bool:
    if actor.role not in READERS:
        return False
    if actor.kind == "account" and row["recorded_by"] == actor.id:
        return True
    return scope.covers(actor, scope.case_location(row))


_SELECT = """SELECT k.*, tp.title FROM credit_commitment k JOIN commitment_template tp ON tp.id = k.template_id"""


def _commitment_out(row: dict, today: date) -> CommitmentOut:
    evidence = row["decision_evidence_ids"]
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    return CommitmentOut(
        id=row["id"], status=row["status"],
        due=rules.check_state(today, decided=row["status"] != t.SIGNED, check_on=row["check_on"]),
        purpose=row["purpose"], template_id=row["template_id"], title=row["title"], text_sha256=row["text_sha256"],
        subject_kind=row["subject_kind"], subject_id=row["subject_id"], household_id=row["household_id"],
        person_id=row["person_id"], township_id=row["township_id"], signed_by_person_id=row["signed_by_person_id"],
        channel=row["channel"], recorded_by_role=row["recorded_by_role"], paper_evidence_id=row["paper_evidence_id"],
        signed_on=row["signed_on"], term_months=row["term_months"], check_on=row["check_on"],
        created_at=row["created_at"], decided_at=row["decided_at"], decided_on=row["decided_on"],
        decision_note=row["decision_note"], decision_evidence_ids=evidence, event_id=row["event_id"])


async def _out(commitment_id: int) -> CommitmentOut:
    return _commitment_out((await fetch(f"{_SELECT} WHERE k.id = {{}}", commitment_id))[0], clock.today())


async def _visible_row(actor: Actor, commitment_id: int) -> dict:
    rows = await fetch("SELECT * FROM credit_commitment WHERE id = {}", commitment_id)
    if not rows or not _visible(actor, rows[0]):
        raise NotFound()
    return rows[0]


async def get_commitment(actor: Actor, commitment_id: int, *, request_id: str = "") -> CommitmentOut:
    """One commitment, if I may see it (404 otherwise, as for one that does not exist); the read is logged."""
    row = await _visible_row(actor, commitment_id)
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    return await _out(commitment_id)


def _candidates_sql(actor: Actor) -> tuple[str, list]:
    """A coarse pre-filter (``scope.case_prefilter_sql``); ``scope.covers`` decides on each row."""
    found = scope.case_prefilter_sql(actor, "k", grid_worker_sql="(k.recorded_by = {} OR k.grid_id = ANY({}))",
                                     grid_worker_args=[actor.id, sorted(actor.grid_ids)])
    if found is None:
        raise PermissionDenied()
    return found


async def list_commitments(actor: Actor, *, status: str | None = None, due: str | None = None,
                           purpose: str | None = None, limit: int = 50, offset: int = 0,
                           request_id: str = "") -> Page[CommitmentOut]:
    """Commitments I may see, the soonest check date first. ``due``: ``due`` (the township's list:
    signed, check date reached, not decided), ``running``, ``decided``."""
    where, args = _candidates_sql(actor)
    clauses = [where]
    today = clock.today()
    if status is not None:
        clauses.append("k.status = {}")
        args = [*args, status]
    if purpose is not None:
        clauses.append("k.purpose = {}")
        args = [*args, purpose]
    if due == "due":
        clauses.append("k.status = 'signed' AND k.check_on <= {}")
        args = [*args, today]
    elif due == "running":
        clauses.append("k.status = 'signed' AND k.check_on > {}")
        args = [*args, today]
    elif due == "decided":
        clauses.append("k.status <> 'signed'")
    rows = await fetch(f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY k.status <> 'signed', k.check_on, k.id",
                       *args)
    rows = [r for r in rows if _visible(actor, r)]
    page = rows[offset:offset + limit]
    await scope.log_reads(actor, [scope.case_location(r) for r in page], fields=LOGGED_FIELDS, purpose=PURPOSE,
                          request_id=request_id)
    return Page[CommitmentOut](items=[_commitment_out(r, today) for r in page], total=len(rows), limit=limit,
                               offset=offset)


async def photo_visible(actor: Actor, evidence_id: int, *, purpose: str = "evidence_view", request_id: str = "") -> bool:
    """Whether ``actor`` may see this photo because it is the signed sheet of a paper commitment they
    may see — the read is then logged. For the evidence slice's ``_authorize_unlinked`` (as
    ``objections.photo_visible``): the township deciding a commitment must see the sheet."""
    rows = await fetch("SELECT * FROM credit_commitment WHERE paper_evidence_id = {}", evidence_id)
    seen = [r for r in rows if _visible(actor, r)]
    if not seen:
        return False
    await scope.log_reads(actor, [scope.case_location(seen[0])], fields=["evidence_photo", "credit_commitment"],
                          purpose=purpose, request_id=request_id)
    return True


# --- deciding ------------------------------------------------------------------------------------------


def _decider(actor: Actor, row: dict) -> bool:
    """The township the subject signed in, and the county (``scope.covers`` on that location)."""
    return actor.role in DECIDERS and scope.covers(actor, scope.case_location(row))


async def decide(actor: Actor, commitment_id: int, data: DecisionIn, *, request_id: str = "") -> CommitmentOut:
    """Kept or broken, once, with a note (and evidence; required for broken): the ledger event and
    the decision in one transaction."""
    if actor.role not in DECIDERS:
        raise PermissionDenied()
    row = await _visible_row(actor, commitment_id)
    if not _decider(actor, row):
        raise NotFound()
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    if row["status"] != t.SIGNED:
        raise DECIDED.fresh(status=row["status"])
    now = clock.now()
    today = clock.local_date(now)
    problems = rules.decision_problems(data.outcome, today=today, signed_on=row["signed_on"],
                                       check_on=row["check_on"], evidence_count=len(set(data.evidence_ids)))
    if problems:
        raise _problems(DECISION_INVALID, [(code, {}) for code in problems])
    item_code = rules.item_for(data.outcome)
    event = EventIn(idempotency_key=f"commitment:{commitment_id}", item_code=item_code,
                    subject_kind=row["subject_kind"], subject_id=row["subject_id"],
                    occurred_on=rules.event_date(data.outcome, decided_on=today, check_on=row["check_on"]),
                    note=f"第{commitment_id}号信用承诺：{data.note}"[:500], evidence_ids=sorted(set(data.evidence_ids)))
    async with engine_finder().transaction():
        locked = (await fetch("SELECT status FROM credit_commitment WHERE id = {} FOR UPDATE", commitment_id))[0]
        if locked["status"] != t.SIGNED:  # decided meanwhile
            raise DECIDED.fresh(status=locked["status"])
        recorded, _ = await ledger.record_event(actor, event, today=today)
        if recorded.status == PENDING_REVIEW:  # COMMITMENT-BROKEN needs review: this decision, with its evidence, is it
            await ledger.decide(actor, recorded.id, approve=True, reason=f"违背信用承诺经核实（第{commitment_id}号承诺）")
        await t.CreditCommitment.update({
            t.CreditCommitment.status: data.outcome, t.CreditCommitment.decided_by: actor.id,
            t.CreditCommitment.decided_at: now, t.CreditCommitment.decided_on: today,
            t.CreditCommitment.decision_evidence_ids: sorted(set(data.evidence_ids)),
            t.CreditCommitment.decision_note: data.note, t.CreditCommitment.event_id: recorded.id,
        }).where(t.CreditCommitment.id == commitment_id)
    await ledger.ledger_changed(row["subject_kind"], row["subject_id"])  # after the commit: recompute with it
    return await _out(commitment_id)


# --- the daily due list --------------------------------------------------------------------------------


async def due_by_township(today: date | None = None) -> dict[int, int]:
    """Signed commitments whose check date has come, per township: the township's list to decide."""
    today = today or clock.today()
    rows = await fetch("""SELECT township_id, count(*) AS n FROM credit_commitment
                          WHERE status = 'signed' AND check_on <= {} GROUP BY township_id ORDER BY township_id""", today)
    return {r["township_id"]: r["n"] for r in rows}
