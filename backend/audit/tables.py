"""Audit tables. The database refuses UPDATE and DELETE on both (see the migration)."""

from piccolo.columns import JSONB, BigSerial, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AccessLog(Table, tablename="access_log"):
    """One successful read of one subject's personal data (art. 35, PIPL).

    Plain ids rather than foreign keys: the log must outlive anything it mentions. ``person_id``
    is filled whenever the subject is, or belongs to, a person, so a villager can list who
    looked at them; ``household_id`` likewise for household-level reads.

    ``actor_org_zh`` is the reader's organisation in words *as it was when they read*
    (梁家墩镇人民政府, 清凉寺村村民委员会, a bank's name): a snapshot, so a later transfer or
    renaming does not rewrite history. ``actor_person_id`` is the reader's own person (a
    villager reading their own data), so those reads can be shown apart from other people's.
    """

    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_kind = Varchar(length=16)  # account | bank_client
    actor_id = Integer()
    actor_role = Varchar(length=16)
    actor_label = Varchar(length=64)
    actor_org_zh = Varchar(length=128, default="")
    actor_person_id = Integer(null=True, default=None)
    subject_kind = Varchar(length=16)  # person | household | organisation
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    township_id = Integer(null=True, default=None, index=True)
    fields = JSONB(default=[])
    purpose = Varchar(length=64)
    request_id = Varchar(length=64, default="")
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class SecurityEvent(Table, tablename="security_event"):
    """Logins, failures, lockouts, revocations, refresh-token reuse."""

    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    kind = Varchar(length=32)
    principal = Varchar(length=64)
    detail = Text(default="")
    ip = Varchar(length=64, default="")
