async def test_readyz(app_client):
    response = await app_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "postgres": "ok", "redis": "ok"}


async def test_login_and_me(app_client, tokens):
    response = await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "township_admin"
