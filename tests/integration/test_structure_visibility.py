"""Grid workers and villagers may browse the structure they work or live in, and only that."""

from backend.registry.tables import Grid, Township, Village


async def _get(app_client, tokens, user, path):
    return await app_client.get(path, headers=await tokens(user))


async def test_grid_worker_sees_own_township_village_and_grids(app_client, tokens):
    me = (await _get(app_client, tokens, "grid_worker", "/api/v1/auth/me")).json()
    grid = await Grid.select(Grid.id, Grid.village, Grid.village.township).where(Grid.id == me["grid_ids"][0]).first()
    townships = (await _get(app_client, tokens, "grid_worker", "/api/v1/townships")).json()
    assert [t["id"] for t in townships] == [grid["village.township"]]
    villages = await _get(app_client, tokens, "grid_worker", f"/api/v1/townships/{grid['village.township']}/villages")
    assert villages.status_code == 200
    grids = await _get(app_client, tokens, "grid_worker", f"/api/v1/villages/{grid['village']}/grids")
    assert grids.status_code == 200 and grid["id"] in [g["id"] for g in grids.json()]
    other_village = await Village.select(Village.id).where(Village.id != grid["village"]).first()
    denied = await _get(app_client, tokens, "grid_worker", f"/api/v1/villages/{other_village['id']}/grids")
    assert denied.status_code == 404
    other_township = await Township.select(Township.id).where(Township.id != grid["village.township"]).first()
    denied = await _get(app_client, tokens, "grid_worker", f"/api/v1/townships/{other_township['id']}/villages")
    assert denied.status_code == 404


async def test_villager_sees_own_village_only(app_client, tokens):
    townships = (await _get(app_client, tokens, "villager", "/api/v1/townships")).json()
    assert len(townships) == 1
    other = await Township.select(Township.id).where(Township.id != townships[0]["id"]).first()
    assert (await _get(app_client, tokens, "villager", f"/api/v1/townships/{other['id']}/villages")).status_code == 404
