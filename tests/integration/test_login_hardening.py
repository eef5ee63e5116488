"""Login that can be neither bypassed nor abused (issue 9, point 2).

Every test uses its own throwaway account and its own client addresses (random per run, so the
throttle's Redis counters from earlier runs never matter), never the demo accounts or 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from datetime import timedelta

import httpx
import pytest

from backend import clock
from backend.auth import throttle
from backend.auth.accounts import create_bank_client
from backend.auth.tables import Account, BankClient
from backend.registry.tables import County
from tests.integration.test_auth import LOGIN, TOKEN, assert_error, events, new_account

HEALTH = "/healthz"


def random_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@pytest.fixture
async def client_from(app_client):
    """``client_from(ip)``: an AsyncClient over the shared app that connects from ``ip``."""
    opened: list[httpx.AsyncClient] = []

    def make(ip: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app_client.app, client=(ip or random_ip(), 51000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def login(client, username: str, password: str):
    return await client.post(LOGIN, json={"username": username, "password": password})


async def test_parallel_wrong_passwords_are_all_counted_and_lock(client_from):
    """12 at once: the counter is one SQL increment, so none overwrites another, and the lock is set
    in the same statement. (Today's read-check-write left failed_logins=1 and no lock.)"""
    account_id, username, _ = await new_account()
    # Each from its own address, so the per-address throttle lets all 12 reach the password check.
    responses = await asyncio.gather(*(login(client_from(), username, "wrong-password") for _ in range(12)))
    for response in responses:
        assert_error(response, 401, "AUTH_BAD_CREDENTIALS")
    row = await Account.select(Account.failed_logins, Account.locked_until).where(Account.id == account_id).first()
    assert row["failed_logins"] == 12
    assert row["locked_until"] is not None
    assert (await events(username)).count("lockout") == 1


async def test_parallel_attempts_from_one_address_cannot_slip_past_the_throttle(client_from):
    account_id, username, _ = await new_account()
    client = client_from()
    responses = await asyncio.gather(*(login(client, username, "wrong-password") for _ in range(12)))
    statuses = sorted(r.status_code for r in responses)
    # PAIR_FREE free attempts, one more that starts the first delay; the rest wait.
    assert statuses.count(401) == throttle.PAIR_FREE + 1, statuses
    assert statuses.count(429) == 12 - throttle.PAIR_FREE - 1, statuses
    row = await Account.select(Account.failed_logins, Account.locked_until).where(Account.id == account_id).first()
    assert row["failed_logins"] == throttle.PAIR_FREE + 1 and row["locked_until"] is not None


async def test_argon2_does_not_block_the_event_loop(client_from, monkeypatch):
    """While 6 logins hash, a health check answers in a fraction of one Argon2 verification
    (on the event loop it waited for one or more whole verifications: 1 ms became 514 ms)."""
    from backend.auth import passwords

    _, username, password = await new_account()
    real = passwords.verify_password
    started: list[float] = []
    durations: list[float] = []

    def timed_verify(password_hash, candidate):
        start = time.perf_counter()
        started.append(start)
        try:
            return real(password_hash, candidate)
        finally:
            durations.append(time.perf_counter() - start)

    monkeypatch.setattr(passwords, "verify_password", timed_verify)

    async def one_login() -> None:
        response = await login(client_from(), username, password)
        assert response.status_code == 200, response.text

    async def health() -> float:
        while not started:  # wait until a login is inside Argon2
            await asyncio.sleep(0.0005)
        response = await client_from().get(HEALTH)
        assert response.status_code == 200
        return time.perf_counter() - started[0]

    *_, health_elapsed = await asyncio.gather(*(one_login() for _ in range(6)), health())
    assert len(durations) == 6
    assert health_elapsed < min(durations) / 2, (health_elapsed, durations)


async def test_throttled_attempt_is_429_with_retry_after_and_growing_delays(client_from):
    _, username, password = await new_account()
    client = client_from()
    for _ in range(throttle.PAIR_FREE + 1):
        assert_error(await login(client, username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    first = await login(client, username, password)  # even the right password must wait now
    body = assert_error(first, 429, "AUTH_THROTTLED")
    assert first.headers["Retry-After"] == "1"
    assert body["details"] == {"retry_after": 1}
    await asyncio.sleep(1.1)
    assert_error(await login(client, username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    second = await login(client, username, "wrong-password")
    assert_error(second, 429, "AUTH_THROTTLED")
    assert int(second.headers["Retry-After"]) == 2  # doubled


async def test_attacker_cannot_lock_out_the_owner_on_another_address(client_from):
    """Five (or fifty) failures from the attacker lock the account for the attacker's address only:
    the grid worker's phone, which never failed, still logs in with the right password."""
    account_id, username, password = await new_account()
    attacker = client_from()
    for _ in range(8):
        response = await login(attacker, username, "guess")
        assert response.status_code in (401, 429)
    row = await Account.select(Account.locked_until).where(Account.id == account_id).first()
    assert row["locked_until"] is not None  # the account-wide brake did engage
    owner = await login(client_from(), username, password)
    assert owner.status_code == 200, owner.text
    row = await Account.select(Account.failed_logins, Account.locked_until).where(Account.id == account_id).first()
    assert row == {"failed_logins": 0, "locked_until": None}


async def test_locked_account_is_indistinguishable_from_a_wrong_password(client_from):
    account_id, username, password = await new_account()
    other_id, other, _ = await new_account()
    ip = random_ip()
    client = client_from(ip)
    for _ in range(5):
        assert_error(await login(client, username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    # Locked, and this address has failed: the right password is refused exactly like a wrong one.
    locked = await login(client, username, password)
    wrong = await login(client_from(ip), other, "wrong-password")
    unknown = await login(client_from(ip), f"nobody_{secrets.token_hex(4)}", "wrong-password")
    assert locked.status_code == wrong.status_code == unknown.status_code == 401
    assert locked.content == wrong.content == unknown.content
    assert "login_refused_locked" in await events(username)


async def test_locked_and_unknown_cost_the_same_argon2_work(monkeypatch):
    """The Argon2 check runs whatever the outcome (a dummy hash for an unknown user): count them."""
    from backend.auth import passwords, services
    from backend.errors import NotAuthenticated
    from backend.settings import get_settings

    settings = get_settings()
    account_id, username, password = await new_account()
    ip = random_ip()
    with pytest.raises(NotAuthenticated):
        await services.login(settings, username, "wrong-password", ip=ip)  # this address has now failed
    await Account.update({Account.locked_until: clock.now() + timedelta(minutes=10)}).where(
        Account.id == account_id)
    calls: list[bool] = []
    real = passwords.verify_password

    def counting(password_hash, candidate):
        calls.append(password_hash is not None)
        return real(password_hash, candidate)

    monkeypatch.setattr(passwords, "verify_password", counting)
    with pytest.raises(NotAuthenticated) as locked:
        await services.login(settings, username, password, ip=ip)
    with pytest.raises(NotAuthenticated) as unknown:
        await services.login(settings, f"nobody_{secrets.token_hex(4)}", password, ip=ip)
    assert calls == [True, False]
    assert locked.value.to_body() == unknown.value.to_body()


async def test_timing_locked_vs_wrong_password_is_similar(client_from):
    _, locked_user, password = await new_account()
    _, other, _ = await new_account()
    ip = random_ip()
    client = client_from(ip)
    for _ in range(5):
        await login(client, locked_user, "wrong-password")

    async def timed(username: str, pw: str) -> float:
        start = time.perf_counter()
        await login(client_from(ip), username, pw)
        return time.perf_counter() - start

    locked = min([await timed(locked_user, password) for _ in range(1)])
    wrong = min([await timed(other, "wrong-password") for _ in range(1)])
    unknown = min([await timed(f"nobody_{secrets.token_hex(4)}", "x-wrong") for _ in range(1)])
    # Without the Argon2 verify a locked refusal would be ~10x faster than a wrong password.
    assert locked > wrong / 3 and unknown > wrong / 3, (locked, wrong, unknown)


async def test_bank_client_credentials_have_the_same_protections(client_from):
    county = await County.select(County.code).first()
    client_id, secret = await create_bank_client("Throttle test bank", county["code"])

    def ask(s: str) -> dict:
        return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": s}

    responses = await asyncio.gather(*(client_from().post(TOKEN, json=ask("wrong")) for _ in range(8)))
    for response in responses:
        assert_error(response, 401, "AUTH_BAD_CLIENT")
    row = await BankClient.select(BankClient.failed_logins, BankClient.locked_until).where(
        BankClient.client_id == client_id).first()
    assert row["failed_logins"] == 8 and row["locked_until"] is not None
    # A throttled address gets 429 + Retry-After; a locked client looks like a wrong secret.
    attacker = client_from()
    statuses = [(await attacker.post(TOKEN, json=ask("wrong"))).status_code for _ in range(throttle.PAIR_FREE + 2)]
    assert statuses[-1] == 429
    last = await attacker.post(TOKEN, json=ask(secret))
    assert_error(last, 429, "AUTH_THROTTLED")
    assert "Retry-After" in last.headers
    # The bank's own server (a clean address) still gets its token despite the lock.
    assert (await client_from().post(TOKEN, json=ask(secret))).status_code == 200


async def test_one_address_spraying_many_accounts_is_throttled(client_from, monkeypatch):
    monkeypatch.setattr(throttle, "ADDRESS_FREE", 3)
    sprayer = client_from()
    names = [(await new_account())[1] for _ in range(4)]
    for name in names[:3]:
        assert_error(await login(sprayer, name, "Spring2026!"), 401, "AUTH_BAD_CREDENTIALS")
    refused = await login(sprayer, names[3], "Spring2026!")
    assert_error(refused, 429, "AUTH_THROTTLED")
    assert int(refused.headers["Retry-After"]) >= 1
    # Other addresses are not affected.
    assert_error(await login(client_from(), names[3], "Spring2026!"), 401, "AUTH_BAD_CREDENTIALS")


async def test_redis_down_falls_back_to_the_hard_account_lock(client_from, monkeypatch):
    """Without Redis nobody can tell addresses apart: logins still work, and a locked account refuses
    every address (no unlimited guessing during an outage)."""
    account_id, username, password = await new_account()

    def broken():
        raise ConnectionError("redis down")

    monkeypatch.setattr(throttle, "redis_client", broken)
    assert (await login(client_from(), username, password)).status_code == 200
    for _ in range(5):
        assert_error(await login(client_from(), username, "wrong-password"), 401, "AUTH_BAD_CREDENTIALS")
    row = await Account.select(Account.locked_until).where(Account.id == account_id).first()
    assert row["locked_until"] is not None
    assert_error(await login(client_from(), username, password), 401, "AUTH_BAD_CREDENTIALS")
