"""Bank rating pulls through HTTP (issue 10 items 2–4): refused without consent (an unknown ID
number answers the same), answered under consent with an attestation that joserfc verifies
against the published JWKS, replayed byte for byte by Idempotency-Key, refused after withdrawal,
after expiry, under an outdated notice, for a stale rating, a wrong purpose, another bank's
consent and a rating under objection — and every pull in the household's access history.

The tests run in file order on the session's ``world`` (tests/integration/bank/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from backend import clock
from backend.auth import tokens as our_tokens
from backend.bank import services
from backend.db import fetch
from backend.identity.idcard import compute_check_digit
from backend.settings import get_settings

from ..conftest import TODAY
from .conftest import bank_token, counted_entry, head_id_number, notice, rating_period, villager_for


def _key() -> str:
    return "pull-" + uuid.uuid4().hex


async def _pull(client, headers, id_number: str, product: str, purpose: str = "credit_application",
                key: str | None = None):
    extra = {} if key == "" else {"Idempotency-Key": key or _key()}
    return await client.post("/api/v1/bank/rating-pulls", headers={**headers, **extra},
                             json={"head_id_number": id_number, "product_code": product, "purpose": purpose})


async def _grant(client, villager, recipient: int, purpose: str, notice_id: int, scope: str = "grade_score") -> int:
    r = await client.post("/api/v1/me/consents", headers=villager, json={
        "subject": "household", "recipient_id": recipient, "purpose": purpose, "data_scope": scope,
        "notice_id": notice_id})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _unknown_id_number(known: str) -> str:
    """A well-formed ID number (valid check digit) nobody in the county has."""
    first17 = known[:14] + f"{(int(known[14:17]) + 501) % 1000:03d}"
    return first17 + compute_check_digit(first17)


def _refusal(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["code"] == code, r.text


@pytest.fixture(scope="module")
async def banks(app_client, world):
    world.bank.token = await bank_token(app_client, world.bank.client_id, world.bank.secret)
    world.other.token = await bank_token(app_client, world.other.client_id, world.other.secret)
    return world


async def _jwks(client) -> dict:
    return (await client.get("/.well-known/jwks.json")).json()


def _joserfc_verify(token: str, jwks: dict, audience: str) -> dict:
    """An independent verifier following our published rules: ES256 only, typ, iss, aud, exp."""
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.header["typ"] == services.ATTESTATION_TYP
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": get_settings().jwt_issuer},
                          aud={"essential": True, "value": audience}, exp={"essential": True},
                          jti={"essential": True}, sub={"essential": True}).validate(decoded.claims)
    return decoded.claims


async def _withdraw_all(client, villager, recipient: int) -> None:
    """Start from no consent for this bank (another test module may have left one active)."""
    for c in (await client.get("/api/v1/me/consents", headers=villager)).json():
        if c["recipient_id"] == recipient and c["status"] == "active":
            r = await client.post(f"/api/v1/consents/{c['id']}/withdraw", headers=villager)
            assert r.status_code == 200, r.text


async def test_no_consent_then_consent_then_replay_then_withdraw(app_client, tokens, banks):
    w, villager = banks, await tokens("villager")
    bank = w.bank.token
    await _withdraw_all(app_client, villager, w.bank.recipient)

    # without consent: refused; an unknown ID number answers exactly the same (no existence oracle).
    # (A household that never consented to this bank: the demo villager's may have withdrawn one.)
    never = (await fetch("""SELECT m.household FROM household_membership m WHERE m.valid_to IS NULL
                            AND m.relation = '户主' AND NOT EXISTS (SELECT 1 FROM consent_event c
                            WHERE c.subject_kind = 'household' AND c.subject_id = m.household)
                            ORDER BY m.household LIMIT 1"""))[0]["household"]
    known = await _pull(app_client, bank, await head_id_number(never), "MICRO")
    unknown = await _pull(app_client, bank, _unknown_id_number(w.head_id_number), "MICRO")
    _refusal(known, 403, "CONSENT_REQUIRED")
    _refusal(unknown, 403, "CONSENT_REQUIRED")
    strip = lambda r: {k: v for k, v in r.json().items() if k != "details"}  # noqa: E731 - details: the pull id
    assert strip(known) == strip(unknown) and set(known.json()["details"]) == set(unknown.json()["details"])
    assert (await fetch("SELECT count(*) AS n FROM bank_rating_pull WHERE id = ANY({})",
                        [known.json()["details"]["pull_id"], unknown.json()["details"]["pull_id"]]))[0]["n"] == 2

    consent_id = await _grant(app_client, villager, w.bank.recipient, "credit_application",
                              w.notices["credit_application"])
    key = _key()
    r = await _pull(app_client, bank, w.head_id_number, "MICRO", key=key)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["outcome"], answer["code"], answer["consent_id"]) == ("rated", "OK", consent_id)
    official = (await fetch("""SELECT p.*, pe.code AS period_code FROM rating_proposal p JOIN rating_period pe
                               ON pe.id = p.period WHERE p.level = 'household' AND p.subject_id = {}
                               AND p.status = 'effective' ORDER BY pe.ends_on DESC LIMIT 1""", w.household))[0]
    # the newest effective rating (other tests may have rated the whole county after this module's period)
    assert answer["rating"]["grade"] == official["grade"] and answer["rating"]["period_code"] == official["period_code"]
    assert answer["rating"]["score"] == official["computed_score"]  # the product's scope includes the score

    # the attestation verifies with joserfc against the published JWKS, and with our own rules
    jwks = await _jwks(app_client)
    token = answer["attestation"]["jws"]
    claims = _joserfc_verify(token, jwks, w.bank.client_id)
    ours = our_tokens.verify_statement(token, jwks["keys"], typ=services.ATTESTATION_TYP, audience=w.bank.client_id,
                                       issuer=get_settings().jwt_issuer, now=clock.now())
    assert ours == claims == answer["claims"]
    assert claims["grade"] == official["grade"] and claims["period"] == official["period_code"]
    assert claims["catalogue_version"] == official["catalogue_version"]
    assert claims["effective_on"] == official["effective_on"].isoformat()
    assert claims["publicity_starts_on"] == official["publicity_starts_on"].isoformat()
    assert claims["publicity_ends_on"] == official["publicity_ends_on"].isoformat()
    consent_row = (await fetch("SELECT * FROM consent_event WHERE id = {}", consent_id))[0]
    assert (claims["consent_id"], claims["notice_sha256"]) == (consent_id, consent_row["notice_sha256"])
    assert claims["product"] == "MICRO" and claims["scope"] == "grade_score" and claims["score"] == official["computed_score"]
    head = (await fetch("SELECT id, hash FROM ledger_entry ORDER BY id DESC LIMIT 1"))
    assert claims["ledger_head"] == ({"id": head[0]["id"], "hash": head[0]["hash"]} if head else claims["ledger_head"])
    assert claims["sub"] == services.pseudonym(w.bank.db_id, w.household) != services.pseudonym(w.other.db_id,
                                                                                              w.household)
    assert w.head_id_number not in json.dumps(answer)
    assert claims["exp"] > claims["iat"]

    # replay: the same stored answer (same attestation, same jti); another body under the key: 409
    again = await _pull(app_client, bank, w.head_id_number, "MICRO", key=key)
    assert again.status_code == 200 and again.json() == answer
    other_body = await _pull(app_client, bank, w.head_id_number, "REVIEW", key=key)
    _refusal(other_body, 409, "IDEMPOTENCY_KEY_REUSED")
    assert (await fetch("SELECT count(*) AS n FROM bank_rating_pull WHERE idempotency_key = {}", key))[0]["n"] == 1
    _refusal(await _pull(app_client, bank, w.head_id_number, "MICRO", key=""), 422, "IDEMPOTENCY_KEY_REQUIRED")
    _refusal(await _pull(app_client, bank, w.head_id_number, "MICRO", key="short"), 422, "IDEMPOTENCY_KEY_REQUIRED")

    # wrong purpose (the product does not allow it), unknown product, purpose the consent lacks
    _refusal(await _pull(app_client, bank, w.head_id_number, "MICRO", "credit_line_review"), 422, "PURPOSE_NOT_ALLOWED")
    _refusal(await _pull(app_client, bank, w.head_id_number, "NOPE"), 422, "PRODUCT_UNKNOWN")
    _refusal(await _pull(app_client, bank, w.head_id_number, "REVIEW", "credit_line_review"), 403, "CONSENT_REQUIRED")
    # a product needing more than the consent covers
    _refusal(await _pull(app_client, bank, w.head_id_number, "FULL"), 403, "CONSENT_SCOPE_INSUFFICIENT")
    # another bank, same household: its own consent is needed
    _refusal(await _pull(app_client, w.other.token, w.head_id_number, "MICRO"), 403, "CONSENT_REQUIRED")
    # stale rating: refused by a blocking product, a failed check without any rating data otherwise
    _refusal(await _pull(app_client, bank, w.head_id_number, "STALE"), 409, "RATING_STALE")
    soft = await _pull(app_client, bank, w.head_id_number, "SOFT")
    assert soft.status_code == 200, soft.text
    assert (soft.json()["outcome"], soft.json()["code"], soft.json()["rating"], soft.json()["attestation"]) == \
        ("check_failed", "RATING_STALE", None, None)

    # the household's access history lists the pulls: the head and another member, through HTTP
    pull_ids = {answer["pull_id"], soft.json()["pull_id"]}
    for viewer in (villager, w.member_headers):
        log = (await app_client.get("/api/v1/me/access-log?limit=200", headers=viewer)).json()
        pulls = [i for i in log["items"] if "银行查询信用评级" in i["why_zh"] and "示范农商银行" in i["who_zh"]]
        rated = [i for i in pulls if "信用等级" in i["what_zh"]]
        assert rated and all(i["role_zh"] == "银行" for i in pulls), log["items"][:3]
        assert any("农户小额信用贷款" in i["why_zh"] and f"授权编号 {consent_id}" in i["why_zh"]
                   and "信用积分" in i["what_zh"] for i in rated)
        assert any("测试产品SOFT" in i["why_zh"] and i["what_zh"] == ["信用评级核验结果（未提供等级）"] for i in pulls)
        assert all(i["about_zh"] == "您家（全户）" for i in pulls)
    logged = await fetch("""SELECT a.purpose, a.actor_org_zh, c.name FROM access_log a
                            JOIN bank_client c ON c.id = a.actor_id
                            WHERE a.household_id = {} AND a.purpose LIKE 'bank_pull:%'""", w.household)
    assert {f"bank_pull:{p}" for p in pull_ids} <= {r["purpose"] for r in logged}
    assert all(r["actor_org_zh"] == r["name"] for r in logged)  # the bank's name, loaded with the caller
    # refused for want of consent: nothing was read, no access-log row
    assert not await fetch("SELECT 1 FROM access_log WHERE purpose = {}",
                           f"bank_pull:{known.json()['details']['pull_id']}")

    # withdraw: the very next pull is refused
    r = await app_client.post(f"/api/v1/consents/{consent_id}/withdraw", headers=villager)
    assert r.status_code == 200, r.text
    _refusal(await _pull(app_client, bank, w.head_id_number, "MICRO"), 403, "CONSENT_WITHDRAWN")
    # …but the replay of the earlier pull is still the answer given then (not retroactive)
    assert (await _pull(app_client, bank, w.head_id_number, "MICRO", key=key)).json() == answer


async def test_fifty_concurrent_identical_pulls_make_one_row(app_client, tokens, banks):
    w, villager = banks, await tokens("villager")
    await _withdraw_all(app_client, villager, w.bank.recipient)
    consent_id = await _grant(app_client, villager, w.bank.recipient, "credit_application",
                              w.notices["credit_application"])
    key = _key()
    answers = await asyncio.gather(*[_pull(app_client, w.bank.token, w.head_id_number, "MICRO", key=key)
                                     for _ in range(50)])
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["attestation"]["jti"] for a in answers}) == 1
    assert answers[0].json()["consent_id"] == consent_id
    rows = await fetch("SELECT count(*) AS n FROM bank_rating_pull WHERE idempotency_key = {}", key)
    assert rows[0]["n"] == 1


async def test_expired_consent_is_refused(app_client, tokens, banks):
    w = banks
    later = clock.now() + timedelta(days=400)  # past the notice's 365 days
    with clock.frozen(later):
        _refusal(await _pull(app_client, w.bank.token, w.head_id_number, "MICRO"), 403, "CONSENT_EXPIRED")
    assert (await _pull(app_client, w.bank.token, w.head_id_number, "MICRO")).status_code == 200


async def test_newer_notice_needs_fresh_consent(app_client, tokens, banks):
    w, villager, county = banks, await tokens("villager"), await tokens("county_admin")
    await _grant(app_client, villager, w.bank.recipient, "credit_line_review", w.notices["credit_line_review"])
    ok = await _pull(app_client, w.bank.token, w.head_id_number, "REVIEW", "credit_line_review")
    assert ok.status_code == 200, ok.text
    w.notices["credit_line_review"] = await notice(app_client, county, "credit_line_review")
    _refusal(await _pull(app_client, w.bank.token, w.head_id_number, "REVIEW", "credit_line_review"), 403,
             "CONSENT_NOTICE_OUTDATED")


async def test_pulls_are_append_only(banks):
    from asyncpg.exceptions import RaiseError

    for sql in ("UPDATE bank_rating_pull SET code = 'OK'", "DELETE FROM bank_rating_pull"):
        with pytest.raises(Exception) as caught:
            await fetch(sql)
        assert isinstance(caught.value, RaiseError) or "append-only" in str(caught.value).lower() or \
            "refuse" in str(caught.value).lower()


async def test_rating_under_objection_is_never_disclosed(app_client, tokens, banks):
    """A neighbour household: effective rating in the first period; a newer period publicised and
    objected to by the household → RATING_UNDER_OBJECTION (blocking) / check_failed (not)."""
    w = banks
    villager = await tokens("villager")
    me = (await app_client.get("/api/v1/auth/me", headers=villager)).json()
    village = (await fetch("SELECT village FROM household WHERE id = {}", me["household_id"]))[0]["village"]
    neighbour_household = (await fetch(
        """SELECT h.id FROM household h JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
           AND m.relation = '户主' WHERE h.village = {} AND h.id <> {} ORDER BY h.id DESC LIMIT 1""",
        village, me["household_id"]))[0]["id"]
    head = (await fetch("""SELECT person FROM household_membership WHERE household = {} AND valid_to IS NULL
                           AND relation = '户主'""", neighbour_household))[0]["person"]
    neighbour = await villager_for(app_client, head)
    number = await head_id_number(neighbour_household)
    await _grant(app_client, neighbour, w.bank.recipient, "credit_application", w.notices["credit_application"])
    assert (await _pull(app_client, w.bank.token, number, "MICRO")).status_code == 200

    newer_ends = TODAY - timedelta(days=5)
    await rating_period("N" + uuid.uuid4().hex[:8], newer_ends, TODAY, None)
    proposal = (await fetch("""SELECT p.id FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
                               WHERE p.level = 'household' AND p.subject_id = {} AND pe.ends_on = {}
                               AND p.status = 'publicised'""", neighbour_household, newer_ends))[0]["id"]
    # publicised, not yet effective: the older effective rating is still the answer
    effective = (await fetch("""SELECT pe.code FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
                                WHERE p.level = 'household' AND p.subject_id = {} AND p.status = 'effective'
                                ORDER BY pe.ends_on DESC, p.id DESC LIMIT 1""", neighbour_household))[0]["code"]
    assert (await _pull(app_client, w.bank.token, number, "MICRO")).json()["rating"]["period_code"] == effective
    r = await app_client.post(f"/api/v1/ratings/proposals/{proposal}/objections", headers=neighbour,
                              json={"reason": "我家参加志愿服务的积分未计入"})
    assert r.status_code == 201, r.text
    _refusal(await _pull(app_client, w.bank.token, number, "MICRO"), 409, "RATING_UNDER_OBJECTION")
    soft = await _pull(app_client, w.bank.token, number, "SOFT")
    assert (soft.status_code, soft.json()["outcome"], soft.json()["code"], soft.json()["rating"]) == \
        (200, "check_failed", "RATING_UNDER_OBJECTION", None)


async def test_an_entry_under_objection_holds_the_answer_back(app_client, tokens, banks):
    """Issue 11: an open objection against a ledger entry of the household's head (filed in the
    app) → RATING_UNDER_OBJECTION until it is decided, although the effective rating predates it."""
    w = banks
    township = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()["township_id"]
    row = (await fetch("""SELECT h.id AS household, m.person FROM household h JOIN village v ON v.id = h.village
                          JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL AND m.relation = '户主'
                          WHERE v.township = {} AND NOT EXISTS (SELECT 1 FROM consent_event c
                            WHERE c.subject_kind = 'household' AND c.subject_id = h.id)
                          ORDER BY h.id DESC LIMIT 1""", township))[0]
    head = await villager_for(app_client, row["person"])
    number = await head_id_number(row["household"])
    await _grant(app_client, head, w.bank.recipient, "credit_application", w.notices["credit_application"])
    assert (await _pull(app_client, w.bank.token, number, "MICRO")).status_code == 200
    entry_id = await counted_entry(app_client, await tokens("township_admin"), row["person"])
    filed = await app_client.post("/api/v1/entry-objections", headers=head,
                                  json={"entry_id": entry_id, "reason": "工资已按时结清，有银行流水为证"})
    assert filed.status_code == 201, filed.text
    _refusal(await _pull(app_client, w.bank.token, number, "MICRO"), 409, "RATING_UNDER_OBJECTION")
