"""Authentication: login, lockout, logout, refresh rotation, forged tokens, bank clients,
revocation, password storage and the uniform error body.

Tests that lock, revoke or fail logins use throwaway accounts so the demo accounts (and the
session-wide ``tokens`` cache) stay usable for the rest of the suite.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid

import pytest
from argon2 import PasswordHasher
from jose import jwt

from backend.audit.tables import SecurityEvent
from backend.auth import services
from backend.auth.accounts import create_account
from backend.auth.roles import Role
from backend.auth.tables import Account, BankClient
from backend.errors import NotAuthenticated
from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, DEMO_PASSWORD
from backend.registry.tables import Township
from backend.settings import get_settings

ERROR_KEYS = {"code", "message_zh", "message_en", "details"}
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"


# --- helpers -----------------------------------------------------------------------------------


def assert_error(response, status: int, code: str | set[str]) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] in ({code} if isinstance(code, str) else code), body
    assert isinstance(body["message_zh"], str) and body["message_zh"]
    assert isinstance(body["message_en"], str) and body["message_en"]
    assert isinstance(body["details"], (dict, list))
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_account(password: str = "Throwaway#2026") -> tuple[int, str, str]:
    """A fresh township admin nobody else uses: (account id, username, password)."""
    township = await Township.select(Township.code).order_by(Township.code).first()
    username = f"tmp_{secrets.token_hex(5)}"
    account_id = await create_account(username, password, Role.TOWNSHIP_ADMIN, township_code=township["code"])
    return account_id, username, password


async def login(client, username: str, password: str):
    return await client.post(LOGIN, json={"username": username, "password": password})


async def login_ok(client, username: str, password: str) -> dict:
    response = await login(client, username, password)
    assert response.status_code == 200, response.text
    return response.json()


async def me_status(client, token: str) -> int:
    return (await client.get(ME, headers=bearer(token))).status_code


async def events(principal: str) -> list[str]:
    rows = await SecurityEvent.select(SecurityEvent.kind).where(SecurityEvent.principal == principal).order_by(
        SecurityEvent.id
    )
    return [r["kind"] for r in rows]


def b64url(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def valid_claims(template: dict, **changes) -> dict:
    """A copy of real claims with a fresh jti/iat/exp, then ``changes`` (``None`` drops a claim)."""
    now = int(time.time())
    claims = {**template, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def sign(claims: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=algorithm)


@pytest.fixture(scope="module")
async def live_claims(app_client) -> dict:
    """Claims of a real, live session (a fresh login of the auditor, not the shared cached one)."""
    pair = await login_ok(app_client, "auditor", DEMO_PASSWORD)
    return jwt.get_unverified_claims(pair["access_token"])


# --- login ------------------------------------------------------------------------------------


async def test_login_success_shape(app_client):
    settings = get_settings()
    body = await login_ok(app_client, "township_admin", DEMO_PASSWORD)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "role"}
    assert body["token_type"] == "bearer"
    assert body["role"] == "township_admin"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32
    claims = jwt.decode(body["access_token"], settings.secret_key, algorithms=["HS256"],
                        audience=settings.jwt_audience, issuer=settings.jwt_issuer)
    account = await Account.select(Account.id).where(Account.username == "township_admin").first()
    assert claims["sub"] == f"account:{account['id']}"
    assert claims["role"] == "township_admin"
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    uuid.UUID(claims["sid"])
    me = await app_client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "township_admin"


async def test_wrong_password_and_unknown_user_answer_identically(app_client):
    _, username, _ = await new_account()
    wrong = await login(app_client, username, "not-the-password")
    unknown = await login(app_client, f"nobody_{secrets.token_hex(4)}", "not-the-password")
    body = assert_error(wrong, 401, "AUTH_BAD_CREDENTIALS")
    assert body["details"] == {}
    assert_error(unknown, 401, "AUTH_BAD_CREDENTIALS")
    assert wrong.content == unknown.content
    assert "access_token" not in wrong.text


async def test_five_failures_lock_the_account(app_client):
    account_id, username, password = await new_account()
    for _ in range(5):
        assert_error(await login(app_client, username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    # Locked, and this address is the one that failed: even the right password is refused, and the
    # refusal is the wrong-password answer (a lock must not be visible to the guesser).
    locked = await login(app_client, username, password)
    body = assert_error(locked, 401, "AUTH_BAD_CREDENTIALS")
    assert body["details"] == {}
    row = await Account.select(Account.locked_until).where(Account.id == account_id).first()
    assert row["locked_until"] is not None
    assert await events(username) == ["login_failed"] * 4 + ["lockout", "login_failed", "login_refused_locked"]


async def test_fewer_than_five_failures_then_success_resets_the_counter(app_client):
    account_id, username, password = await new_account()
    for _ in range(4):
        assert_error(await login(app_client, username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    await login_ok(app_client, username, password)
    row = await Account.select(Account.failed_logins, Account.locked_until).where(Account.id == account_id).first()
    assert row == {"failed_logins": 0, "locked_until": None}


async def test_failed_logins_do_not_retain_earlier_attempts(app_client):
    """Each failure is a fresh error: a shared exception instance would chain every earlier
    attempt's traceback (and the frames holding the attempted passwords) onto the next one."""
    settings = get_settings()
    _, username, _ = await new_account()
    with pytest.raises(NotAuthenticated) as first:
        await services.login(settings, username, "first-attempt")
    with pytest.raises(NotAuthenticated) as second:
        await services.login(settings, f"nobody_{secrets.token_hex(4)}", "second-attempt")
    assert first.value is not second.value
    tb, attempts = second.value.__traceback__, []
    while tb is not None:
        if tb.tb_frame.f_code is services.login.__code__:
            attempts.append(tb.tb_frame.f_locals["password"])
        tb = tb.tb_next
    assert attempts == ["second-attempt"]


# --- logout and refresh -------------------------------------------------------------------------


async def test_logout_ends_the_session(app_client):
    pair = await login_ok(app_client, "auditor", DEMO_PASSWORD)
    assert await me_status(app_client, pair["access_token"]) == 200
    response = await app_client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    assert response.status_code == 204, response.text
    assert_error(await app_client.get(ME, headers=bearer(pair["access_token"])), 401, "AUTH_SESSION_ENDED")
    refused = await app_client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_error(refused, 401, "AUTH_REFRESH_INVALID")


async def test_refresh_rotates_and_reuse_revokes_the_session(app_client):
    first = await login_ok(app_client, "auditor", DEMO_PASSWORD)
    response = await app_client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["role"] == "auditor"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert await me_status(app_client, second["access_token"]) == 200

    # The rotated token is refused, and presenting it counts as theft: the session ends.
    reused = await app_client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert_error(reused, 401, "AUTH_REFRESH_INVALID")
    assert_error(await app_client.get(ME, headers=bearer(second["access_token"])), 401, "AUTH_SESSION_ENDED")
    assert await me_status(app_client, first["access_token"]) == 401
    newest = await app_client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert_error(newest, 401, "AUTH_REFRESH_INVALID")
    sid = jwt.get_unverified_claims(second["access_token"])["sid"]
    assert await events(f"session:{sid}") == ["refresh_reuse"]


async def test_unknown_refresh_token_is_refused(app_client):
    response = await app_client.post(REFRESH, json={"refresh_token": secrets.token_urlsafe(32)})
    assert_error(response, 401, "AUTH_REFRESH_INVALID")


async def test_revoke_all_sessions_kills_existing_access_tokens(app_client):
    account_id, username, password = await new_account()
    pairs = [await login_ok(app_client, username, password) for _ in range(2)]
    assert [await me_status(app_client, p["access_token"]) for p in pairs] == [200, 200]
    assert await services.revoke_all_sessions(account_id) == 2
    for pair in pairs:
        assert_error(await app_client.get(ME, headers=bearer(pair["access_token"])), 401, "AUTH_SESSION_ENDED")
        refused = await app_client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert_error(refused, 401, "AUTH_REFRESH_INVALID")
    # Logging in again starts a new, working session.
    again = await login_ok(app_client, username, password)
    assert await me_status(app_client, again["access_token"]) == 200


# --- bearer tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"},
     {"Authorization": "Token abc"}],
    ids=["none", "empty", "bearer-without-token", "basic", "other-scheme"],
)
async def test_missing_credentials_is_auth_required(app_client, headers):
    assert_error(await app_client.get(ME, headers=headers), 401, "AUTH_REQUIRED")
    assert_error(await app_client.get("/api/v1/households", headers=headers), 401, "AUTH_REQUIRED")


async def test_a_correctly_forged_token_works(app_client, live_claims):
    """Control for the cases below: the forging helpers make otherwise-valid tokens."""
    response = await app_client.get(ME, headers=bearer(sign(valid_claims(live_claims))))
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "auditor"


def _alg_none(claims: dict) -> str:
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


def _alg_none_with_signature(claims: dict) -> str:
    real = sign(claims)
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}.{real.rsplit('.', 1)[1]}"


FORGERIES = {
    "alg-none": lambda c: _alg_none(valid_claims(c)),
    "alg-none-with-signature": lambda c: _alg_none_with_signature(valid_claims(c)),
    "alg-hs512": lambda c: sign(valid_claims(c), algorithm="HS512"),
    "other-secret": lambda c: sign(valid_claims(c), key=secrets.token_urlsafe(48)),
    "expired": lambda c: sign(valid_claims(c, iat=int(time.time()) - 3600, exp=int(time.time()) - 120)),
    "wrong-audience": lambda c: sign(valid_claims(c, aud="some-other-api")),
    "wrong-issuer": lambda c: sign(valid_claims(c, iss="not-cunxin")),
    "no-audience": lambda c: sign(valid_claims(c, aud=None)),
    "no-issuer": lambda c: sign(valid_claims(c, iss=None)),
    "no-sub": lambda c: sign(valid_claims(c, sub=None)),
    "no-exp": lambda c: sign(valid_claims(c, exp=None)),
    "no-sid": lambda c: sign(valid_claims(c, sid=None)),
    "tampered-payload": lambda c: (lambda t: ".".join([t.split(".")[0], b64url(valid_claims(c, role="county_admin")),
                                                        t.split(".")[2]]))(sign(valid_claims(c))),
    "garbage": lambda c: "not.a.jwt",
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_or_invalid_tokens_are_refused(app_client, live_claims, forgery):
    token = FORGERIES[forgery](live_claims)
    response = await app_client.get(ME, headers=bearer(token))
    assert_error(response, 401, {"AUTH_TOKEN_INVALID", "AUTH_SESSION_ENDED"})
    assert_error(await app_client.get("/api/v1/households", headers=bearer(token)), 401,
                 {"AUTH_TOKEN_INVALID", "AUTH_SESSION_ENDED"})


async def test_token_for_another_account_on_a_live_session_is_refused(app_client, live_claims):
    """Signed correctly, but the session belongs to someone else (sub/sid mismatch)."""
    county = await Account.select(Account.id).where(Account.username == "county_admin").first()
    token = sign(valid_claims(live_claims, sub=f"account:{county['id']}", role="county_admin"))
    assert_error(await app_client.get(ME, headers=bearer(token)), 401, "AUTH_SESSION_ENDED")


async def test_token_with_unknown_session_is_refused(app_client, live_claims):
    token = sign(valid_claims(live_claims, sid=str(uuid.uuid4())))
    assert_error(await app_client.get(ME, headers=bearer(token)), 401, "AUTH_SESSION_ENDED")


# --- bank client credentials ---------------------------------------------------------------------


def bank_request(secret: str, client_id: str = DEMO_BANK_CLIENT_ID, grant_type: str = "client_credentials") -> dict:
    return {"grant_type": grant_type, "client_id": client_id, "client_secret": secret}


async def test_bank_client_credentials(app_client):
    wrong = await app_client.post(TOKEN, json=bank_request("not-the-secret"))
    assert_error(wrong, 401, "AUTH_BAD_CLIENT")
    unknown = await app_client.post(TOKEN, json=bank_request("not-the-secret", client_id="no-such-bank"))
    assert unknown.content == wrong.content

    response = await app_client.post(TOKEN, json=bank_request(DEMO_BANK_SECRET))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "bank" and body["token_type"] == "bearer" and body["refresh_token"] is None
    me = await app_client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["role"] == "bank" and me.json()["kind"] == "bank_client"
    client = await BankClient.select(BankClient.failed_logins).where(BankClient.client_id == DEMO_BANK_CLIENT_ID).first()
    assert client["failed_logins"] == 0, "a success resets the failure counter"

    assert_error(await app_client.get("/api/v1/households", headers=bearer(body["access_token"])), 403,
                 "PERMISSION_DENIED")


async def test_bank_grant_type_must_be_client_credentials(app_client):
    response = await app_client.post(TOKEN, json=bank_request(DEMO_BANK_SECRET, grant_type="password"))
    assert_error(response, 400, "REQUEST_INVALID")


async def test_bank_cannot_use_password_login(app_client):
    response = await login(app_client, DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET)
    assert_error(response, 401, "AUTH_BAD_CREDENTIALS")


# --- stored secrets --------------------------------------------------------------------------------


async def test_passwords_and_client_secrets_are_argon2id_hashes(app_client):
    _, username, password = await new_account("Plain-Text-Canary-77")
    accounts = await Account.select(Account.username, Account.password_hash)
    assert {"county_admin", "auditor", "township_admin", "grid_worker", "villager", username} <= {
        a["username"] for a in accounts
    }
    for account in accounts:
        assert account["password_hash"].startswith("$argon2id$"), account["username"]
        assert DEMO_PASSWORD not in account["password_hash"] and password not in account["password_hash"]
    mine = next(a for a in accounts if a["username"] == username)
    assert PasswordHasher().verify(mine["password_hash"], password)

    clients = await BankClient.select(BankClient.client_id, BankClient.secret_hash)
    assert clients
    for client in clients:
        assert client["secret_hash"].startswith("$argon2id$")
        assert DEMO_BANK_SECRET not in client["secret_hash"]


# --- the uniform error body ---------------------------------------------------------------------


async def test_unknown_route_is_not_found(app_client, tokens):
    assert_error(await app_client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")
    assert_error(await app_client.get("/api/v1/no-such-thing", headers=await tokens("county_admin")), 404,
                 "NOT_FOUND")


@pytest.mark.parametrize(
    "content,content_type",
    [
        (b'{"username": "county_admin", "password": ', "application/json"),
        (b"not json at all", "application/json"),
        (b"", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"username": 12, "password": null}', "application/json"),
        (b'{"username": "county_admin"}', "application/json"),
        ('{"username": "", "password": "x"}'.encode(), "application/json"),
    ],
    ids=["truncated", "not-json", "empty", "array", "wrong-types", "missing-password", "empty-username"],
)
async def test_malformed_login_body_is_a_400(app_client, content, content_type):
    response = await app_client.post(LOGIN, content=content, headers={"Content-Type": content_type})
    assert_error(response, 400, {"REQUEST_INVALID", "BAD_REQUEST"})


async def test_wrong_method_has_the_uniform_body(app_client):
    assert_error(await app_client.get(LOGIN), 405, "METHOD_NOT_ALLOWED")


async def test_error_responses_carry_the_request_id(app_client, tokens):
    headers = {**await tokens("county_admin"), "X-Request-ID": "trace-123"}
    response = await app_client.get(f"/api/v1/households/{2**31 - 1}", headers=headers)
    assert_error(response, 404, "NOT_FOUND")
    assert response.headers.get("x-request-id") == "trace-123"
