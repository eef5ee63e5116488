"""Bank request/response models: products (county admins), rating pulls (bank clients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.schemas import IntIdField, RequestModel
from points_rules.consent import DataScope, Purpose

BANK_PURPOSES = "credit_application | credit_line_review"


class ProductIn(RequestModel):
    recipient_id: IntIdField = Field(description="the bank: a consent recipient of kind bank in my county, "
                                                 "linked to its API client")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="the bank's own product code, unique per bank")
    name_zh: str = Field(min_length=2, max_length=64, description="e.g. 农户小额信用贷款")
    purposes: list[Purpose] = Field(min_length=1, max_length=2, description=BANK_PURPOSES)
    data_scope: DataScope = Field(description="what a pull for it discloses: grade / grade_score / "
                                              "grade_score_entries (a consent must cover at least this)")
    rating_mandatory: bool = Field(description="a household without an effective rating fails the check")
    stale_days: int = Field(ge=1, le=3650, description="oldest rating accepted: days from its as-of date "
                                                       "(the period's end) to the pull")
    failed_check_blocks: bool = Field(description="true: a failed check is refused (4xx); false: answered 200 "
                                                  "with outcome check_failed and no rating data")


class ProductOut(BaseModel):
    id: int
    recipient_id: int
    bank_name_zh: str
    code: str
    name_zh: str
    purposes: list[str]
    data_scope: str
    rating_mandatory: bool
    stale_days: int
    failed_check_blocks: bool
    active: bool
    created_at: datetime


class PullIn(RequestModel):
    """A rating pull: the household by its head's resident ID number (matched through the keyed
    hash, never stored), the bank's product code and the purpose."""

    head_id_number: str = Field(min_length=15, max_length=20, description="户主身份证号 (18 characters)")
    product_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    purpose: Purpose = Field(description=BANK_PURPOSES)


class RatingOut(BaseModel):
    grade: str
    score: int | None = Field(default=None, description="only when the product's scope includes the score")
    is_credit_household: bool
    period_code: str
    as_of: str = Field(description="the period's end: the day the rating describes")
    catalogue_version: str
    approved_on: str | None
    publicity_starts_on: str | None
    publicity_ends_on: str | None
    effective_on: str | None


class AttestationOut(BaseModel):
    jws: str = Field(description="compact ES256 JWS, typ rating-attestation+jwt; verify with GET /.well-known/jwks.json")
    typ: str
    kid: str
    jti: str


class PullOut(BaseModel):
    """The answer to a pull (also the stored answer a replay returns)."""

    pull_id: int
    outcome: str = Field(description="rated (rating and attestation) | check_failed (a non-blocking product's "
                                     "failed check: no rating data)")
    code: str = Field(description="OK, or the failed check's code (RATING_STALE, RATING_UNDER_OBJECTION, "
                                  "RATING_NOT_AVAILABLE)")
    product_code: str
    purpose: str
    subject: str = Field(description="pseudonymous household id, stable for this bank only")
    consent_id: int
    data_scope: str
    rating: RatingOut | None
    attestation: AttestationOut | None
    claims: dict[str, Any] | None = Field(default=None, description="the attestation's claims, as signed")


class PullRecordOut(BaseModel):
    """One recorded pull (answered or refused), as a bank or a county admin lists them."""

    id: int
    at: datetime
    bank_client_id: str
    product_code: str
    purpose: str
    outcome: str
    code: str
    status_code: int
    subject: str | None = Field(description="the pseudonymous household id the bank was given (null: none)")
    household_id: int | None = Field(default=None, description="county admins only")
    consent_id: int | None
    jti: str | None
