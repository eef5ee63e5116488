from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from backend.identity.idcard import parse_id_number
from backend.identity.phone import normalize_mobile
from backend.identity.uscc import parse_uscc
from dev.demo_data import DemoCounty, DemoHousehold, age_on, generate_demo_county
from backend.registry.roster import HEAD, RELATIONS

TODAY = date(2026, 5, 1)


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return generate_demo_county(today=TODAY)


def all_households(c: DemoCounty) -> list[DemoHousehold]:
    return list(c.households())


# --- sizes -------------------------------------------------------------------------------------


def test_sizes(county: DemoCounty) -> None:
    assert (county.code, county.name) == ("620702", "甘州区")
    assert len(county.townships) == 3
    villages = list(county.villages())
    assert len(villages) >= 10
    assert all(3 <= len(v.grids) <= 5 for v in villages)
    assert len(list(county.grids())) >= 40
    households = all_households(county)
    assert len(households) >= 2000
    people = list(county.people())
    assert len(people) >= 6000
    assert 2.9 <= len(people) / len(households) <= 3.3
    assert all(1 <= len(h.members) <= 7 for h in households)
    assert 25 <= len(county.organisations) <= 35


def test_generation_is_fast() -> None:
    start = time.perf_counter()
    generate_demo_county(7, today=TODAY)
    assert time.perf_counter() - start < 2.0


# --- codes and names ---------------------------------------------------------------------------


def test_codes_nest_and_are_unique(county: DemoCounty) -> None:
    codes: list[str] = []
    for t in county.townships:
        assert t.code.startswith("620702") and len(t.code) == 9
        assert t.kind in {"镇", "乡", "街道"} and t.name.endswith(t.kind)
        for v in t.villages:
            assert v.code.startswith(t.code) and len(v.code) == 12 and v.code.isdigit()
            assert v.kind in {"村", "社区"} and v.name.endswith(v.kind)
            assert v.party_branch.name == f"{v.name}党支部"
            codes += [v.code, v.party_branch.code]
            for g in v.grids:
                assert g.code.startswith(v.code) and len(g.code) == 14
                assert g.name.startswith("第") and g.name.endswith("网格")
                codes.append(g.code)
                for h in g.households:
                    assert h.code.startswith(v.code) and len(h.code) == 16
                    assert h.address.startswith(v.name)
                    codes.append(h.code)
    assert len(codes) == len(set(codes))


def test_id_numbers_valid_and_unique(county: DemoCounty) -> None:
    people = list(county.people())
    assert len({p.id_number for p in people}) == len(people)
    for p in people:
        resident = parse_id_number(p.id_number, today=TODAY)
        assert resident.number == p.id_number
        assert resident.region_code == "620702"
        assert resident.birth_date == p.birth_date
        assert resident.sex == p.sex


def test_names(county: DemoCounty) -> None:
    people = list(county.people())
    assert all(2 <= len(p.name) <= 3 for p in people)
    surnames = Counter(p.name[0] for p in people)
    assert len(surnames) >= 60
    assert {s for s, _ in surnames.most_common(5)} & {"王", "李", "张"}


def test_phones_valid_unique_and_only_for_adults(county: DemoCounty) -> None:
    people = list(county.people())
    phones = [p.phone for p in people if p.phone is not None]
    assert len(phones) == len(set(phones))
    assert all(normalize_mobile(ph) == ph for ph in phones)
    adults = [p for p in people if age_on(p.birth_date, TODAY) >= 18]
    assert all(p.phone is None for p in people if age_on(p.birth_date, TODAY) < 18)
    assert sum(p.phone is not None for p in adults) / len(adults) > 0.8
    elderly = [p for p in people if age_on(p.birth_date, TODAY) >= 75]
    assert any(p.phone is None for p in elderly)


def test_organisations(county: DemoCounty) -> None:
    township_codes = {t.code for t in county.townships}
    orgs = county.organisations
    assert len({o.uscc for o in orgs}) == len(orgs)
    assert len({o.name for o in orgs}) == len(orgs)
    assert {o.kind for o in orgs} == {"cooperative", "employer", "enterprise"}
    for o in orgs:
        assert parse_uscc(o.uscc) == o.uscc
        assert o.uscc[2:8] == "620702"
        assert o.uscc[:2] == ("93" if o.kind == "cooperative" else "91")
        assert o.township_code in township_codes
        assert o.name.endswith("专业合作社" if o.kind == "cooperative" else "有限公司")


# --- households --------------------------------------------------------------------------------


def test_one_head_per_household_first(county: DemoCounty) -> None:
    for h in county.households():
        relations = [m.relation for m in h.members]
        assert relations[0] == HEAD and relations.count(HEAD) == 1
        assert set(relations) <= set(RELATIONS)
        assert h.head is h.members[0]


@pytest.mark.parametrize("seed", [2026, 1, 99])
def test_ages_consistent_with_relations(seed: int) -> None:
    c = generate_demo_county(seed, today=TODAY)
    for h in c.households():
        head_age = age_on(h.head.birth_date, TODAY)
        assert 28 <= head_age <= 80
        ages = {m.id_number: age_on(m.birth_date, TODAY) for m in h.members}
        for m in h.members[1:]:
            gap = head_age - ages[m.id_number]  # positive: younger than the head
            if m.relation == "配偶":
                assert abs(gap) <= 10 and ages[m.id_number] >= 20
                assert m.sex != h.head.sex
            elif m.relation == "子女":
                assert 20 <= gap <= 40
            elif m.relation == "父母":
                assert 20 <= -gap <= 40
            elif m.relation == "孙子女":
                assert gap >= 36
                oldest_child = max(ages[k.id_number] for k in h.members if k.relation == "子女")
                assert oldest_child - ages[m.id_number] >= 18
            elif m.relation == "兄弟姐妹":
                assert abs(gap) <= 12
        parents = [m for m in h.members if m.relation == "父母"]
        assert len(parents) <= 2
        if len(parents) == 2:
            assert {p.sex for p in parents} == {"M", "F"}


def test_relation_mix_is_realistic(county: DemoCounty) -> None:
    counts = Counter(p.relation for p in county.people())
    total = sum(counts.values())
    assert counts["子女"] > counts["配偶"] > counts["父母"] > counts["兄弟姐妹"]
    assert counts["孙子女"] > 0 and counts["其他"] > 0
    assert 0.6 < counts["配偶"] / counts[HEAD] < 0.95
    assert counts[HEAD] / total > 0.25


# --- party members -----------------------------------------------------------------------------


def test_party_members(county: DemoCounty) -> None:
    adults = [p for p in county.people() if age_on(p.birth_date, TODAY) >= 18]
    members = [p for p in adults if p.is_party_member]
    assert 0.06 <= len(members) / len(adults) <= 0.08
    assert not any(p.is_party_member for p in county.people() if age_on(p.birth_date, TODAY) < 18)
    for p in county.people():
        if p.is_party_member:
            assert p.party_joined_on is not None
            assert age_on(p.birth_date, p.party_joined_on) >= 18 and p.party_joined_on <= TODAY
        else:
            assert p.party_joined_on is None


def test_party_links(county: DemoCounty) -> None:
    village_of_household: dict[str, str] = {}
    village_and_household_of_member: dict[str, tuple[str, str]] = {}
    for v in county.villages():
        for g in v.grids:
            for h in g.households:
                village_of_household[h.code] = v.code
                for p in h.members:
                    if p.is_party_member:
                        village_and_household_of_member[p.id_number] = (v.code, h.code)

    linked = [link.household_code for link in county.party_links]
    assert len(linked) == len(set(linked)), "a household is looked after by at most one member"
    per_member = Counter(link.member_id_number for link in county.party_links)
    assert set(per_member) == set(village_and_household_of_member), "every member looks after households"
    assert all(3 <= n <= 10 for n in per_member.values())
    for link in county.party_links:
        village, own = village_and_household_of_member[link.member_id_number]
        assert link.household_code != own
        assert village_of_household[link.household_code] == village


# --- determinism -------------------------------------------------------------------------------


def test_deterministic(county: DemoCounty) -> None:
    assert generate_demo_county(2026, today=TODAY) == county
    other = generate_demo_county(2027, today=TODAY)
    assert other != county
    assert [p.id_number for p in other.people()][:50] != [p.id_number for p in county.people()][:50]


def test_leap_day_today() -> None:
    leap = date(2028, 2, 29)
    c = generate_demo_county(5, today=leap)
    for p in c.people():
        parse_id_number(p.id_number, today=leap)
        assert p.birth_date <= leap
