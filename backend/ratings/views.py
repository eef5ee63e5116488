"""Looking at standing: a household's live and official ratings, areas (grid, village, township,
party branch) with their grade mix, rankings, and charts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.charts.svg import grade_distribution_chart, trend_chart
from backend.db import fetch
from backend.errors import NotFound
from backend.ledger.catalogue import catalogues, points_text
from backend.ratings import tables as t
from backend.ratings.compute import compute_households
from backend.ratings.periods import _proposal_out, official_ratings
from backend.ratings.schemas import AreaDetailOut, AreaStandingOut, HouseholdGradeOut, HouseholdRatingOut

VISIBLE_TO_SUBJECT = (t.PUBLICISED, t.DISPUTED)  # a villager sees a pending rating once it is publicised


async def household_rating(actor: Actor, household_id: int, *, request_id: str = "",
                           as_of: date | None = None) -> HouseholdRatingOut:
    """Standing computed from the ledger as of a day (today in the county's zone unless named: its
    members, entries in force and catalogue version on that day), plus every official rating (each
    with its ``effective_on``) and any rating in progress now — each explained."""
    day = as_of or clock.today()
    where = await scope.locate(scope.HOUSEHOLD, household_id, county_id=scope.shard_key(actor))
    # before the read is logged: RULES_NO_CATALOGUE for anyone
    version = catalogues(where.county_id if where else None).version_on(day).version
    await scope.authorize_located(actor, where, fields=["rating"], purpose="rating_view", request_id=request_id)
    computed = await compute_households(day, household_ids=[household_id])
    live = computed.households.get(household_id)
    official = [_proposal_out(r) for r in await official_ratings(t.HOUSEHOLD, household_id, where.county_id)]
    pending_statuses = VISIBLE_TO_SUBJECT if actor.role is Role.VILLAGER else (
        t.PROPOSED, t.AWAITING_SECOND, t.RETURNED, t.PUBLICISED, t.DISPUTED)
    pending = await fetch(
        "SELECT * FROM rating_proposal WHERE county_id = {} AND level = 'household' AND subject_id = {} "
        "AND status = ANY({}) ORDER BY id", where.county_id, household_id, list(pending_statuses))
    return HouseholdRatingOut(
        household_id=household_id,
        as_of=day,
        catalogue_version=live.catalogue_version if live else version,
        live_grade=live.grade if live else None,
        live_score=points_text(live.score, signed=False) if live else None,
        live_is_credit=live.is_credit_household if live else None,
        live_as_of=live.as_of if live else None,
        live_explanation_zh=live.explanation_zh if live else "该户当前无成员，无法评定",
        official=official,
        in_progress=[_proposal_out(r) for r in pending],
    )


def _area(kind: str, area_id: int, name: str, rows: list[dict], county_id: int, **extra) -> AreaStandingOut:
    # Every grade of the county's catalogue, zeros included, so tables and charts have the same columns everywhere.
    counts = {g: 0 for g in catalogues(county_id).version_on(clock.today()).rating_rules().household.grade_names}
    counts.update(Counter(r["grade"] for r in rows))
    credit = sum(1 for r in rows if r["is_credit"])
    share = f"{(credit * 1000 // len(rows)) / 10:.1f}" if rows else "0.0"
    return AreaStandingOut(kind=kind, id=area_id, name=name, households=len(rows), credit_households=credit,
                           share_percent=share, grade_counts=dict(counts), **extra)


async def _households_in(condition: str, *args) -> list[dict]:
    return await fetch(
        f"""SELECT s.household_id, s.grade, s.score, s.is_credit, s.village_id, s.township_id, s.grid_id,
                   h.code, (SELECT pe.name FROM household_membership m JOIN person pe ON pe.id = m.person
                            WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation = '户主') AS head_name
            FROM standing_household s JOIN household h ON h.id = s.household_id
            WHERE {condition} ORDER BY s.score DESC, h.code""", *args)


async def _detail(actor: Actor, area: AreaStandingOut, rows: list[dict], request_id: str) -> AreaDetailOut:
    county = scope.county_of(actor)
    await scope.log_reads(actor, [
        scope.Location(kind=scope.HOUSEHOLD, id=r["household_id"], county_id=county, township_id=r["township_id"],
                       village_id=r["village_id"], grid_id=r["grid_id"], household_id=r["household_id"])
        for r in rows], fields=["rating"], purpose="area_standing", request_id=request_id)
    return AreaDetailOut(**area.model_dump(), households_detail=[
        HouseholdGradeOut(household_id=r["household_id"], code=r["code"], head_name=r["head_name"], grade=r["grade"],
                          score=points_text(r["score"], signed=False), is_credit=r["is_credit"]) for r in rows])


async def grid_standing(actor: Actor, grid_id: int, *, request_id: str = "") -> AreaDetailOut:
    """A grid's households and their grades (网格): for its grid worker and the admins above."""
    where = await scope.locate(scope.GRID, grid_id)
    if where is None or not scope.covers(actor, where):
        raise NotFound()
    name = (await fetch("SELECT name FROM grid WHERE id = {}", grid_id))[0]["name"]
    rows = await _households_in("s.grid_id = {}", grid_id)
    return await _detail(actor, _area("grid", grid_id, name, rows, where.county_id), rows, request_id)


async def village_standing(actor: Actor, village_id: int, *, request_id: str = "") -> AreaDetailOut:
    where = await scope.locate(scope.VILLAGE, village_id)
    if where is None or actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) or not scope.covers(actor, where):
        raise NotFound()
    village = await fetch("SELECT v.name, s.is_credit, s.stars FROM village v LEFT JOIN standing_village s "
                          "ON s.village_id = v.id WHERE v.id = {}", village_id)
    rows = await _households_in("s.village_id = {}", village_id)
    area = _area("village", village_id, village[0]["name"], rows, where.county_id, is_credit=village[0]["is_credit"],
                 stars=village[0]["stars"])
    return await _detail(actor, area, rows, request_id)


async def party_branch_standing(actor: Actor, branch_id: int, *, request_id: str = "") -> AreaDetailOut:
    """党建+网格: the households the branch's party members look after (党员联户), and their grades."""
    rows = await fetch("SELECT village, name FROM party_branch WHERE id = {}", branch_id)
    if not rows:
        raise NotFound()
    where = await scope.locate(scope.VILLAGE, rows[0]["village"])
    if where is None or actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) or not scope.covers(actor, where):
        raise NotFound()
    households = await _households_in(
        """s.household_id IN (SELECT l.household FROM party_member_link l JOIN person pm ON pm.id = l.member
                              WHERE pm.party_branch = {} AND l.valid_to IS NULL)""", branch_id)
    area = _area("party_branch", branch_id, rows[0]["name"], households, where.county_id)
    return await _detail(actor, area, households, request_id)


async def linked_standing(actor: Actor, member_id: int, *, request_id: str = "") -> AreaDetailOut:
    """A party member's 联户 households at a glance."""
    member = await scope.authorize_read(actor, scope.PERSON, member_id, fields=["party_links"], purpose="party_links",
                                        request_id=request_id)
    name = (await fetch("SELECT name FROM person WHERE id = {}", member_id))[0]["name"]
    rows = await _households_in("""s.household_id IN (SELECT household FROM party_member_link
                                   WHERE member = {} AND valid_to IS NULL)""", member_id)
    rows = [r for r in rows if scope.covers(actor, scope.Location(
        kind=scope.HOUSEHOLD, id=r["household_id"], county_id=member.county_id, township_id=r["township_id"],
        village_id=r["village_id"], grid_id=r["grid_id"], household_id=r["household_id"]))]
    return await _detail(actor, _area("party_member", member_id, name, rows, member.county_id), rows, request_id)


async def _township_in_scope(actor: Actor, township_id: int) -> str:
    where = await scope.locate(scope.TOWNSHIP, township_id)
    if where is None or actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) or not scope.covers(actor, where):
        raise NotFound()
    return (await fetch("SELECT name FROM township WHERE id = {}", township_id))[0]["name"]


async def rankings(actor: Actor, township_id: int, by: str) -> list[AreaStandingOut]:
    """Villages or grids of a township, best share of credit households first (no personal data)."""
    await _township_in_scope(actor, township_id)
    county_id = (await scope.locate(scope.TOWNSHIP, township_id)).county_id
    group, table = ("village_id", "village") if by == "village" else ("grid_id", "grid")
    rows = await fetch(
        f"""SELECT s.{group} AS area_id, a.name, s.grade, s.is_credit FROM standing_household s
            JOIN {table} a ON a.id = s.{group} WHERE s.township_id = {{}}""", township_id)
    by_area: dict[int, list[dict]] = {}
    names: dict[int, str] = {}
    for r in rows:
        by_area.setdefault(r["area_id"], []).append(r)
        names[r["area_id"]] = r["name"]
    areas = [_area(by, area_id, names[area_id], members, county_id) for area_id, members in by_area.items()]
    return sorted(areas, key=lambda a: (-a.credit_households * 1000 // max(a.households, 1), a.name))


async def township_distribution_svg(actor: Actor, township_id: int) -> str:
    name = await _township_in_scope(actor, township_id)
    rows = await fetch("""SELECT v.name, s.grade_counts FROM village v LEFT JOIN standing_village s
                          ON s.village_id = v.id WHERE v.township = {} ORDER BY v.code""", township_id)
    data = [(r["name"], _counts(r["grade_counts"])) for r in rows]
    return grade_distribution_chart(f"{name} 各村信用户等级分布（当前）", data)


async def county_distribution_svg(actor: Actor) -> str:
    if actor.role is not Role.COUNTY_ADMIN:
        raise NotFound()
    rows = await fetch("""SELECT t.name, s.grade, count(*) AS n FROM standing_household s
                          JOIN township t ON t.id = s.township_id WHERE t.county = {}
                          GROUP BY t.code, t.name, s.grade ORDER BY t.code""", actor.county_id)
    data: dict[str, dict[str, int]] = {}
    for r in rows:
        data.setdefault(r["name"], {})[r["grade"]] = r["n"]
    return grade_distribution_chart("全区各乡镇信用户等级分布（当前）", list(data.items()))


async def township_trend_svg(actor: Actor, township_id: int) -> str:
    """Share of credit households per village: each effective period, then today's live standing."""
    name = await _township_in_scope(actor, township_id)
    periods = await fetch("""SELECT DISTINCT pe.id, pe.code, pe.ends_on FROM rating_period pe
                             JOIN rating_proposal p ON p.period = pe.id
                             WHERE p.township_id = {} AND p.status = 'effective' ORDER BY pe.ends_on""", township_id)
    villages = await fetch("SELECT id, name FROM village WHERE township = {} ORDER BY code", township_id)
    shares = await fetch("""SELECT period, village_id, count(*) FILTER (WHERE is_credit) * 100 / count(*) AS pct
                            FROM rating_proposal WHERE township_id = {} AND level = 'household'
                            AND status = 'effective' GROUP BY period, village_id""", township_id)
    live = await fetch("""SELECT village_id, count(*) FILTER (WHERE is_credit) * 100 / count(*) AS pct
                          FROM standing_household WHERE township_id = {} GROUP BY village_id""", township_id)
    by_key = {(r["period"], r["village_id"]): int(r["pct"]) for r in shares}
    live_by_village = {r["village_id"]: int(r["pct"]) for r in live}
    labels = [p["code"] for p in periods] + ["当前"]
    series = {v["name"]: [by_key.get((p["id"], v["id"])) for p in periods] + [live_by_village.get(v["id"])]
              for v in villages}
    return trend_chart(f"{name} 各村信用户占比趋势", labels, series)


def _counts(raw) -> dict[str, int]:
    if raw is None:
        return {}
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
