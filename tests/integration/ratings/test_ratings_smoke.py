"""Smoke: full recompute over the demo county, then the standing views and charts answer."""

from backend.ratings.recompute import full_recompute
from backend.registry.tables import Township


async def test_full_recompute_then_views(app_client, tokens):
    report = await full_recompute()
    assert report.households >= 2000 and report.villages >= 10 and report.townships == 3
    again = await full_recompute()
    assert again.clean, "a second full recompute must find no drift"
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    rankings = await app_client.get(f"/api/v1/townships/{me['township_id']}/rankings", headers=await tokens("township_admin"))
    assert rankings.status_code == 200, rankings.text
    assert len(rankings.json()) >= 3
    chart = await app_client.get(f"/api/v1/townships/{me['township_id']}/charts/grade-distribution.svg",
                                 headers=await tokens("township_admin"))
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart.text
    other = await Township.select(Township.id).where(Township.id != me["township_id"]).first()
    denied = await app_client.get(f"/api/v1/townships/{other['id']}/rankings", headers=await tokens("township_admin"))
    assert denied.status_code == 404


async def test_period_before_the_first_catalogue_is_a_clear_422(app_client, tokens):
    response = await app_client.post("/api/v1/ratings/periods", headers=await tokens("county_admin"),
                                     json={"code": "Y2000", "name_zh": "2000年度", "starts_on": "2000-01-01",
                                           "ends_on": "2000-12-31"})
    assert response.status_code == 422
    assert response.json()["code"] == "RULES_NO_CATALOGUE" and response.json()["message_zh"]
