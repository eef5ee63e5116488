"""Credit-commitment request and response models (hand-written pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from backend.schemas import BigIdField, IntIdField, RequestModel
from points_rules.commitments import MAX_TERM_MONTHS

PURPOSE_PATTERN = "^(repair|tolerance_acceptance|subsidy_claim|other)$"
KEY = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
            description="made by the client once per signing and re-sent unchanged on every retry")
TERM = Field(None, ge=1, le=MAX_TERM_MONTHS, description="months; default: the template's term")


class TemplateIn(RequestModel):
    """A new wording for one purpose in the caller's county (a county admin). Texts never change:
    a new wording is a new template; the old one may be withdrawn from signing in the back office."""

    purpose: str = Field(pattern=PURPOSE_PATTERN)
    title: str = Field(min_length=2, max_length=100)
    text: str = Field(min_length=10, max_length=4000)
    term_months: int = Field(12, ge=1, le=MAX_TERM_MONTHS, description="the default term of commitments signed from it")


class TemplateOut(BaseModel):
    id: int
    county_id: int
    purpose: str = Field(description="repair | tolerance_acceptance | subsidy_claim | other")
    purpose_name_zh: str
    title: str
    text: str
    text_sha256: str = Field(description="SHA-256 of the text: what a commitment records as signed")
    term_months: int
    active: bool = Field(description="offered for new signing")
    created_at: datetime


class SignIn(RequestModel):
    """信用承诺 in the app: a villager for themself (``person``, their own id) or, as head of
    household, for the household (``household``, its id)."""

    idempotency_key: str = KEY
    template_id: IntIdField
    subject_kind: str = Field(pattern="^(person|household)$")
    subject_id: IntIdField
    term_months: int | None = TERM


class PaperSignIn(RequestModel):
    """A commitment signed on paper, captured by the subject's grid worker (or a township admin,
    who alone reaches organisations) with the photo of the signed sheet — the capturer's own
    unused upload (``POST /api/v1/evidence``). The photo is required (422 without it)."""

    idempotency_key: str = KEY
    template_id: IntIdField
    subject_kind: str = Field(pattern="^(person|household|organisation)$")
    subject_id: IntIdField
    signed_on: date = Field(description="the date written on the sheet")
    term_months: int | None = TERM
    paper_evidence_id: BigIdField | None = Field(None, description="the photo of the signed sheet (required)")


class DecisionIn(RequestModel):
    outcome: str = Field(pattern="^(kept|broken)$",
                         description="kept (from the check date on) → COMMITMENT-KEPT; broken (as soon as "
                                     "verified, evidence required) → COMMITMENT-BROKEN")
    note: str = Field(min_length=2, max_length=2000, description="what was checked, shown to the subject")
    evidence_ids: list[BigIdField] = Field(default_factory=list, max_length=9,
                                           description="the decider's own unused photos; at least one for broken")


class CommitmentOut(BaseModel):
    id: int
    status: str = Field(description="signed | kept | broken")
    due: str = Field(description="running | due (check date reached, not decided) | decided (on the server's today)")
    purpose: str
    template_id: int
    title: str
    text_sha256: str = Field(description="the text signed")
    subject_kind: str
    subject_id: int
    household_id: int | None
    person_id: int | None
    township_id: int = Field(description="where the subject sat on signing: its township decides")
    signed_by_person_id: int | None = Field(description="who signed: the person, or the head for a household")
    channel: str = Field(description="app | paper")
    recorded_by_role: str
    paper_evidence_id: int | None
    signed_on: date
    term_months: int
    check_on: date = Field(description="the term's last day: kept may be decided from this day")
    created_at: datetime
    decided_at: datetime | None
    decided_on: date | None
    decision_note: str
    decision_evidence_ids: list[int]
    event_id: int | None = Field(description="the COMMITMENT-KEPT / COMMITMENT-BROKEN ledger event")
