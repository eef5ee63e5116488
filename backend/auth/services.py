"""Login, refresh, logout, client credentials, and turning a token back into an Actor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from piccolo.engine import engine_finder

from backend import clock
from backend.audit import readers
from backend.audit.tables import SecurityEvent
from backend.auth import passwords, throttle, tokens
from backend.auth.roles import Actor, Role
from backend.auth.tables import Account, AuthSession, BankClient
from backend.db import fetch
from backend.errors import InvalidInput, NotAuthenticated
from backend.settings import Settings


def _bad_credentials() -> NotAuthenticated:
    """A fresh error each time: re-raising one shared instance would chain every earlier failure's
    traceback (and the frames holding the attempted passwords) onto it, for the process lifetime."""
    return NotAuthenticated("用户名或密码错误", "Wrong username or password", code="AUTH_BAD_CREDENTIALS")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_in: int
    role: str


def _now() -> datetime:
    return clock.now()


async def _security_event(kind: str, principal: str, detail: str = "", ip: str = "") -> None:
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=principal[:64], detail=detail, ip=ip[:64]))


async def _register_failure(table: str, row_id: int, principal: str, settings: Settings, ip: str) -> None:
    """Count a failure in one SQL statement (parallel failures cannot overwrite each other) and set
    the lock in the same statement when the threshold is reached."""
    now = _now()
    until = now + timedelta(seconds=settings.lockout_seconds)
    rows = await fetch(
        f"""UPDATE {table} SET failed_logins = failed_logins + 1,
                  locked_until = CASE WHEN failed_logins + 1 >= {{}}
                                       AND (locked_until IS NULL OR locked_until <= {{}})
                                      THEN {{}} ELSE locked_until END
           WHERE id = {{}} RETURNING failed_logins, locked_until""",
        settings.max_failed_logins, now, until, row_id,
    )
    if rows and rows[0]["locked_until"] == until:
        await _security_event("lockout", principal, f"after {rows[0]['failed_logins']} failures", ip)
    await _security_event("login_failed", principal, "", ip)


def _refused_by_lock(locked_until: datetime | None, attempt: throttle.Attempt) -> bool:
    """A lock refuses addresses that have failed against this account (all of them if Redis is down);
    see ``backend.auth.throttle`` for why a clean address still gets in."""
    return locked_until is not None and locked_until > _now() and attempt.address_has_failed is not False


async def _open_session(settings: Settings, *, account_id: int | None = None, bank_client_id: int | None = None,
                        with_refresh: bool) -> tuple[str, str | None]:
    sid = uuid.uuid4()
    refresh = tokens.new_refresh_token() if with_refresh else None
    ttl = settings.refresh_token_ttl_seconds if with_refresh else settings.access_token_ttl_seconds
    await AuthSession.insert(
        AuthSession(
            sid=sid,
            account=account_id,
            bank_client=bank_client_id,
            refresh_hash=tokens.hash_opaque_token(refresh) if refresh else None,
            expires_at=_now() + timedelta(seconds=ttl),
        )
    )
    return str(sid), refresh


@dataclass(frozen=True)
class _Principals:
    """One kind of login: accounts by username and password, bank clients by id and secret."""

    table: type[Account] | type[BankClient]
    throttle_kind: str
    name_column: str
    secret_column: str
    events: tuple[str, str]  # (failed, refused while locked)
    bad: Callable[[], NotAuthenticated]


def _bad_client() -> NotAuthenticated:
    return NotAuthenticated("客户端凭证错误", "Wrong client credentials", code="AUTH_BAD_CLIENT")


ACCOUNTS = _Principals(Account, "account", "username", "password_hash", ("login_failed", "login_refused_locked"),
                       _bad_credentials)
BANK_CLIENTS = _Principals(BankClient, "bank", "client_id", "secret_hash",
                           ("client_auth_failed", "client_refused_locked"), _bad_client)


async def _authenticate(kind: _Principals, settings: Settings, name: str, secret: str, ip: str):
    """The row whose secret matches, throttled per (name, address) and per address
    (``backend.auth.throttle``), with the failure counter and lock in one SQL statement.

    Unknown name, wrong secret, inactive and locked all raise the same 401 after the same Argon2
    work, so neither status nor timing tells them apart."""
    attempt = await throttle.admit(kind.throttle_kind, name, ip)
    table = kind.table
    row = await table.objects().where(getattr(table, kind.name_column) == name).first()
    secret_ok = await passwords.verify_password_async(getattr(row, kind.secret_column) if row else None, secret)
    failed, refused_locked = kind.events
    if row is None:
        await throttle.failed(attempt)
        await _security_event(failed, name, "unknown", ip)
        raise kind.bad()
    if _refused_by_lock(row.locked_until, attempt):
        await throttle.failed(attempt)
        await _security_event(refused_locked, name, "", ip)
        raise kind.bad()
    if not secret_ok or not row.active:
        await throttle.failed(attempt)
        await _register_failure(table._meta.tablename, row.id, name, settings, ip)
        raise kind.bad()
    values = {table.failed_logins: 0, table.locked_until: None}
    if passwords.needs_rehash(getattr(row, kind.secret_column)):
        values[getattr(table, kind.secret_column)] = await passwords.hash_password_async(secret)
    await table.update(values).where(table.id == row.id)
    await throttle.succeeded(attempt)
    return row


async def login(settings: Settings, username: str, password: str, *, ip: str = "") -> TokenPair:
    """Password login (see :func:`_authenticate`); a refresh token comes with the access token."""
    account = await _authenticate(ACCOUNTS, settings, username, password, ip)
    sid, refresh = await _open_session(settings, account_id=account.id, with_refresh=True)
    await _security_event("login", username, "", ip)
    access = tokens.issue_access_token(
        settings=settings, subject=f"account:{account.id}", sid=sid, role=account.role, now=_now()
    )
    return TokenPair(access, refresh, settings.access_token_ttl_seconds, account.role)


async def client_credentials(settings: Settings, client_id: str, client_secret: str, *, ip: str = "") -> TokenPair:
    """Bank server-to-server login (see :func:`_authenticate`); no refresh token (the bank simply asks again)."""
    client = await _authenticate(BANK_CLIENTS, settings, client_id, client_secret, ip)
    sid, _ = await _open_session(settings, bank_client_id=client.id, with_refresh=False)
    access = tokens.issue_access_token(
        settings=settings, subject=f"bank:{client.id}", sid=sid, role=Role.BANK.value, now=_now()
    )
    return TokenPair(access, None, settings.access_token_ttl_seconds, Role.BANK.value)


async def refresh(settings: Settings, refresh_token: str, *, ip: str = "") -> TokenPair:
    """Rotate the refresh token. Presenting an already-rotated token revokes the session."""
    digest = tokens.hash_opaque_token(refresh_token)
    now = _now()
    session = await AuthSession.objects().where(AuthSession.refresh_hash == digest).first()
    if session is None:
        # Not inside the transaction below: its rollback on the error raised here would undo the revocation.
        reused = await AuthSession.objects().where(AuthSession.previous_refresh_hash == digest).first()
        if reused is not None and reused.revoked_at is None:
            await AuthSession.update(
                {AuthSession.revoked_at: now, AuthSession.revoked_reason: "refresh_reuse"}
            ).where(AuthSession.id == reused.id)
            await _security_event("refresh_reuse", f"session:{reused.sid}", "session revoked", ip)
        raise NotAuthenticated("刷新凭证无效", "Refresh token invalid", code="AUTH_REFRESH_INVALID")
    async with engine_finder().transaction():
        if session.revoked_at is not None or session.expires_at <= now or session.account is None:
            raise NotAuthenticated("登录已失效，请重新登录", "Session ended; log in again", code="AUTH_REFRESH_INVALID")
        account = await Account.objects().where(Account.id == session.account).first()
        if account is None or not account.active:
            raise NotAuthenticated("账户不可用", "Account disabled", code="AUTH_ACCOUNT_DISABLED")
        new_refresh = tokens.new_refresh_token()
        # Conditional on the old hash: of two concurrent refreshes with one token, exactly one rotates.
        rotated = await AuthSession.update(
            {
                AuthSession.previous_refresh_hash: digest,
                AuthSession.refresh_hash: tokens.hash_opaque_token(new_refresh),
            }
        ).where((AuthSession.id == session.id) & (AuthSession.refresh_hash == digest)).returning(AuthSession.id)
        if not rotated:
            raise NotAuthenticated("刷新凭证无效", "Refresh token invalid", code="AUTH_REFRESH_INVALID")
    access = tokens.issue_access_token(
        settings=settings, subject=f"account:{account.id}", sid=str(session.sid), role=account.role, now=now
    )
    return TokenPair(access, new_refresh, settings.access_token_ttl_seconds, account.role)


async def revoke_session(sid: str, reason: str = "logout") -> None:
    await AuthSession.update({AuthSession.revoked_at: _now(), AuthSession.revoked_reason: reason}).where(
        (AuthSession.sid == uuid.UUID(sid)) & AuthSession.revoked_at.is_null()
    )


async def revoke_all_sessions(account_id: int, reason: str = "revoked_by_admin") -> int:
    rows = await AuthSession.update(
        {AuthSession.revoked_at: _now(), AuthSession.revoked_reason: reason}
    ).where((AuthSession.account == account_id) & AuthSession.revoked_at.is_null()).returning(AuthSession.id)
    return len(rows)


# The actor in one statement: the session row (when a token is being checked), the account, its
# current grids or household, and the villages, townships and county they are in. One round trip
# (and one pool checkout) instead of five: this runs before every authenticated request.
_ACTOR_SQL = """
WITH acc AS (SELECT id, username, role, county, township, person, active FROM account WHERE id = {}),
grids AS (SELECT ga.grid FROM grid_assignment ga JOIN acc ON ga.account = acc.id
          WHERE acc.role = 'grid_worker' AND ga.valid_from <= {}
            AND (ga.valid_to IS NULL OR ga.valid_to >= {})),
hh AS (SELECT hm.household FROM household_membership hm JOIN acc ON hm.person = acc.person
       WHERE acc.role = 'villager' AND hm.valid_to IS NULL LIMIT 1),
vil AS (SELECT v.id, v.township, v.county_id, v.name, v.kind FROM village v
        WHERE v.id IN (SELECT g.village FROM grid g WHERE g.id IN (SELECT grid FROM grids))
           OR v.id = (SELECT h.village FROM household h WHERE h.id = (SELECT household FROM hh))),
twp AS (SELECT t.county, t.name, t.kind FROM township t JOIN acc ON t.id = acc.township)
SELECT acc.*, ARRAY(SELECT grid FROM grids) AS grid_ids, (SELECT household FROM hh) AS household_id,
       ARRAY(SELECT id FROM vil ORDER BY id) AS village_ids, ARRAY(SELECT township FROM vil ORDER BY id) AS township_ids,
       ARRAY(SELECT name FROM vil ORDER BY id) AS village_names, ARRAY(SELECT kind FROM vil ORDER BY id) AS village_kinds,
       (SELECT min(county_id) FROM vil) AS village_county,
       (SELECT county FROM twp) AS township_county, (SELECT name FROM twp) AS township_name,
       (SELECT kind FROM twp) AS township_kind,
       (SELECT c.name FROM county c WHERE c.id = acc.county) AS county_name%SESSION_COLUMNS%
FROM acc%SESSION_JOIN%"""
_SESSION_COLUMNS = ", s.account AS session_account, s.revoked_at AS session_revoked_at"
_SESSION_JOIN = " LEFT JOIN auth_session s ON s.sid = {}"
_ACCOUNT_ACTOR_SQL = _ACTOR_SQL.replace("%SESSION_COLUMNS%", "").replace("%SESSION_JOIN%", "")
_SESSION_ACTOR_SQL = _ACTOR_SQL.replace("%SESSION_COLUMNS%", _SESSION_COLUMNS).replace("%SESSION_JOIN%", _SESSION_JOIN)


def _actor_of_row(row: dict, sid: str) -> Actor | None:
    if not row["active"]:
        return None
    grid_ids = frozenset(row["grid_ids"])
    household_id = row["household_id"]
    # A villager's household or a grid worker's grids place them; otherwise a township admin's township.
    home_county = row["village_county"] if grid_ids or household_id is not None else row["township_county"]
    role = Role(row["role"])
    return Actor(
        kind="account",
        village_ids=frozenset(row["village_ids"]),
        township_ids=frozenset(row["township_ids"]),
        id=row["id"],
        role=role,
        label=row["username"],
        sid=sid,
        county_id=row["county"],
        township_id=row["township"],
        person_id=row["person"],
        household_id=household_id,
        grid_ids=grid_ids,
        home_county_id=row["county"] or home_county,
        organisation_zh=readers.organisation_from(
            role, township=(row["township_name"], row["township_kind"]) if row["township_name"] else None,
            county_name=row["county_name"], villages=list(zip(row["village_names"], row["village_kinds"]))),
    )


async def load_actor(claims: tokens.AccessClaims, *, today: date | None = None) -> Actor:
    """Turn verified claims into an Actor, checking the session is still alive (read from the
    database on every request: a revoked session is refused on the very next one)."""
    invalid = NotAuthenticated("登录已失效，请重新登录", "Session ended; log in again", code="AUTH_SESSION_ENDED")
    try:
        sid = uuid.UUID(claims.sid)
        kind, raw_id = claims.sub.split(":", 1)
        subject_id = int(raw_id)
    except ValueError as exc:
        raise invalid from exc
    if not -2**31 <= subject_id < 2**31:  # an id no row can have (and PostgreSQL's integer cannot hold)
        raise invalid
    if kind == "bank":
        rows = await fetch(
            """SELECT s.bank_client, s.revoked_at, c.id, c.client_id, c.county, c.active, c.name
               FROM auth_session s LEFT JOIN bank_client c ON c.id = {} WHERE s.sid = {}""", subject_id, sid)
        row = rows[0] if rows else None
        if row is None or row["revoked_at"] is not None:
            raise invalid
        if row["id"] is None or not row["active"] or row["bank_client"] != subject_id:
            raise invalid
        return Actor(kind="bank_client", id=row["id"], role=Role.BANK, label=row["client_id"],
                     sid=claims.sid, county_id=row["county"], home_county_id=row["county"],
                     organisation_zh=readers.organisation_from(Role.BANK, bank_name=row["name"]))
    if kind != "account":
        raise invalid
    today = today or clock.today()
    rows = await fetch(_SESSION_ACTOR_SQL,
                       subject_id, today, today, sid)
    row = rows[0] if rows else None
    if row is None or row["session_account"] is None or row["session_revoked_at"] is not None \
            or row["session_account"] != subject_id:
        raise invalid
    actor = _actor_of_row(row, claims.sid)
    if actor is None:
        raise invalid
    return actor


async def account_actor(account_id: int, *, sid: str = "", today: date | None = None) -> Actor | None:
    """The Actor for an active account (its role and current jurisdiction); ``None`` if inactive."""
    today = today or clock.today()
    rows = await fetch(_ACCOUNT_ACTOR_SQL, account_id, today, today)
    return _actor_of_row(rows[0], sid) if rows else None


def validate_new_password(password: str) -> None:
    if len(password) < passwords.MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"密码至少 {passwords.MIN_PASSWORD_LENGTH} 位", "Password too short", code="PASSWORD_TOO_SHORT"
        )
