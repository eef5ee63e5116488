"""Consent through HTTP: grant → active → withdraw → withdrawn; stale notice; receipt verified
with joserfc (not python-jose) against the published JWKS, also after a key rotation; the QR
code decodes to the JWS."""

from __future__ import annotations

import io
import json
import uuid

import zxingcpp
from joserfc import jws
from joserfc.jwk import KeySet
from PIL import Image

from backend.consent import keys

TEXT = "本人同意将家庭信用等级提供给{recipient}，用于信贷申请；方式：系统查询；保存期限一年；可随时在村信应用中撤回。"


async def test_grant_withdraw_receipt(app_client, tokens):
    county = await tokens("county_admin")
    villager = await tokens("villager")
    code = f"bank-{uuid.uuid4().hex[:8]}"
    r = await app_client.post("/api/v1/consent/recipients", headers=county,
                              json={"kind": "bank", "code": code, "name_zh": "甘州区农村商业银行"})
    assert r.status_code == 201, r.text
    recipient = r.json()["id"]
    r = await app_client.post("/api/v1/consent/notices", headers=county,
                              json={"recipient_kind": "bank", "purpose": "credit_application", "title_zh": "信贷授权",
                                    "text_zh": TEXT, "consent_days": 365})
    assert r.status_code == 201, r.text
    notice = r.json()
    body = {"subject": "household", "recipient_id": recipient, "purpose": "credit_application",
            "data_scope": "grade", "notice_id": notice["id"]}
    r = await app_client.post("/api/v1/me/consents", headers=villager, json=body)
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["status"] == "active"
    mine = (await app_client.get("/api/v1/me/consents", headers=villager)).json()
    assert any(c["id"] == grant["id"] and c["status"] == "active" for c in mine)

    receipt = (await app_client.get(f"/api/v1/consents/{grant['id']}/receipt", headers=villager)).json()
    jwks = (await app_client.get("/.well-known/jwks.json")).json()
    verified = jws.deserialize_compact(receipt["jws"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert verified.headers()["typ"] == "consent-receipt+jwt"
    tampered = receipt["jws"][:-3] + ("AAA" if not receipt["jws"].endswith("AAA") else "BBB")
    try:
        jws.deserialize_compact(tampered, KeySet.import_key_set(jwks), algorithms=["ES256"])
        raise AssertionError("a tampered receipt verified")
    except Exception as exc:  # joserfc raises BadSignatureError
        assert "signature" in type(exc).__name__.lower() or "signature" in str(exc).lower()
    png = await app_client.get(f"/api/v1/consents/{grant['id']}/receipt.png", headers=villager)
    assert png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and 100 <= image.width <= 1000
    scanned = zxingcpp.read_barcodes(image.convert("L"))[0].text  # ECDSA signs afresh each time: same claims
    from_qr = jws.deserialize_compact(scanned, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert {k: v for k, v in json.loads(from_qr.payload).items() if k != "iat"} == {k: v for k, v in receipt["claims"].items()
                                                                         if k != "iat"}
    print("receipt bytes", receipt["bytes"], "png", image.size)

    await keys.rotate()
    jwks = (await app_client.get("/.well-known/jwks.json")).json()
    assert any(k["status"] == "retired" for k in jwks["keys"])
    jws.deserialize_compact(receipt["jws"], KeySet.import_key_set(jwks), algorithms=["ES256"])

    r = await app_client.post(f"/api/v1/consents/{grant['id']}/withdraw", headers=villager)
    assert r.status_code == 200, r.text
    mine = (await app_client.get("/api/v1/me/consents", headers=villager)).json()
    assert next(c for c in mine if c["id"] == grant["id"])["status"] == "withdrawn"
    r = await app_client.post(f"/api/v1/consents/{grant['id']}/withdraw", headers=villager)
    assert r.status_code == 409 and r.json()["code"] == "CONSENT_ALREADY_WITHDRAWN"

    await app_client.post("/api/v1/consent/notices", headers=county,
                          json={"recipient_kind": "bank", "purpose": "credit_application", "title_zh": "信贷授权二",
                                "text_zh": TEXT + "（修订）", "consent_days": 365})
    r = await app_client.post("/api/v1/me/consents", headers=villager, json=body)
    assert r.status_code == 409 and r.json()["code"] == "CONSENT_NOTICE_STALE"
    r = await app_client.post("/api/v1/me/consents", headers=villager, json={**body, "purpose": "credit\x00"})
    assert r.status_code == 422
