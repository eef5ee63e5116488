"""Credit-repair request and response models (hand-written pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from backend.schemas import BigIdField, IntIdField, RequestModel
from points_rules.repair import ROUTE_DOCUMENTS

PHOTO_DOCUMENTS = tuple(sorted({name for names in ROUTE_DOCUMENTS.values() for name in names} - {"commitment_id"}))
ROUTE_PATTERN = "^(commitment|rectification|training|public_interest)$"


class Documents(RequestModel):
    """Photo ids per document (the uploader's own, unused uploads: ``POST /api/v1/evidence``). Which a
    route needs: ``GET /api/v1/repairs/requirements``."""

    correction_photo_ids: list[BigIdField] = Field(default_factory=list, max_length=9,
                                                   description="proof the behaviour is corrected (receipt, court notice)")
    rectification_photo_ids: list[BigIdField] = Field(default_factory=list, max_length=9)
    training_certificate_photo_ids: list[BigIdField] = Field(default_factory=list, max_length=9)
    activity_photo_ids: list[BigIdField] = Field(default_factory=list, max_length=9)

    def photo_ids(self) -> list[int]:
        return [i for name in PHOTO_DOCUMENTS for i in getattr(self, name)]

    def given(self) -> dict[str, list[int]]:
        return {name: list(getattr(self, name)) for name in PHOTO_DOCUMENTS if getattr(self, name)}


class _Application(RequestModel):
    entry_id: BigIdField = Field(description="the negative ledger entry (an original) to repair")
    route: str = Field(pattern=ROUTE_PATTERN, description="commitment | rectification | training | public_interest")
    corrected_on: date = Field(description="the day the behaviour was corrected (e.g. paid in full); the "
                                           "replacement entry, where the catalogue names one, runs from it")
    statement: str = Field(min_length=2, max_length=2000, description="how the behaviour was corrected")
    commitment_id: IntIdField | None = Field(None, description="a signed 守信承诺 commitment (purpose repair) of the "
                                                           "subject: POST /api/v1/commitments")


class RepairFileIn(_Application):
    """信用修复 in the app: a villager for their own entry, or as head of household for the household's
    (or a member's). Villagers do not upload photos: the documents come from the grid worker or the
    township (``POST /api/v1/repairs/{id}/documents``); until then the application is incomplete and
    says what is missing."""


class PaperRepairIn(_Application):
    """A signed paper application the grid worker captures for a subject in their grids, with the
    photo of the form and the documents (their own unused uploads)."""

    signed_on: date = Field(description="the date written on the form")
    form_evidence_id: BigIdField
    documents: Documents = Field(default_factory=Documents)


class SupplementIn(RequestModel):
    """补正材料: documents added to an incomplete application (the grid worker of the subject, or the
    recording township). Given documents are added to those already there."""

    documents: Documents = Field(default_factory=Documents)
    commitment_id: IntIdField | None = None


class RepairDecisionIn(RequestModel):
    decision: str = Field(pattern="^(approve|refuse)$",
                          description="approve: the entry stops counting and the catalogue's replacement is "
                                      "recorded; refuse: it stands")
    reason: str = Field(min_length=2, max_length=2000, description="written reasons, shown to the subject")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if len(value.strip()) < 2:
            raise ValueError("reason must say something")
        return value


class MissingDocument(BaseModel):
    name: str
    name_zh: str


class RefusalOut(BaseModel):
    code: str
    field: str | None
    message_zh: str
    message_en: str


class ReplacementOut(BaseModel):
    item_code: str
    name_zh: str
    points: str
    validity_years: int | None


class RouteOut(BaseModel):
    route: str
    name_zh: str
    documents: list[MissingDocument]
    replaced_by: ReplacementOut | None = Field(description="what replaces the entry once repaired by this route; "
                                                           "null: it just stops counting")


class RequirementsOut(BaseModel):
    """Everything an applicant needs to know at once (一次性告知): whether the entry can be repaired now,
    every reason it cannot, and per route the documents and what replaces the entry."""

    entry_id: int
    event_id: int | None
    item_code: str
    item_name_zh: str
    severity: str = Field(description="minor | general | serious (the catalogue's)")
    display_ends_on: date | None = Field(description="the first day a repair may be asked")
    decision_working_days: int
    can_apply: bool
    refusals: list[RefusalOut]
    routes: list[RouteOut]


class RepairOut(BaseModel):
    id: int
    status: str = Field(description="incomplete | open | approved | refused | withdrawn")
    entry_id: int
    event_id: int
    subject_kind: str
    subject_id: int
    township_id: int = Field(description="the recording township, which decides")
    item_code: str
    severity: str
    display_ends_on: date
    route: str
    channel: str
    documents: dict
    commitment_id: int | None
    missing: list[MissingDocument] = Field(description="documents still missing, all of them (一次性告知)")
    corrected_on: date
    statement: str
    signed_on: date | None
    form_evidence_id: int | None
    filed_at: datetime
    complete_on: date | None
    decide_by: date | None
    warn_on: date | None
    due: str = Field(description="incomplete | open | due_soon | overdue | decided")
    escalated_at: datetime | None
    decided_at: datetime | None
    decided_on_time: bool | None
    decision_reason: str
    replacement_event_id: int | None
