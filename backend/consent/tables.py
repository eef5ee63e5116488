"""Consent (同意): who may receive a subject's data, the notices they were shown, the events, and the
keys that sign receipts. The guarantees the database itself holds are in the migrations
(``migrations/consent/``): consent events are append-only, a notice is frozen once a consent names
it, its version number and SHA-256 are computed by the database, signing keys are never deleted.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.auth.tables import BankClient
from backend.registry.tables import County

# consent_event.action
GRANT = "grant"
WITHDRAW = "withdraw"
# consent_event.channel
APP = "app"  # in the app, by the villager
PAPER = "paper"  # a signed paper form, photographed and captured by a grid worker
# consent_event.capacity: in what role the person who recorded the event acted
SELF = "self"  # the subject (or the household's head) in the app
WITNESS = "witness"  # grid worker: the subject signed the paper; the worker witnessed and captured it
DELEGATE = "delegate"  # grid worker: recorded as the subject's delegate (e.g. the subject cannot write)


class ConsentRecipient(Table, tablename="consent_recipient"):
    """A body that may receive data under consent: a bank, a subsidy office, the public honour roll.

    ``kind`` + ``code`` identify it in the county (a bank's ``code`` may be its client id; products
    or organisations registered later fit the same pair); ``bank_client`` links a bank's API client
    so its pulls find its consents."""

    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    code = Varchar(length=64)
    name_zh = Varchar(length=128)
    bank_client = ForeignKey(BankClient, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsentNotice(Table, tablename="consent_notice"):
    """告知书 — one version of the notice for a (recipient kind, purpose) in a county.

    ``text_zh`` names the recipient through the ``{recipient}`` placeholder, purpose, method, data
    categories, retention and how to withdraw. The database numbers versions and stores
    ``text_sha256`` itself; once a consent event names a version it cannot change. Publishing a
    newer version makes earlier consents insufficient for new uses."""

    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    recipient_kind = Varchar(length=16)
    purpose = Varchar(length=32)
    version = Integer(default=0)
    title_zh = Varchar(length=128)
    text_zh = Text()
    text_sha256 = Varchar(length=64, default="")
    consent_days = Integer(default=365)
    created_by = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ConsentEvent(Table, tablename="consent_event"):
    """One grant or withdrawal (append-only). A withdrawal names the grant it withdraws and copies
    its subject, recipient, purpose and scope; it takes effect at ``recorded_at``.

    ``signed_on`` is the date on the paper (the day itself for the app), apart from
    ``recorded_at``; ``notice_sha256`` is the SHA-256 of the exact text shown, the recipient's name
    in it (``recipient_name_zh``, a snapshot). A household's consent is given by its head
    (``person_id``); ``capacity`` says whether a grid worker was witness or delegate."""

    id = BigSerial(primary_key=True)
    action = Varchar(length=8)
    withdraws = BigInt(null=True, default=None)
    county_id = Integer()
    township_id = Integer()
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer()
    household_id = Integer(null=True, default=None)
    recipient = ForeignKey(ConsentRecipient, null=False, on_delete=OnDelete.restrict)
    recipient_kind = Varchar(length=16)
    recipient_name_zh = Varchar(length=128)
    purpose = Varchar(length=32)
    data_scope = Varchar(length=32)
    notice = ForeignKey(ConsentNotice, null=False, on_delete=OnDelete.restrict)
    notice_version = Integer()
    notice_sha256 = Varchar(length=64)
    signed_on = Date()
    recorded_at = Timestamptz(default=TimestamptzNow())
    expires_on = Date(null=True, default=None)
    channel = Varchar(length=8)
    capacity = Varchar(length=8)
    delegate_name = Varchar(length=32, default="")
    recorded_by = Integer()
    recorded_by_role = Varchar(length=16)
    evidence_id = BigInt(null=True, default=None)


class SigningKey(Table, tablename="signing_key"):
    """An ES256 key that signs receipts and attestations. The private key is encrypted with the
    field-encryption key; retired keys stay (and stay published) so old statements still verify."""

    kid = Varchar(length=32, unique=True)
    public_jwk = JSONB()
    private_key_cipher = Text(secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    retired_at = Timestamptz(null=True, default=None)
