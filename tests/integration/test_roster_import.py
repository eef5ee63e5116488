"""Village roster (花名册) import against the real database: the ``import-roster`` CLI as a
subprocess (exit code, report text, nothing written on any bad row, idempotent re-import) and
``import_roster`` in-process for checks that need the registry (person registered elsewhere).

Synthetic people are born in 1921 (the demo county has nobody older than ~96), so their ID
numbers cannot collide with demo people; ``_fresh_id`` hands out a new one on every call.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from backend.identity.idcard import compute_check_digit
from backend.registry import protection
from backend.registry.roster_import import import_roster
from backend.registry.tables import (
    Grid,
    Household,
    HouseholdMembership,
    HouseholdResidence,
    PartyBranch,
    Person,
    Village,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEADER = ["户号", "姓名", "身份证号", "与户主关系", "手机号", "网格", "是否党员", "住址"]
SYNTHETIC_YEAR = 1921
_serial = itertools.count()


# ── helpers ───────────────────────────────────────────────────────────────────────────────────


def _fresh_id(sex: str = "M") -> str:
    """A valid, never-before-used ID number: 620702 + a 1921 birth date + sequence + check digit."""
    n = next(_serial)
    birth = date(SYNTHETIC_YEAR, 1, 1) + timedelta(days=n // 40)
    seq = 100 + (n % 40) * 2 + (1 if sex == "M" else 0)  # odd 17th digit = male
    first17 = f"620702{birth:%Y%m%d}{seq:03d}"
    return first17 + compute_check_digit(first17)


def _fresh_phone() -> str:
    return f"1390931{next(_serial) % 10_000:04d}"


@dataclass(frozen=True)
class RosterVillage:
    id: int
    code: str
    grid_codes: list[str]
    branch_id: int


@dataclass
class Row:
    household_code: str
    name: str
    id_number: str
    relation: str
    grid_code: str
    phone: str = ""
    party: str = "否"
    address: str = ""

    def cells(self) -> list[str]:
        return [self.household_code, self.name, self.id_number, self.relation, self.phone, self.grid_code,
                self.party, self.address]


def _write_xlsx(path: Path, rows: list[Row]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row.cells())
    workbook.save(path)
    return path


def _write_csv(path: Path, rows: list[Row]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(row.cells() for row in rows)
    return path


def _family(code: str, grid: str, *relations: str, address: str = "") -> list[Row]:
    """One household: a row per relation, each with a fresh ID number and name."""
    rows = []
    for i, relation in enumerate(relations):
        sex = "F" if relation == "配偶" else "M"
        rows.append(Row(code, f"测试{code[-3:]}{i}", _fresh_id(sex), relation, grid,
                        phone=_fresh_phone() if i < 2 else "", address=address or f"测试{code[-3:]}号"))
    return rows


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        """stdout with line wrapping undone (rich wraps at the terminal width)."""
        return " ".join(self.stdout.split())


def _cli(*args: str) -> CliRun:
    # os.environ carries DATABASE_URL (the session's test database), REDIS_URL and CUNXIN_VAR_DIR
    # (so the child derives the same field-encryption keys as this process).
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "import-roster", *args],
        env=dict(os.environ), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def _reported_rows(run: CliRun) -> dict[int, str]:
    """Row number → the reason text reported for it (all reasons of that row joined)."""
    reasons: dict[int, str] = {}
    for number, reason in re.findall(r"第 (\d+) 行 (.+?)(?=第 \d+ 行 |未导入任何数据|$)", run.text):
        reasons[int(number)] = reasons.get(int(number), "") + reason
    return reasons


async def _counts() -> dict[str, int]:
    return {
        "person": await Person.count(),
        "household": await Household.count(),
        "household_membership": await HouseholdMembership.count(),
        "household_residence": await HouseholdResidence.count(),
    }


async def _households_with_codes(codes: list[str]) -> list[dict]:
    return await Household.select().where(Household.code.is_in(codes)).order_by(Household.code)


async def _person_by_id_number(number: str) -> dict | None:
    return await Person.select().where(Person.id_number_hash == protection.id_number_hash(number)).first()


# ── fixtures ──────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
async def village(app_client) -> RosterVillage:
    """The county's last village (third township): outside every demo account's grids."""
    synthetic = await engine_finder().run_querystring(QueryString(
        "SELECT count(*) AS n FROM person WHERE birth_date BETWEEN {} AND {}",
        date(SYNTHETIC_YEAR, 1, 1), date(SYNTHETIC_YEAR, 12, 31),
    ))
    assert synthetic[0]["n"] == 0, "synthetic birth year is used by demo people; pick another"
    row = await Village.select(Village.id, Village.code).order_by(Village.code, ascending=False).first()
    grids = await Grid.select(Grid.code).where(Grid.village == row["id"]).order_by(Grid.code)
    branch = await PartyBranch.select(PartyBranch.id).where(PartyBranch.village == row["id"]).first()
    assert len(grids) >= 3
    return RosterVillage(id=row["id"], code=row["code"], grid_codes=[g["code"] for g in grids], branch_id=branch["id"])


# ── tests ─────────────────────────────────────────────────────────────────────────────────────


async def test_bad_rows_are_all_reported_and_nothing_is_imported(village, tmp_path):
    g1, g2 = village.grid_codes[:2]
    v = village.code
    h1 = _family(f"{v}9001", g1, "户主", "配偶", "子女")             # rows 2-4
    h2 = _family(f"{v}9002", g2, "户主", "配偶")                     # rows 5-6
    bad_check = Row(f"{v}9002", "坏校验", _fresh_id(), "子女", g2)    # row 7
    bad_check.id_number = bad_check.id_number[:17] + ("0" if bad_check.id_number[17] != "0" else "1")
    h3 = _family(f"{v}9003", g1, "户主", "子女", "父母")             # rows 8-10
    duplicate = Row(f"{v}9003", "重复人", h1[2].id_number, "其他", g1)  # row 11, same ID as row 4
    h4 = _family(f"{v}9004", g2, "户主", "配偶")                     # rows 12-13
    headless = Row(f"{v}9005", "无户主", _fresh_id("F"), "配偶", g1)  # row 14
    rows = [*h1, *h2, bad_check, *h3, duplicate, *h4, headless]
    assert len(rows) == 13
    path = _write_xlsx(tmp_path / "roster.xlsx", rows)
    before = await _counts()

    run = _cli(str(path), "--village", v)

    assert run.returncode != 0, run.stdout
    reported = _reported_rows(run)
    assert set(reported) == {7, 11, 14}, run.stdout
    assert "校验位" in reported[7]
    assert "重复" in reported[11] and "第 4 行" in reported[11]
    assert "没有户主" in reported[14] and f"{v}9005" in reported[14]  # the 16-digit 户号 is not masked as an ID
    assert "有效 10 行" in run.text and "有误 3 行" in run.text
    assert "未导入任何数据" in run.text
    for row in rows:  # the report masks ID numbers, even the malformed one
        assert row.id_number not in run.stdout
    assert await _counts() == before
    assert await _households_with_codes([f"{v}900{i}" for i in range(1, 6)]) == []


async def test_clean_roster_is_imported_encrypted_and_reimport_changes_nothing(village, tmp_path):
    g1, g2 = village.grid_codes[:2]
    v = village.code
    h1 = _family(f"{v}9101", g1, "户主", "配偶", "子女", address="测试一社1号")
    h2 = _family(f"{v}9102", g2, "户主", "妻", "长子", "孙女")  # 户口簿 wording is accepted
    h2[0].party = "是"
    rows = [*h1, *h2]
    path = _write_xlsx(tmp_path / "clean.xlsx", rows)
    before = await _counts()

    run = _cli(str(path), "--village", v)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 households and 7 people created" in run.text, run.stdout
    after = await _counts()
    assert after == {
        "person": before["person"] + 7,
        "household": before["household"] + 2,
        "household_membership": before["household_membership"] + 7,
        "household_residence": before["household_residence"] + 2,
    }

    households = await _households_with_codes([f"{v}9101", f"{v}9102"])
    grid_ids = {g["code"]: g["id"] for g in await Grid.select(Grid.id, Grid.code).where(Grid.village == village.id)}
    assert [(h["code"], h["village"], h["grid"]) for h in households] == [
        (f"{v}9101", village.id, grid_ids[g1]), (f"{v}9102", village.id, grid_ids[g2]),
    ]
    assert households[0]["address"] == "测试一社1号"
    for h in households:
        residences = await HouseholdResidence.select().where(HouseholdResidence.household == h["id"])
        assert [(r["grid"], r["valid_to"], r["reason"]) for r in residences] == [(h["grid"], None, "花名册导入")]

    expected_relation = {r.id_number: r for r in rows}
    canonical = {"妻": "配偶", "长子": "子女", "孙女": "孙子女"}
    for number, row in expected_relation.items():
        person = await _person_by_id_number(number)
        assert person is not None, row
        assert person["name"] == row.name
        assert number not in person["id_number_cipher"]
        assert number[6:14] not in person["id_number_cipher"]  # not even the birth date in clear
        assert person["id_number_masked"] == f"620702********{number[-4:]}"
        assert protection.reveal_id_number(person["id_number_cipher"]) == number
        assert person["birth_date"] == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        if row.phone:
            assert row.phone not in person["phone_cipher"]
            assert person["phone_masked"] != row.phone and person["phone_masked"].endswith(row.phone[-4:])
        else:
            assert person["phone_cipher"] is None
        assert person["is_party_member"] is (row.party == "是")
        assert person["party_branch"] == (village.branch_id if row.party == "是" else None)
        memberships = await HouseholdMembership.select(
            HouseholdMembership.household.code, HouseholdMembership.relation, HouseholdMembership.valid_to,
        ).where(HouseholdMembership.person == person["id"])
        assert memberships == [{"household.code": row.household_code,
                                "relation": canonical.get(row.relation, row.relation), "valid_to": None}]

    again = _cli(str(path), "--village", v)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 households and 0 people created, 7 already present" in again.text, again.stdout
    assert await _counts() == after


async def test_person_registered_in_another_household_is_rejected(village, app_client, tmp_path):
    # A current (non-head) member of a demo household of this village.
    demo = await HouseholdMembership.select(
        HouseholdMembership.person.id_number_cipher, HouseholdMembership.household.code,
    ).where(
        (HouseholdMembership.household.village == village.id) & HouseholdMembership.valid_to.is_null()
        & (HouseholdMembership.relation != "户主") & (HouseholdMembership.reason == "初始登记")
    ).order_by(HouseholdMembership.id).first()
    number = protection.reveal_id_number(demo["person.id_number_cipher"])
    new_code = f"{village.code}9201"
    rows = [
        *_family(new_code, village.grid_codes[0], "户主"),               # row 2: fine on its own
        Row(new_code, "已登记", number, "配偶", village.grid_codes[0]),  # row 3: lives in a demo household
    ]
    path = _write_xlsx(tmp_path / "elsewhere.xlsx", rows)
    before = await _counts()

    result = await import_roster(path, village.code)

    assert result.imported is False
    assert [(e.row_number, e.code) for e in result.report.errors] == [(3, "ROSTER_REGISTERED_ELSEWHERE")]
    assert demo["household.code"] in result.report.errors[0].message_zh
    assert number not in result.report.errors[0].message_zh
    assert await _counts() == before
    assert await _households_with_codes([new_code]) == []


async def test_dry_run_writes_nothing(village, tmp_path):
    code = f"{village.code}9301"
    rows = _family(code, village.grid_codes[2], "户主", "配偶")
    path = _write_xlsx(tmp_path / "dry.xlsx", rows)
    before = await _counts()

    run = _cli(str(path), "--village", village.code, "--dry-run")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "有效 2 行" in run.text and "dry run" in run.text
    assert await _counts() == before
    assert await _households_with_codes([code]) == []
    assert await _person_by_id_number(rows[0].id_number) is None


async def test_csv_roster_is_imported(village, tmp_path):
    code = f"{village.code}9401"
    rows = _family(code, village.grid_codes[1], "户主", "子女", "子女")
    path = _write_csv(tmp_path / "roster.csv", rows)
    before = await _counts()

    run = _cli(str(path), "--village", village.code)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 households and 3 people created" in run.text
    assert (await _counts())["person"] == before["person"] + 3
    [household] = await _households_with_codes([code])
    members = await HouseholdMembership.select(HouseholdMembership.person.name, HouseholdMembership.relation).where(
        (HouseholdMembership.household == household["id"]) & HouseholdMembership.valid_to.is_null()
    ).order_by(HouseholdMembership.id)
    assert [(m["person.name"], m["relation"]) for m in members] == [(r.name, r.relation) for r in rows]


async def test_unknown_village_is_a_clear_error(village, tmp_path):
    path = _write_xlsx(tmp_path / "nowhere.xlsx", _family(f"{village.code}9501", village.grid_codes[0], "户主"))
    before = await _counts()

    run = _cli(str(path), "--village", "620702999999")

    assert run.returncode not in (0, None), run.stdout
    assert "REGISTRY_CODE_UNKNOWN" in run.text and "620702999999" in run.text and "不存在" in run.text
    assert "Traceback" not in run.stdout + run.stderr
    assert await _counts() == before


async def test_second_head_for_an_existing_household_is_reported_not_a_crash(village, app_client, tmp_path):
    # A demo household of this village that already has its 户主 in the registry.
    household = await Household.select(Household.code, Household.grid.code).where(
        Household.village == village.id
    ).order_by(Household.code).first()
    rows = [Row(household["code"], "新户主", _fresh_id(), "户主", household["grid.code"])]
    path = _write_xlsx(tmp_path / "second_head.xlsx", rows)
    before = await _counts()

    result = await import_roster(path, village.code)

    assert result.imported is False
    assert [(e.row_number, e.code) for e in result.report.errors] == [(2, "ROSTER_HEAD_EXISTS")]
    assert await _counts() == before


async def test_member_added_to_an_existing_household_without_repeating_its_head(village, app_client, tmp_path):
    household = await Household.select(Household.id, Household.code, Household.grid.code).where(
        Household.village == village.id
    ).order_by(Household.code, ascending=False).first()
    newborn = Row(household["code"], "新成员", _fresh_id("F"), "孙子女", household["grid.code"])
    path = _write_xlsx(tmp_path / "add_member.xlsx", [newborn])
    before = await _counts()

    result = await import_roster(path, village.code)

    assert result.report.errors == [] and result.imported is True
    assert (result.households_created, result.persons_created) == (0, 1)
    assert await _counts() == {**before, "person": before["person"] + 1,
                               "household_membership": before["household_membership"] + 1}
    person = await _person_by_id_number(newborn.id_number)
    membership = await HouseholdMembership.select(HouseholdMembership.household, HouseholdMembership.relation).where(
        (HouseholdMembership.person == person["id"]) & HouseholdMembership.valid_to.is_null()
    )
    assert membership == [{"household": household["id"], "relation": "孙子女"}]
