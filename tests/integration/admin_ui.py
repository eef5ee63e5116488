"""Logging in to the back office (piccolo-admin) the way a browser does: the CSRF cookie from the
page, then the login form. Returns the headers its API calls need."""

from __future__ import annotations

from dev.seed import DEMO_PASSWORD


async def admin_login(client, username: str = "county_admin", password: str = DEMO_PASSWORD) -> dict[str, str]:
    client.cookies.clear()
    assert (await client.get("/admin/")).status_code == 200
    csrf = client.cookies.get("csrftoken")
    response = await client.post("/admin/public/login/", json={"username": username, "password": password},
                                 headers={"X-CSRFToken": csrf})
    assert response.status_code in (200, 303), response.text
    return {"X-CSRFToken": csrf}
