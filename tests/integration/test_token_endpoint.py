"""The bank token endpoint as OAuth2 clients use it (RFC 6749 §4.4): a form body, client
authentication by HTTP Basic or in the body, ``grant_type`` fixed — checked with Authlib, a
standard OAuth2 client library, besides hand-made requests for the refusals."""

from __future__ import annotations

import base64

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET

TOKEN = "/api/v1/auth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def _me(app_client, access_token: str) -> dict:
    response = await app_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_standard_oauth2_client_gets_a_bank_token(app_client, method):
    transport = httpx.ASGITransport(app=app_client.app, client=("127.0.0.1", 50001))
    async with AsyncOAuth2Client(DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, token_endpoint_auth_method=method,
                                 transport=transport, base_url="http://testserver") as client:
        token = await client.fetch_token("http://testserver" + TOKEN, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer" and token["expires_in"] > 0
    me = await _me(app_client, token["access_token"])
    assert (me["kind"], me["role"], me["username"]) == ("bank_client", "bank", DEMO_BANK_CLIENT_ID)


async def test_json_bodies_still_work(app_client):
    response = await app_client.post(TOKEN, json={"grant_type": "client_credentials", "client_id": DEMO_BANK_CLIENT_ID,
                                                  "client_secret": DEMO_BANK_SECRET})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_a_wrong_secret_by_basic_is_the_usual_401(app_client):
    response = await app_client.post(TOKEN, content="grant_type=client_credentials",
                                     headers={**FORM, **_basic(DEMO_BANK_CLIENT_ID, "not-the-secret")})
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_BAD_CLIENT")


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    ("grant_type=password&client_id=demo-bank&client_secret=x", FORM, 400, "REQUEST_INVALID"),
    ("client_id=demo-bank&client_secret=x", FORM, 400, "REQUEST_INVALID"),
    ("grant_type=client_credentials&client_id=demo%00bank&client_secret=x", FORM, 422, "INPUT_CONTROL_CHARACTER"),
    ("grant_type=client_credentials&grant_type=client_credentials&client_id=a&client_secret=b", FORM, 400,
     "REQUEST_INVALID"),
    ("grant_type=client_credentials&client_id=a&client_secret=b&scope=all", FORM, 400, "REQUEST_INVALID"),
    ("grant_type=client_credentials", {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("grant_type=client_credentials&client_id=demo-bank", {**FORM, **_basic(DEMO_BANK_CLIENT_ID, "x")}, 422,
     "AUTH_CLIENT_AUTH_TWICE"),
    ("grant_type=client_credentials", {**FORM, "Authorization": "Basic !!!"}, 401, "AUTH_BAD_CLIENT"),
])
async def test_malformed_token_requests_are_refused_with_a_code(app_client, body, headers, status, code):
    response = await app_client.post(TOKEN, content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


async def test_the_schema_documents_form_and_json_with_the_fixed_grant_type(app_client):
    schema = (await app_client.get("/schema/openapi.json")).json()
    operation = schema["paths"][TOKEN]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/x-www-form-urlencoded", "application/json"}
    for media in content.values():
        body = media["schema"]
        assert body["properties"]["grant_type"]["enum"] == ["client_credentials"]
        assert {"grant_type", "client_id", "client_secret"} <= set(body["required"])
    assert "415" in operation["responses"] and "422" in operation["responses"]
