"""银行 — a bank's loan products (with their credit-check policy) and its rating pulls.

A bank is a ``consent_recipient`` of kind ``bank`` linked to its API client (``bank_client``);
its products hang off that recipient. The database holds (``migrations/bank/``): pulls are
append-only (UPDATE, DELETE, TRUNCATE refused), one pull per (client, Idempotency-Key), closed
vocabularies for purposes, scopes and outcomes, a product's code unique per bank.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.auth.tables import BankClient
from backend.consent.tables import ConsentRecipient
from backend.registry.tables import County


class BankProduct(Table, tablename="bank_product"):
    """A bank's product (e.g. 农户小额信用贷款) and its credit-check policy (after Apache Fineract):
    ``rating_mandatory`` (a household without an effective rating fails the check),
    ``stale_days`` (the oldest rating accepted, in days from its as-of date to the pull),
    ``failed_check_blocks`` (refuse, or answer that the check failed), the ``purposes`` a pull for
    it may name, and the ``data_scope`` it discloses (grade / grade_score / grade_score_entries)."""

    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    recipient = ForeignKey(ConsentRecipient, null=False, index=True, on_delete=OnDelete.restrict)
    code = Varchar(length=32)
    name_zh = Varchar(length=64)
    purposes = JSONB(default=[])
    data_scope = Varchar(length=32)
    rating_mandatory = Boolean(default=True)
    stale_days = Integer(default=400)
    failed_check_blocks = Boolean(default=True)
    active = Boolean(default=True)
    created_by = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class RatingPull(Table, tablename="bank_rating_pull"):
    """One rating pull by a bank's client, answered or refused (append-only).

    The household is named by its platform id (never the ID number: the request is kept only as
    a keyed fingerprint, for the Idempotency-Key check). ``response`` is the exact answer given
    (status ``status_code``), so a replay returns it byte for byte, attestation and jti included."""

    id = BigSerial(primary_key=True)
    county_id = Integer()
    bank_client = ForeignKey(BankClient, null=False, index=True, on_delete=OnDelete.restrict)
    recipient_id = Integer(null=True, default=None)
    product_id = Integer(null=True, default=None)
    product_code = Varchar(length=32)
    purpose = Varchar(length=32)
    idempotency_key = Varchar(length=64)
    request_fingerprint = Varchar(length=64)
    household_id = Integer(null=True, default=None, index=True)
    township_id = Integer(null=True, default=None)
    consent_event_id = BigInt(null=True, default=None)
    notice_sha256 = Varchar(length=64, default="")
    proposal_id = BigInt(null=True, default=None)
    data_scope = Varchar(length=32, default="")
    outcome = Varchar(length=16)
    code = Varchar(length=40)
    status_code = Integer()
    jti = Varchar(length=64, null=True, default=None)
    attestation = Text(default="")
    response = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())
