"""Attacks on the attestation and on the bank's token, role boundaries, the rate limit (and Redis
down), and the products API: county-scoped, audited, deactivation, the bank's and the county's
lists of pulls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from jose import jwt as jose_jwt
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from backend import clock
from backend.auth import accounts, throttle
from backend.auth.roles import Actor, Role
from backend.errors import NotFound
from backend.auth import tokens as our_tokens
from backend.bank import limits, services
from backend.consent import keys
from backend.db import fetch
from backend.settings import get_settings
from dev.demo_data import COUNTY_CODE

from .conftest import bank_token, forget_rate_limits, new_bank, product

ISSUER = get_settings().jwt_issuer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _pull_body(world, product_code: str = "MICRO") -> dict:
    return {"head_id_number": world.head_id_number, "product_code": product_code, "purpose": "credit_application"}


async def _attestation(app_client, tokens, world) -> tuple[str, dict, str]:
    """A real attestation, to a bank of this test's own (the demo bank's consents are test_pulls')."""
    county = await tokens("county_admin")
    bank = await new_bank(app_client, county, "攻击测试银行")
    await product(app_client, county, bank.recipient, "MICRO")
    g = await app_client.post("/api/v1/me/consents", headers=await tokens("villager"), json={
        "subject": "household", "recipient_id": bank.recipient, "purpose": "credit_application",
        "data_scope": "grade_score", "notice_id": world.notices["credit_application"]})
    assert g.status_code == 201, g.text
    headers = await bank_token(app_client, bank.client_id, bank.secret)
    r = await app_client.post("/api/v1/bank/rating-pulls", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                              json=_pull_body(world))
    assert r.status_code == 200, r.text
    return r.json()["attestation"]["jws"], (await app_client.get("/.well-known/jwks.json")).json(), bank.client_id


def _refused_by_both(token: str, jwks: dict, audience: str, *, now=None) -> None:
    """Our published rules (verify_statement) and joserfc (ES256 only, iss/aud/exp) both refuse."""
    now = now or clock.now()
    with pytest.raises(our_tokens.SignatureInvalid):
        our_tokens.verify_statement(token, jwks["keys"], typ=services.ATTESTATION_TYP, audience=audience,
                                    issuer=ISSUER, now=now)
    with pytest.raises((JoseError, ValueError)):
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
        jwt.JWTClaimsRegistry(now=int(now.timestamp()), iss={"essential": True, "value": ISSUER},
                              aud={"essential": True, "value": audience},
                              exp={"essential": True}).validate(decoded.claims)


async def test_attestation_attacks_are_refused(app_client, tokens, world):
    token, jwks, audience = await _attestation(app_client, tokens, world)
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    # the genuine one passes both (so the refusals below are about the attack, not the set-up)
    our_tokens.verify_statement(token, jwks["keys"], typ=services.ATTESTATION_TYP, audience=audience, issuer=ISSUER,
                                now=clock.now())
    jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"])

    # alg none, no signature
    none = f"{_b64json({**header, 'alg': 'none'})}.{payload_b64}."
    _refused_by_both(none, jwks, audience)
    # HS256 "signed" with the published public key (algorithm confusion)
    public = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    for secret in (json.dumps(public).encode(), public["x"].encode()):
        signing_input = f"{_b64json({**header, 'alg': 'HS256'})}.{payload_b64}"
        forged = signing_input + "." + _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        _refused_by_both(forged, jwks, audience)
    # tampered payload (a better grade), the signature kept
    better = {**claims, "grade": "AAA" if claims["grade"] != "AAA" else "AA"}
    _refused_by_both(f"{header_b64}.{_b64json(better)}.{signature_b64}", jwks, audience)
    # wrong audience: another bank cannot pass it off as addressed to itself
    _refused_by_both(token, jwks, world.bank.client_id)
    # expired: a genuine signature whose exp has passed (signed by our key, as issued long ago)
    key = await keys.active_key()
    old = {**claims, "iat": claims["iat"] - 90 * 86400, "exp": claims["iat"] - 60 * 86400}
    _refused_by_both(our_tokens.sign_jws(old, typ=services.ATTESTATION_TYP, key=key), jwks, audience)
    # …and the genuine one read after its own expiry
    _refused_by_both(token, jwks, audience, now=clock.now() + timedelta(days=31))
    # another kind of statement (a consent receipt's typ) is not an attestation
    receipt_typed = our_tokens.sign_jws(claims, typ="consent-receipt+jwt", key=key)
    with pytest.raises(our_tokens.SignatureInvalid):
        our_tokens.verify_statement(receipt_typed, jwks["keys"], typ=services.ATTESTATION_TYP, audience=audience,
                                    issuer=ISSUER, now=clock.now())


async def test_bank_token_attacks_are_refused(app_client, world):
    settings = get_settings()
    real = (await bank_token(app_client, world.bank.client_id, world.bank.secret))["Authorization"].split()[1]
    claims = jose_jwt.get_unverified_claims(real)
    header_b64, payload_b64, signature_b64 = real.split(".")
    url, body = "/api/v1/bank/rating-pulls", _pull_body(world)
    jwks = (await app_client.get("/.well-known/jwks.json")).json()
    forged = {
        "alg none": f"{_b64json({'alg': 'none', 'typ': 'JWT'})}.{payload_b64}.",
        "HS256 with the public key": jose_jwt.encode(claims, json.dumps(jwks["keys"][0]), algorithm="HS256"),
        "expired": jose_jwt.encode({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600},
                                   settings.secret_key, algorithm="HS256"),
        "wrong aud": jose_jwt.encode({**claims, "aud": "someone-else"}, settings.secret_key, algorithm="HS256"),
        "tampered": f"{header_b64}.{_b64json({**claims, 'sub': 'bank:999999'})}.{signature_b64}",
    }
    for name, token in forged.items():
        r = await app_client.post(url, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                                  json=body)
        assert r.status_code == 401, (name, r.text)
        assert r.json()["code"].startswith("AUTH_"), (name, r.text)
    r = await app_client.post(url, headers={"Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 401


async def test_roles_on_bank_and_villager_endpoints(app_client, tokens, world):
    bank = await bank_token(app_client, world.bank.client_id, world.bank.secret)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    for who in ("villager", "county_admin", "grid_worker", "township_admin", "auditor"):
        r = await app_client.post("/api/v1/bank/rating-pulls", headers={**await tokens(who), **key},
                                  json=_pull_body(world))
        assert (r.status_code, r.json()["code"]) == (403, "PERMISSION_DENIED"), (who, r.text)
    for method, url in (("GET", "/api/v1/me/access-log"), ("GET", "/api/v1/me/consents"),
                        ("GET", f"/api/v1/households/{world.household}/rating"),
                        ("GET", f"/api/v1/households/{world.household}/consents"),
                        ("POST", "/api/v1/bank/products")):
        r = await app_client.request(method, url, headers=bank, json={} if method == "POST" else None)
        assert r.status_code in (403, 404), (url, r.text)
        assert r.json()["code"] in ("PERMISSION_DENIED", "NOT_FOUND"), (url, r.text)
        assert "grade" not in r.text


async def test_rate_limit_and_redis_down(app_client, world, monkeypatch):
    client_id, secret = await accounts.create_bank_client("限流测试银行", COUNTY_CODE)
    headers = await bank_token(app_client, client_id, secret)
    await forget_rate_limits()
    monkeypatch.setattr(limits, "PULLS_PER_WINDOW", 3)
    codes = []
    for _ in range(4):
        r = await app_client.post("/api/v1/bank/rating-pulls", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                                  json=_pull_body(world))
        codes.append(r.status_code)
    assert codes[:3] == [422, 422, 422]  # this bank has no products: PRODUCT_UNKNOWN, each recorded
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= limits.WINDOW_SECONDS
    rows = await fetch("""SELECT count(*) AS n FROM bank_rating_pull p JOIN bank_client c ON c.id = p.bank_client
                          WHERE c.client_id = {}""", client_id)
    assert rows[0]["n"] == 3  # the limited one was not recorded: nothing was looked at

    def broken():
        raise ConnectionError("redis down")

    monkeypatch.setattr(throttle, "redis_client", broken)
    fresh = await bank_token(app_client, world.bank.client_id, world.bank.secret)  # login works without Redis
    r = await app_client.post("/api/v1/bank/rating-pulls", headers={**fresh, "Idempotency-Key": uuid.uuid4().hex},
                              json=_pull_body(world))
    assert (r.status_code, r.json()["code"]) == (503, "SERVICE_UNAVAILABLE")  # fails closed


async def test_products_are_county_scoped_audited_and_deactivated(app_client, tokens, world):
    county = await tokens("county_admin")
    listed = (await app_client.get("/api/v1/bank/products", headers=county)).json()
    assert {"MICRO", "REVIEW", "STALE", "SOFT", "FULL"} <= {p["code"] for p in listed}
    bank_view = (await app_client.get("/api/v1/bank/products",
                                      headers=await bank_token(app_client, world.bank.client_id,
                                                               world.bank.secret))).json()
    assert {p["recipient_id"] for p in bank_view} == {world.bank.recipient}  # its own only
    for who in ("township_admin", "villager", "grid_worker"):
        r = await app_client.post("/api/v1/bank/products", headers=await tokens(who), json={})
        assert r.status_code == 403, who
    dup = await app_client.post("/api/v1/bank/products", headers=county, json={
        "recipient_id": world.bank.recipient, "code": "MICRO", "name_zh": "重复产品", "purposes": ["credit_application"],
        "data_scope": "grade", "rating_mandatory": True, "stale_days": 365, "failed_check_blocks": True})
    assert (dup.status_code, dup.json()["code"]) == (409, "BANK_PRODUCT_EXISTS")
    bad = await app_client.post("/api/v1/bank/products", headers=county, json={
        "recipient_id": world.bank.recipient, "code": "HONOUR", "name_zh": "错误用途", "purposes": ["honour_roll"],
        "data_scope": "grade", "rating_mandatory": True, "stale_days": 365, "failed_check_blocks": True})
    assert (bad.status_code, bad.json()["code"]) == (422, "PURPOSE_NOT_ALLOWED")
    strict = await app_client.post("/api/v1/bank/products", headers=county, json={
        "recipient_id": world.bank.recipient, "code": "X1", "name_zh": "严格", "purposes": ["credit_application"],
        "data_scope": "grade", "rating_mandatory": 1, "stale_days": "365", "failed_check_blocks": True})
    assert strict.status_code in (400, 422)
    made = await product(app_client, county, world.bank.recipient, "TEMP" + uuid.uuid4().hex[:6])
    off = await app_client.post(f"/api/v1/bank/products/{made['id']}/deactivate", headers=county)
    assert off.status_code == 200 and off.json()["active"] is False
    bank = await bank_token(app_client, world.bank.client_id, world.bank.secret)
    r = await app_client.post("/api/v1/bank/rating-pulls", headers={**bank, "Idempotency-Key": uuid.uuid4().hex},
                              json=_pull_body(world, made["code"]))
    assert (r.status_code, r.json()["code"]) == (422, "PRODUCT_UNKNOWN")
    assert (await app_client.post("/api/v1/bank/products/2147483000/deactivate", headers=county)).status_code == 404
    # another county's admin: the product answers like a missing one, and stays active
    foreign = Actor(kind="account", id=1, role=Role.COUNTY_ADMIN, label="county_x", sid="x", county_id=2**31 - 1)
    with pytest.raises(NotFound):
        await services.deactivate_product(foreign, world.products["MICRO"]["id"])
    assert (await fetch("SELECT active FROM bank_product WHERE id = {}", world.products["MICRO"]["id"]))[0]["active"]
    assert await services.list_products(foreign) == []
    events = await fetch("SELECT kind, detail FROM security_event WHERE kind LIKE 'bank_product_%' ORDER BY id")
    assert {"bank_product_create", "bank_product_deactivate"} <= {e["kind"] for e in events}
    assert any(json.loads(e["detail"])["id"] == made["id"] for e in events if e["kind"] == "bank_product_deactivate")
    pulls = await fetch("SELECT count(*) AS n FROM security_event WHERE kind = 'bank_rating_pull'")
    assert pulls[0]["n"] >= 1


async def test_lists_of_pulls(app_client, tokens, world):
    bank = await bank_token(app_client, world.bank.client_id, world.bank.secret)
    own = (await app_client.get("/api/v1/bank/rating-pulls?limit=200", headers=bank)).json()
    assert own and {p["bank_client_id"] for p in own} == {world.bank.client_id}
    assert all(p["household_id"] is None for p in own)  # the bank knows households by its pseudonym only
    other = (await app_client.get("/api/v1/bank/rating-pulls",
                                  headers=await bank_token(app_client, world.other.client_id, world.other.secret))).json()
    assert {p["id"] for p in other}.isdisjoint({p["id"] for p in own})
    county = (await app_client.get("/api/v1/bank/rating-pulls?limit=200", headers=await tokens("county_admin"))).json()
    assert any(p["household_id"] == world.household for p in county)
    logged = await fetch("SELECT count(*) AS n FROM access_log WHERE purpose = 'bank_pull_review'")
    assert logged[0]["n"] >= 1
    for who in ("villager", "township_admin", "grid_worker"):
        assert (await app_client.get("/api/v1/bank/rating-pulls", headers=await tokens(who))).status_code == 403
