"""The OpenAPI document tells the truth: summaries a person wrote, bearer security where the
middleware wants a token, every documented error in the real error body, images as images."""

import re

from backend.auth.middleware import PUBLIC_PATHS

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_REF = "#/components/schemas/ErrorBody"


async def _operations(app_client):
    schema = (await app_client.get("/schema/openapi.json")).json()
    return schema, [(path, method, op) for path, item in schema["paths"].items()
                    for method, op in item.items() if method in METHODS]


def _public(path):
    return any(re.search(pattern, path) for pattern in PUBLIC_PATHS)


async def test_summaries_are_written_unique_and_bilingual(app_client):
    _, operations = await _operations(app_client)
    assert len(operations) >= 60
    summaries = [op.get("summary", "") for _, _, op in operations]
    assert len(summaries) == len(set(summaries)), "summaries must be unique"
    for path, method, op in operations:
        summary = op.get("summary", "")
        # Litestar's default summary is the handler name in PascalCase ("Household", "Mine").
        assert not re.fullmatch(r"[A-Z][A-Za-z]*", summary), (path, method, summary)
        assert re.search(r"[\u4e00-\u9fff]", summary) and re.search(r"[A-Za-z]", summary), (path, method, summary)
        assert op.get("description"), (path, method, "the docstring becomes the description")
        assert op.get("operationId"), (path, method)


async def test_bearer_security_exactly_on_protected_operations(app_client):
    schema, operations = await _operations(app_client)
    scheme = schema["components"]["securitySchemes"]["bearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, method, op in operations:
        if _public(path):
            assert "security" not in op, (path, method)
        else:
            assert op.get("security") == [{"bearerToken": []}], (path, method)
            assert "401" in op["responses"], (path, method)


async def test_every_error_response_has_the_real_error_body(app_client):
    _, operations = await _operations(app_client)
    for path, method, op in operations:
        for status, response in op["responses"].items():
            if status.startswith("4"):
                content = response.get("content") or {}
                assert content.get("application/json", {}).get("schema", {}).get("$ref") == ERROR_REF, \
                    (path, method, status)


async def test_login_and_token_document_401_and_429_with_retry_after(app_client):
    schema, _ = await _operations(app_client)
    for path in ("/api/v1/auth/login", "/api/v1/auth/token"):
        responses = schema["paths"][path]["post"]["responses"]
        assert "401" in responses and "429" in responses
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
    token_body = schema["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert "grant_type" in token_body["application/x-www-form-urlencoded"]["schema"]["required"]


async def test_images_are_documented_as_binary_images(app_client):
    schema, _ = await _operations(app_client)
    for path in ("/api/v1/evidence/{evidence_id}/image", "/api/v1/evidence/{evidence_id}/thumbnail",
                 "/api/v1/county/charts/grade-distribution.svg",
                 "/api/v1/townships/{township_id}/charts/trend.svg"):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert content and all(media.startswith("image/") for media in content), path
        assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values()), path


async def test_unsupported_method_is_405_with_allow(app_client, tokens):
    response = await app_client.delete("/api/v1/townships", headers=await tokens("county_admin"))
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
