"""Accounts and sessions for the API (the admin UI keeps piccolo's own user table)."""

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.registry.tables import County, Grid, Person, Township


class BankClient(Table, tablename="bank_client"):
    """A bank's server-to-server client (client-credentials login)."""

    name = Varchar(length=64)
    client_id = Varchar(length=64, unique=True, index=True)
    secret_hash = Text(secret=True)
    county = ForeignKey(County, null=False, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Account(Table, tablename="account"):
    """A person's login. ``role`` decides the kind of actions; the scope columns decide where.

    county_admin/auditor → ``county``; township_admin → ``township``; grid_worker → rows in
    ``GridAssignment``; villager → ``person`` (and that person's current household).
    """

    username = Varchar(length=64, unique=True, index=True)
    password_hash = Text(secret=True)
    role = Varchar(length=16)
    display_name = Varchar(length=64, default="")
    county = ForeignKey(County, null=True, default=None, on_delete=OnDelete.restrict)
    township = ForeignKey(Township, null=True, default=None, on_delete=OnDelete.restrict)
    person = ForeignKey(Person, null=True, default=None, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class GridAssignment(Table, tablename="grid_assignment"):
    """Which grids a grid worker (网格员) covers, over time."""

    account = ForeignKey(Account, null=False, index=True, on_delete=OnDelete.restrict)
    grid = ForeignKey(Grid, null=False, index=True, on_delete=OnDelete.restrict)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class AuthSession(Table, tablename="auth_session"):
    """One login (or client-credentials grant). Access tokens name it in ``sid``, so revoking
    the session kills its access tokens at once; refresh tokens rotate and a reused old one
    revokes the whole session (theft detection)."""

    sid = UUID(unique=True, index=True)
    account = ForeignKey(Account, null=True, default=None, index=True)
    bank_client = ForeignKey(BankClient, null=True, default=None)
    refresh_hash = Varchar(length=64, null=True, default=None, unique=True, secret=True)
    previous_refresh_hash = Varchar(length=64, null=True, default=None, index=True, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Varchar(length=32, default="")
