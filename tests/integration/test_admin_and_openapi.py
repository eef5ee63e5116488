"""The admin UI (county staff) and the OpenAPI document."""

from backend.audit.tables import AccessLog
from dev.seed import DEMO_PASSWORD
from backend.registry.tables import Person


async def _admin_login(client, username="county_admin", password=DEMO_PASSWORD):
    page = await client.get("/admin/")
    assert page.status_code == 200
    csrf = client.cookies.get("csrftoken")
    assert csrf, "admin must set a CSRF cookie"
    response = await client.post("/admin/public/login/", json={"username": username, "password": password},
                                 headers={"X-CSRFToken": csrf})
    return response, csrf


async def test_admin_page_is_served(app_client):
    response = await app_client.get("/admin/")
    assert response.status_code == 200
    assert "<html" in response.text.lower()
    meta = await app_client.get("/admin/public/meta/")
    assert meta.json()["site_name"] == "村信 Cunxin 管理后台"


async def test_admin_login_rejects_wrong_password(app_client):
    response, _ = await _admin_login(app_client, password="wrong-password")
    assert response.status_code in (401, 403)
    app_client.cookies.clear()


async def test_admin_reads_are_logged_and_audit_tables_read_only(app_client):
    response, csrf = await _admin_login(app_client)
    assert response.status_code in (200, 303), response.text
    try:
        person = await Person.select(Person.id).first()
        before = await AccessLog.count().where(AccessLog.actor_kind == "admin_user")
        row = await app_client.get(f"/admin/api/tables/person/{person['id']}/")
        assert row.status_code == 200, row.text
        body = row.json()
        # secret columns come back empty, never the ciphertext or the lookup hash
        assert body.get("id_number_cipher") is None and body.get("id_number_hash") is None
        assert body.get("phone_cipher") is None
        logged = await AccessLog.select().where(AccessLog.actor_kind == "admin_user").order_by(AccessLog.id, ascending=False).first()
        assert await AccessLog.count().where(AccessLog.actor_kind == "admin_user") == before + 1
        assert logged["subject_kind"] == "person" and logged["subject_id"] == person["id"]
        assert logged["actor_label"] == "county_admin"

        audit_rows = await app_client.get("/admin/api/tables/access_log/")
        assert audit_rows.status_code == 200
        created = await app_client.post("/admin/api/tables/access_log/", json={"purpose": "forged"},
                                        headers={"X-CSRFToken": csrf})
        assert created.status_code == 405
        assert await AccessLog.count().where(AccessLog.purpose == "forged") == 0
    finally:
        app_client.cookies.clear()


async def test_api_tokens_do_not_open_the_admin(app_client, tokens):
    response = await app_client.get("/admin/api/tables/person/", headers=await tokens("county_admin"))
    assert response.status_code in (401, 403)


async def test_catalogue_page_is_public_and_escaped(app_client):
    response = await app_client.get("/catalogue")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "VOL-HOURS" in response.text and "基础分" in response.text
    older = await app_client.get("/catalogue?version=2026.1")
    assert "2026.1" in older.text and "ENV-WASTE-SORTING" not in older.text
    unknown = await app_client.get("/catalogue?version=1999.9")
    assert unknown.status_code == 404 and unknown.json()["code"] == "CATALOGUE_VERSION_UNKNOWN"
