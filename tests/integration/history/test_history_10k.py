"""Issue 12 item 3, "done means": a history file of 10,000 events over three years (2023–2025) for
many people imports in one go; importing it again changes nothing (events, entries, the hash
chain). The people are those of a county this module makes (500 one-person households), so no
other test's demo households are touched."""

from __future__ import annotations

import io
import random
import time
from datetime import date, timedelta

from backend import clock
from backend.db import fetch
from backend.history import services
from backend.identity import parse_id_number
from backend.identity.idcard import compute_check_digit
from backend.ledger import chain
from backend.registry import protection
from backend.registry.tables import (HEAD, County, Grid, Household, HouseholdMembership, HouseholdResidence, Person,
                                     Township, Village)
from backend.registry.writer import person_row

TODAY = clock.today()
CODE = "HIST10K"
PEOPLE = 500
PER_PERSON = 20
HEADER = ["身份证号", "户号", "姓名", "事项代码", "等级", "数量", "发生日期", "来源文书", "备注"]


def _id_numbers(n: int) -> list[str]:
    """Valid resident ID numbers of people born 1960–1995 in region 652301 (no demo person's region)."""
    rnd = random.Random(12)
    out: set[str] = set()
    while len(out) < n:
        born = date(1960, 1, 1) + timedelta(days=rnd.randrange(0, 35 * 365))
        first17 = f"652301{born:%Y%m%d}{rnd.randrange(100, 999)}"
        out.add(first17 + compute_check_digit(first17))
    return sorted(out)


async def _county() -> tuple[int, list[tuple[int, str]]]:
    """A county of its own: one township, five villages (a grid each), PEOPLE one-person households."""
    county = (await County.insert(County(code=CODE, name="历史区")).returning(County.id))[0]["id"]
    township = (await Township.insert(Township(code=f"{CODE}t", name="历史镇", county=county))
                .returning(Township.id))[0]["id"]
    numbers = _id_numbers(PEOPLE)
    hashes = [protection.id_number_hash(n) for n in numbers]
    assert not await fetch("SELECT 1 FROM person WHERE id_number_hash = ANY({}) LIMIT 1", hashes)
    people: list[tuple[int, str]] = []
    per_village = PEOPLE // 5
    for v in range(5):
        village = (await Village.insert(Village(county_id=county, code=f"{CODE}v{v}", name=f"历史{v}村", township=township))
                   .returning(Village.id))[0]["id"]
        grid = (await Grid.insert(Grid(county_id=county, code=f"{CODE}g{v}", name=f"历史{v}网格", village=village))
                .returning(Grid.id))[0]["id"]
        batch = numbers[v * per_village:(v + 1) * per_village]
        households = [r["id"] for r in await Household.insert(*[
            Household(county_id=county, code=f"{CODE}h{v}{i:03d}", village=village, grid=grid, address=f"历史{v}村{i}号")
            for i in range(len(batch))]).returning(Household.id)]
        await HouseholdResidence.insert(*[
            HouseholdResidence(county_id=county, household=h, grid=grid, address="历史村", valid_from=date(2020, 1, 1), reason="初始登记")
            for h in households])
        persons = [r["id"] for r in await Person.insert(*[
            person_row(county_id=county, name=f"历史{v}{i}", resident_id=parse_id_number(n, today=TODAY), phone=None)
            for i, n in enumerate(batch)]).returning(Person.id)]
        await HouseholdMembership.insert(*[
            HouseholdMembership(county_id=county, person=p, household=h, relation=HEAD, valid_from=date(2020, 1, 1), reason="初始登记")
            for p, h in zip(persons, households)])
        people.extend(zip(persons, batch))
    return county, people


def _rows(people: list[tuple[int, str]]) -> list[list[str]]:
    """PER_PERSON events a person over 2023–2025: blood donations, volunteer hours (tiered, cumulative),
    honours by level and clean-ups by level — every kind of points rule the import must score."""
    rnd = random.Random(10_000)
    out = []
    for _, number in people:
        for k in range(PER_PERSON):
            day = (date(2023, 1, 1) + timedelta(days=rnd.randrange(0, 3 * 365))).isoformat()
            source = f"台账 {number[-4:]}-{k}"
            match k % 4:
                case 0:
                    out.append([number, "", "", "BLOOD-DONATION", "", "", day, source, ""])
                case 1:
                    out.append([number, "", "", "VOL-HOURS", "", str(rnd.choice([4, 8, 12.5, 20])), day, source, ""])
                case 2:
                    out.append([number, "", "", "HONOUR", rnd.choice(["county", "city", "village"]), "", day, source,
                                "历史表彰"])
                case _:
                    out.append([number, "", "", "GRID-CLEANUP", rnd.choice(["took_part", "outstanding"]), "", day,
                                source, ""])
    rnd.shuffle(out)   # a county's sheet is in no particular order
    return out


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("历史信用事件")
    sheet.append(["某县 2023–2025 年历史信用事件"])      # a title row above the header
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _counts(county_id: int) -> dict[str, int]:
    return (await fetch(
        """SELECT (SELECT count(*) FROM credit_event e JOIN township t ON t.id = e.township_id
                   WHERE t.county = {}) AS events,
                  (SELECT count(*) FROM ledger_entry l JOIN person p ON p.id = l.person_id
                   JOIN household_membership m ON m.person = p.id JOIN household h ON h.id = m.household
                   JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
                   WHERE t.county = {}) AS entries,
                  (SELECT count(*) FROM ledger_entry) AS chain,
                  (SELECT coalesce(sum(l.points), 0) FROM ledger_entry l JOIN credit_event e ON e.id = l.event
                   JOIN township t ON t.id = e.township_id WHERE t.county = {}) AS points""",
        county_id, county_id, county_id))[0]


async def test_ten_thousand_events_over_three_years_in_one_go_then_again_nothing_changes(app_client):
    county_id, people = await _county()
    rows = _rows(people)
    assert len(rows) == 10_000
    content = _xlsx(rows)
    before = await _counts(county_id)
    assert (before["events"], before["entries"]) == (0, 0)

    seen: list[tuple[int, int]] = []
    started = time.monotonic()
    run_id = await services.create_run(county_id, "history-2023-2025.xlsx", content, channel="cli", requested_by=None)
    status = await services.run_import(run_id, progress=lambda done, total: seen.append((done, total)))
    seconds = time.monotonic() - started
    run = await services._run_out(run_id)
    assert (status, run.rows_read, run.rows_invalid, run.rows_imported, run.rows_already) == (
        "done", 10_000, 0, 10_000, 0), run.errors[:5]
    assert seen[0] == (0, 10_000) and seen[-1] == (10_000, 10_000) and len(seen) > 2   # a bar that moves
    assert run.progress_done == run.progress_total == 10_000
    after = await _counts(county_id)
    assert after["events"] == 10_000
    assert after["entries"] == 10_000      # recorded in date order per person: one entry an event, no compensation
    assert after["chain"] == before["chain"] + 10_000 and after["points"] > 0
    years = await fetch("""SELECT DISTINCT extract(year FROM e.occurred_on)::int AS y FROM credit_event e
                           JOIN township t ON t.id = e.township_id WHERE t.county = {}""", county_id)
    assert sorted(r["y"] for r in years) == [2023, 2024, 2025]
    verified = await chain.verify()
    assert verified.ok and verified.checked == after["chain"], verified
    print(f"history import: 10,000 rows in {seconds:.1f} s")

    again_id = await services.create_run(county_id, "history-2023-2025 (copy).xlsx", content, channel="api",
                                         requested_by=None)
    assert await services.run_import(again_id) == "done"
    again = await services._run_out(again_id)
    assert (again.rows_read, again.rows_imported, again.rows_already, again.rows_invalid) == (10_000, 0, 10_000, 0)
    assert await _counts(county_id) == after
    verified = await chain.verify()
    assert verified.ok and verified.checked == after["chain"]
    assert seconds < 60, f"10,000 rows took {seconds:.1f} s"
