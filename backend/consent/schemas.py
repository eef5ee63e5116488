"""Consent request/response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from backend.schemas import BigIdField, IntIdField, RequestModel
from points_rules.consent import DataScope, Purpose, RecipientKind, Status


class RecipientIn(RequestModel):
    kind: RecipientKind
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                      description="unique per kind in the county, e.g. a bank's client id")
    name_zh: str = Field(min_length=2, max_length=128, description="as the notice names it, e.g. 甘州区农村商业银行")
    bank_client_id: IntIdField | None = Field(default=None, description="a bank's API client in my county")


class NoticeRef(BaseModel):
    notice_id: int
    version: int
    purpose: Purpose


class RecipientOut(BaseModel):
    id: int
    kind: RecipientKind
    code: str
    name_zh: str
    bank_client_id: int | None
    active: bool
    current_notices: list[NoticeRef] = Field(description="the notice version a new consent must be given under, "
                                                         "per purpose")


class NoticeIn(RequestModel):
    recipient_kind: RecipientKind
    purpose: Purpose
    title_zh: str = Field(min_length=2, max_length=128)
    text_zh: str = Field(min_length=20, max_length=8000,
                         description="names the recipient as {recipient}, the purpose, method, data categories, "
                                     "retention and how to withdraw")
    consent_days: int = Field(ge=1, le=3650, description="how long a consent given under it lasts")


class NoticeOut(BaseModel):
    id: int
    recipient_kind: RecipientKind
    purpose: Purpose
    version: int
    title_zh: str
    text_zh: str = Field(description="the template; {recipient} stands for the recipient's name")
    text_sha256: str = Field(description="SHA-256 of the template's UTF-8 bytes (computed by the database)")
    consent_days: int
    created_at: datetime
    current: bool = Field(description="the newest version: consents under older ones no longer count")
    rendered_zh: str | None = Field(default=None, description="the exact text shown for ?recipient_id=")
    rendered_sha256: str | None = Field(default=None, description="SHA-256 of rendered_zh: stored on the consent")


class GrantIn(RequestModel):
    """A villager's own consent, in the app."""

    subject: Literal["person", "household"] = Field(description="myself, or my household (its head only)")
    recipient_id: IntIdField
    purpose: Purpose
    data_scope: DataScope
    notice_id: IntIdField = Field(description="the notice version shown to me")
    notice_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                                      description="rendered_sha256 of the text shown (checked when given)")


class PaperGrantIn(RequestModel):
    """A signed paper form, photographed (``POST /api/v1/evidence``) and captured by a grid worker."""

    recipient_id: IntIdField
    purpose: Purpose
    data_scope: DataScope
    notice_id: IntIdField = Field(description="the notice version printed on the form")
    signed_on: date = Field(description="the date on the paper: not in the future, not before the notice existed")
    evidence_id: BigIdField = Field(description="my own upload of the signed form")
    capacity: Literal["witness", "delegate"] = Field(
        description="witness: the subject (a household's head) signed; delegate: someone signed on their behalf")
    delegate_name: str = Field(default="", max_length=32, description="who signed on the subject's behalf")

    @model_validator(mode="after")
    def _delegate_named(self) -> "PaperGrantIn":
        if (self.capacity == "delegate") != bool(self.delegate_name.strip()):
            raise ValueError("delegate_name is required for a delegate and only for one")
        return self


class ConsentOut(BaseModel):
    """A grant with its status now, or a withdrawal (``action``)."""

    id: int
    action: Literal["grant", "withdraw"]
    withdraws: int | None = Field(description="the grant a withdrawal withdraws")
    status: Status | None = Field(description="for a grant: active / withdrawn / expired / superseded "
                                              "(a newer notice version needs fresh consent)")
    subject_kind: str
    subject_id: int
    person_id: int = Field(description="who gave it: the person, or the household's head")
    recipient_id: int
    recipient_kind: RecipientKind
    recipient_name_zh: str
    purpose: Purpose
    data_scope: DataScope
    notice_id: int
    notice_version: int
    notice_sha256: str = Field(description="SHA-256 of the exact text shown")
    signed_on: date
    recorded_at: datetime
    expires_on: date | None = Field(description="last day a grant counts")
    channel: Literal["app", "paper"]
    capacity: Literal["self", "witness", "delegate"]
    delegate_name: str
    recorded_by_role: str
    evidence_id: int | None
    withdrawn_by: int | None = Field(default=None, description="the withdrawal event, if any")
    withdrawn_at: datetime | None = None


class ReceiptOut(BaseModel):
    event_id: int
    jws: str = Field(description="compact ES256 JWS; verify with GET /.well-known/jwks.json (kid in the header)")
    typ: str
    kid: str
    bytes: int = Field(description="length of the JWS (what the QR code holds)")
    claims: dict = Field(description="the signed claims, decoded")
