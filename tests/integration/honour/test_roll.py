"""The public honour roll through HTTP: consent publishes, withdrawal removes at once (API and
page), no consent or a grade-only consent shows nothing it does not allow, negative information
never shows, 信用村/信用乡镇 are public by their effective official ratings only."""

from __future__ import annotations

import re

from backend.db import fetch
from backend.honour.services import PUBLISHED

from .conftest import TOWNSHIP_CODE, _grant

API = "/api/v1/public/honour-roll"
PAGE = "/honour-roll"


async def _roll(client, **params) -> dict:
    r = await client.get(API, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


async def _page(client, **params) -> str:
    r = await client.get(PAGE, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def _find(roll: dict, kind: str, villager) -> dict | None:
    name = villager.name + ("家" if kind == "household" else "")
    found = [h for h in roll["honoured"] if h["kind"] == kind and h["name_zh"] == name
             and h["village"]["code"] == villager.village_code]
    assert len(found) <= 1, found
    return found[0] if found else None


def _card(page: str, name: str, village_name: str) -> bool:
    """Whether the page has a card for ``name`` in ``village_name``."""
    return re.search(rf'<span class="name">{re.escape(name)}</span> <span class="where">[^<]*{re.escape(village_name)}',
                     page) is not None


async def _village_name(code: str) -> str:
    return (await fetch("SELECT name FROM village WHERE code = {}", code))[0]["name"]


async def test_consenting_person_and_household_are_listed_with_positive_information_only(app_client, world):
    c = world.villagers["consenting"]
    roll = await _roll(app_client, township=TOWNSHIP_CODE)
    person, household = _find(roll, "person", c), _find(roll, "household", c)
    assert person is not None and household is not None, roll["honoured"]
    assert household["credit_household"]["grade"] == "AAA"
    assert person["credit_household"] is None
    titles = [h["title_zh"] for h in person["honours"]]
    assert "表彰奖励（县级）" in titles
    assert "表彰奖励（国家级）" not in titles  # reversed
    volunteering = [h for h in person["honours"] if h["item_code"] == "VOL-HOURS"]
    assert [h["detail_zh"] for h in volunteering] == ["有效期内累计26小时"]
    assert {h["category"] for h in person["honours"]} <= {"表彰奖励", "志愿服务", "公益慈善"}
    assert [h["item_code"] for h in household["honours"]] == ["CHARITY-DONATION"]
    codes = {h["item_code"] for x in roll["honoured"] for h in x["honours"]}
    assert not codes & {"WAGE-ARREARS", "ENV-DUMPING", "FILIAL-PIETY"}
    page = await _page(app_client, township=TOWNSHIP_CODE)
    village = await _village_name(c.village_code)
    assert _card(page, c.name, village) and _card(page, c.household_name, village)
    assert "AAA 信用户" in page and "表彰奖励（县级）" in page


async def test_not_consenting_and_grade_only_show_nothing_they_did_not_allow(app_client, world):
    roll = await _roll(app_client)
    refusing = world.villagers["refusing"]
    assert _find(roll, "person", refusing) is None and _find(roll, "household", refusing) is None
    grade_only = world.villagers["grade_only"]
    household = _find(roll, "household", grade_only)
    assert household is not None and household["credit_household"]["grade"] == "A"
    assert household["honours"] == []  # scope "grade": the 信用户 status, not the entries
    assert _find(roll, "person", grade_only) is None  # a person has no official rating to show
    negative = world.villagers["negative_only"]
    # Consented, but only negative entries and a non-credit rating: nothing to show at all.
    assert _find(roll, "person", negative) is None and _find(roll, "household", negative) is None
    page = await _page(app_client)
    village = await _village_name(refusing.village_code)
    assert not _card(page, refusing.name, village) and not _card(page, refusing.household_name, village)


async def test_negative_information_never_shows(app_client, world):
    from backend.ledger.catalogue import catalogues

    negative_words = set()
    for version in catalogues().versions:
        for item in version.items:
            if item.direction == "negative":
                negative_words.add(item.name_zh)
                negative_words.update(lv.name_zh for lv in getattr(item.points, "levels", ()))
    bodies = [(await app_client.get(API, params={"limit": 200})).text, await _page(app_client)]
    for code in [TOWNSHIP_CODE, *world.village_codes[:4]]:
        bodies.append((await app_client.get(API, params={"township": code} if code == TOWNSHIP_CODE
                                            else {"village": code})).text)
    for body in bodies:
        for note in world.negative_notes:
            assert note not in body
        for word in negative_words:
            assert word not in body, word
        assert "积分" not in body  # no scores on the roll
        assert '"points"' not in body and "score" not in body


async def test_withdrawal_removes_them_from_the_very_next_answer(app_client, world):
    w = world.villagers["withdrawing"]
    village = await _village_name(w.village_code)
    assert _find(await _roll(app_client), "person", w) is None
    person_grant = await _grant(app_client, w, world.recipient, world.notice, "person", "grade_score_entries")
    household_grant = await _grant(app_client, w, world.recipient, world.notice, "household", "grade")
    roll = await _roll(app_client)
    assert _find(roll, "person", w) is not None
    assert _find(roll, "household", w)["credit_household"]["grade"] == "AA"
    page = await _page(app_client)
    assert _card(page, w.name, village) and _card(page, w.household_name, village)

    r = await app_client.post(f"/api/v1/consents/{person_grant}/withdraw", headers=w.headers)
    assert r.status_code == 200, r.text
    roll = await _roll(app_client)
    assert _find(roll, "person", w) is None and _find(roll, "household", w) is not None
    page = await _page(app_client)
    assert not _card(page, w.name, village) and _card(page, w.household_name, village)

    r = await app_client.post(f"/api/v1/consents/{household_grant}/withdraw", headers=w.headers)
    assert r.status_code == 200, r.text
    assert _find(await _roll(app_client), "household", w) is None
    assert not _card(await _page(app_client), w.household_name, village)


async def test_credit_villages_and_townships_are_public_by_effective_ratings_only(app_client, world):
    roll = await _roll(app_client)
    villages = {v["code"] for v in roll["credit_villages"]}
    assert world.credit_village in villages
    assert world.publicised_village not in villages  # in publicity: not yet official
    assert TOWNSHIP_CODE in {t["code"] for t in roll["credit_townships"]}
    # The other townships are rated not credit in the newest effective period (whatever their live standing says).
    assert {t["code"] for t in roll["credit_townships"]} == {TOWNSHIP_CODE}
    only = await _roll(app_client, village=world.credit_village)
    assert [v["code"] for v in only["credit_villages"]] == [world.credit_village] and only["credit_townships"] == []
    assert all(h["village"]["code"] == world.credit_village for h in only["honoured"])
    page = await _page(app_client, village=world.credit_village)
    assert "信用村" in page and await _village_name(world.credit_village) in page


async def test_filters_pagination_and_refusals(app_client, world):
    everything = await _roll(app_client)
    assert everything["county"]["code"] == world.county_code and everything["total"] == len(everything["honoured"])
    assert (await _roll(app_client, county=world.county_code)) ["total"] == everything["total"]
    first = await _roll(app_client, limit=1)
    assert len(first["honoured"]) == 1 and first["total"] == everything["total"] >= 3
    second = await _roll(app_client, limit=1, offset=1)
    assert second["honoured"][0] != first["honoured"][0]
    other = await _roll(app_client, township=world.township_codes[0])
    assert all(h["township"]["code"] == world.township_codes[0] for h in other["honoured"])
    page = await _page(app_client, limit=1)
    assert "下一页" in page and "offset=1" in page
    for params, status, code in (({"township": "999999999"}, 404, "HONOUR_PLACE_UNKNOWN"),
                                 ({"village": "999999999999"}, 404, "HONOUR_PLACE_UNKNOWN"),
                                 ({"township": world.township_codes[0], "village": world.credit_village}, 404,
                                  "HONOUR_PLACE_UNKNOWN"),
                                 ({"county": "999999"}, 404, "HONOUR_COUNTY_UNKNOWN"),
                                 ({"township": "62'; --"}, 400, None),
                                 ({"limit": 0}, 400, None), ({"limit": 201}, 400, None)):
        for url in (API, PAGE):
            r = await app_client.get(url, params=params)
            assert r.status_code == status, (url, params, r.text)
            if code:
                assert r.json()["code"] == code


async def test_the_page_is_self_contained_phone_readable_and_passes_the_csp(app_client, world):
    r = await app_client.get(PAGE)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    html = r.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html and 'lang="zh-CN"' in html
    assert "<script" not in html and not re.search(r"""(src|href|action)=["']?(https?:)?//""", html)
    assert not re.search(r"url\(|@import", html)
    assert re.search(r"body\{[^}]*font-size:20px", html)  # large text


async def test_publication_is_logged_once_per_grant(app_client, world):
    c = world.villagers["consenting"]
    await _roll(app_client)
    await _page(app_client)
    rows = await fetch("SELECT detail FROM security_event WHERE kind = {} AND detail LIKE {}", PUBLISHED,
                       f'{{"grant": {c.grants["person"]}, %')
    assert len(rows) == 1, rows
    assert '"subject_kind": "person"' in rows[0]["detail"] and "HONOUR" in rows[0]["detail"]
    refusing = world.villagers["refusing"]
    assert not await fetch("SELECT 1 FROM security_event WHERE kind = {} AND detail LIKE {}", PUBLISHED,
                           f'%"subject_kind": "person", "subject_id": {refusing.person_id},%')


async def test_the_roll_is_per_county(app_client, world):
    """With a second county (inside a transaction that is rolled back: other modules count the
    demo county's rows), a roll needs ?county=, and each county's roll holds only its own."""
    import pytest
    from piccolo.engine import engine_finder

    from backend.errors import InvalidInput
    from backend.honour import services

    class Rollback(Exception):
        pass

    seen = {}
    try:
        async with engine_finder().transaction():
            county = (await fetch("INSERT INTO county (code, name) VALUES ('999901', '测试县') RETURNING id"))[0]["id"]
            await fetch("INSERT INTO township (code, name, kind, county) VALUES ('999901100', '测试镇', '镇', {})", county)
            with pytest.raises(InvalidInput) as refused:
                await services.honour_roll(county_code=None, township_code=None, village_code=None, limit=50, offset=0)
            seen["refused"] = refused.value
            seen["other"] = await services.honour_roll(county_code="999901", township_code=None, village_code=None,
                                                       limit=50, offset=0)
            seen["ours"] = await services.honour_roll(county_code=world.county_code, township_code=None,
                                                      village_code=None, limit=50, offset=0)
            with pytest.raises(Exception) as foreign:
                await services.honour_roll(county_code="999901", township_code=TOWNSHIP_CODE, village_code=None,
                                           limit=50, offset=0)
            seen["foreign"] = foreign.value
            raise Rollback
    except Rollback:
        pass
    assert seen["refused"].code == "HONOUR_COUNTY_REQUIRED"
    assert {c["code"] for c in seen["refused"].details["counties"]} == {world.county_code, "999901"}
    other = seen["other"]
    assert other.honoured == [] and other.credit_villages == [] and other.credit_townships == []
    assert seen["ours"].total >= 3
    assert getattr(seen["foreign"], "code", None) == "HONOUR_PLACE_UNKNOWN"


def test_several_counties_and_none_named_the_page_lists_them():
    from backend.honour import page

    html = page.render_counties([{"code": "620702", "name": "甘州区"}, {"code": "999901", "name": "测试县"}])
    assert '<a href="/honour-roll?county=620702">甘州区</a>' in html and "county=999901" in html
    assert "<script" not in html


async def test_the_bulk_decision_is_active_consent_s_and_a_newer_notice_ends_it(app_client, world):
    """The roll decides for all candidates at once; it must agree with ``active_consent`` for
    each subject — also after a newer notice version (inside a rolled-back transaction), which
    ends every consent given under the old one."""
    from piccolo.engine import engine_finder

    from backend import clock
    from backend.consent.schemas import NoticeIn
    from backend.consent.services import active_consent, create_notice
    from backend.honour.services import _consenting
    from dev.demo_history import _actor
    from points_rules.consent import DataScope, Purpose, RecipientKind

    from .conftest import NOTICE

    county_id = (await fetch("SELECT id FROM county WHERE code = {}", world.county_code))[0]["id"]
    subjects = {(v_kind, getattr(v, f"{v_kind}_id")) for v in world.villagers.values()
                for v_kind in ("person", "household")}

    async def agree() -> dict:
        now = clock.now()
        bulk = await _consenting(county_id, now)
        for subject in subjects:
            grade = await active_consent(subject, world.recipient, Purpose.HONOUR_ROLL, DataScope.GRADE, now)
            entries = await active_consent(subject, world.recipient, Purpose.HONOUR_ROLL,
                                           DataScope.GRADE_SCORE_ENTRIES, now)
            assert (subject in bulk) == (grade is not None), subject
            if subject in bulk:
                assert bulk[subject]["entries"] == (entries is not None), subject
        return bulk

    assert len(await agree()) >= 4

    class Rollback(Exception):
        pass

    try:
        async with engine_finder().transaction():
            await create_notice(await _actor("county_admin"), NoticeIn(
                recipient_kind=RecipientKind.HONOUR_ROLL, purpose=Purpose.HONOUR_ROLL, title_zh="红榜公示同意书（修订）",
                text_zh=NOTICE + "（修订）", consent_days=365))
            assert await agree() == {}
            raise Rollback
    except Rollback:
        pass
    assert len(await agree()) >= 4
