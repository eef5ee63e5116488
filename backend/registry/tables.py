"""Registry tables: the jurisdiction tree and the people in it.

County → township (乡镇/街道) → village (村/社区) → grid (网格) → household (户) → person.
History that matters legally (membership, residence, 党员联户) is kept as rows with
``valid_from``/``valid_to`` instead of being overwritten.
"""

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.base import OnDelete
from piccolo.table import Table

RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
HEAD = "户主"


class County(Table, tablename="county"):
    """县/区 — the unit that owns a catalogue and its staff."""

    code = Varchar(length=12, unique=True, index=True)
    name = Varchar(length=64)


class Township(Table, tablename="township"):
    """乡镇/街道."""

    code = Varchar(length=12, unique=True, index=True)
    name = Varchar(length=64)
    kind = Varchar(length=4, default="镇")
    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)


class Village(Table, tablename="village"):
    """村/社区 (a 行政村)."""

    code = Varchar(length=12, unique=True, index=True)
    name = Varchar(length=64)
    kind = Varchar(length=4, default="村")
    township = ForeignKey(Township, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class Grid(Table, tablename="grid"):
    """网格 — the unit a grid worker is responsible for."""

    code = Varchar(length=16, unique=True, index=True)
    name = Varchar(length=64)
    village = ForeignKey(Village, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class PartyBranch(Table, tablename="party_branch"):
    """党支部 of a village."""

    code = Varchar(length=16, unique=True, index=True)
    name = Varchar(length=64)
    village = ForeignKey(Village, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class Household(Table, tablename="household"):
    """户 — a registered household.

    ``grid``/``village``/``address`` are the *current* residence, kept in step with the open
    ``HouseholdResidence`` row by ``registry.services`` so scope checks are one indexed lookup.
    """

    code = Varchar(length=24, unique=True, index=True)
    village = ForeignKey(Village, null=False, index=True, on_delete=OnDelete.restrict)
    grid = ForeignKey(Grid, null=False, index=True, on_delete=OnDelete.restrict)
    address = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class HouseholdResidence(Table, tablename="household_residence"):
    """Where a household lived (which grid) and from when to when."""

    household = ForeignKey(Household, null=False, index=True, on_delete=OnDelete.restrict)
    grid = ForeignKey(Grid, null=False, on_delete=OnDelete.restrict)
    address = Text(default="")
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    reason = Text(default="")
    recorded_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class Person(Table, tablename="person"):
    """自然人 — a credit subject.

    The resident ID number is stored encrypted (``id_number_cipher``) with a keyed hash for
    lookup and a masked form for display; likewise the phone number.
    """

    name = Varchar(length=32)
    id_number_cipher = Text(secret=True)
    id_number_hash = Varchar(length=64, unique=True, index=True, secret=True)
    id_number_masked = Varchar(length=18)
    sex = Varchar(length=1)
    birth_date = Date()
    phone_cipher = Text(null=True, default=None, secret=True)
    phone_hash = Varchar(length=64, null=True, default=None, index=True, secret=True)
    phone_masked = Varchar(length=11, null=True, default=None)
    is_party_member = Boolean(default=False)
    party_branch = ForeignKey(PartyBranch, null=True, default=None, on_delete=OnDelete.restrict)
    party_joined_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class HouseholdMembership(Table, tablename="household_membership"):
    """A person's membership of a household over time (迁入/迁出, 分户)."""

    person = ForeignKey(Person, null=False, index=True, on_delete=OnDelete.restrict)
    household = ForeignKey(Household, null=False, index=True, on_delete=OnDelete.restrict)
    relation = Varchar(length=8, choices=None)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    reason = Text(default="")
    recorded_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class PartyMemberLink(Table, tablename="party_member_link"):
    """党员联户 — a party member looks after a household."""

    member = ForeignKey(Person, null=False, index=True, on_delete=OnDelete.restrict)
    household = ForeignKey(Household, null=False, index=True, on_delete=OnDelete.restrict)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class Organisation(Table, tablename="organisation"):
    """法人和非法人组织 (employer, cooperative…) — a credit subject identified by its USCC."""

    name = Varchar(length=128)
    uscc = Varchar(length=18, unique=True, index=True)
    kind = Varchar(length=16, default="enterprise")
    township = ForeignKey(Township, null=False, index=True, on_delete=OnDelete.restrict)
    village = ForeignKey(Village, null=True, default=None, on_delete=OnDelete.restrict)
    legal_representative = Varchar(length=32, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database
