"""The streamed full recompute stores exactly what the per-household path computes.

``full_recompute`` reads the ledger through one cursor per county and rates households chunk by
chunk with the prepared rules; ``compute_households`` (the incremental job's, the household view's
and period close's path) rates them with ``rate_household``. For the demo county — with a chunk of
a few rows, so households are split across fetches — every stored person and household row must be
the record ``compute_households`` gives (explanations included), every village row what
``rate_village`` makes of the stored households, and the drift report must count as before.
Each test runs in a transaction that is rolled back."""

from __future__ import annotations

import json

import pytest
from piccolo.engine import engine_finder

from backend import clock
from backend.db import fetch
from backend.ledger.catalogue import catalogues
from backend.ratings import compute, recompute
from backend.ratings.compute import compute_households, township_counties, village_townships
from backend.ratings.recompute import (
    _household_records, _person_records, _stored_household, full_recompute,
)
from points_rules.ratings import rate_village

TODAY = clock.today()


class _Rollback(Exception):
    pass


def _without_time(rows) -> dict:
    """Records (county_id, subject id, …, computed_at) by subject id, without the time."""
    return {r[1]: tuple(r[:-1]) for r in rows}


async def _stored(table: str, key: str, columns: list[str], ids: list[int]) -> dict:
    rows = await fetch(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ANY({{}})", ids)
    return {r[key]: tuple(r[c] for c in columns[:-1]) for r in rows}


async def _check_against_the_per_household_path(township_id: int | None, chunk: int, monkeypatch) -> None:
    await full_recompute(as_of=TODAY, township_id=township_id)
    monkeypatch.setattr(compute, "STREAM_CHUNK", chunk)
    # stale rows (an older computation): the drift report has something to find, the merge something to replace
    stale = {r["household_id"] for r in await fetch(
        "UPDATE standing_household SET score = score + 1, explanation_zh = '旧的', computed_at = computed_at - "
        "interval '1 hour' WHERE household_id % 3 = 0 RETURNING household_id")}
    assert stale
    report = await full_recompute(as_of=TODAY, township_id=township_id)
    expected = await compute_households(TODAY, township_id=township_id)
    assert report.households == len(expected.households) > 0
    assert report.persons == len(expected.persons) > 0
    persons = _without_time(_person_records(expected, None))
    households = _without_time(_household_records(expected, None))
    assert await _stored("standing_person", "person_id", recompute.PERSON_COLUMNS, list(persons)) == persons
    assert await _stored("standing_household", "household_id", recompute.HOUSEHOLD_COLUMNS,
                         list(households)) == households
    assert report.drifted_households == sorted(stale & set(households)) and report.missing_households == 0

    townships = await village_townships(township_id)
    counties = await township_counties()
    assert report.villages == len(townships) and report.townships == len(set(townships.values()))
    for village_id, township in townships.items():
        rows = await fetch("SELECT * FROM standing_household WHERE village_id = {}", village_id)
        want = rate_village(catalogues(counties[township]), village_id, [_stored_household(r) for r in rows], TODAY)
        got = (await fetch("SELECT * FROM standing_village WHERE village_id = {}", village_id))[0]
        counts = json.loads(got["grade_counts"]) if isinstance(got["grade_counts"], str) else got["grade_counts"]
        assert (got["households"], got["credit_households"], got["serious_dishonesty_households"],
                got["share_permille"], got["is_credit"], got["stars"], counts, got["explanation_zh"]) == \
            (want.households, want.credit_households, want.serious_dishonesty_households, want.share_permille,
             want.is_credit_village, want.stars, want.grade_counts, want.explanation_zh)


@pytest.mark.parametrize("chunk", [1, 7, 20_000])
async def test_whole_recompute_stores_what_the_per_household_path_computes(app_client, chunk, monkeypatch):
    try:
        async with engine_finder().transaction():
            await _check_against_the_per_household_path(None, chunk, monkeypatch)
            raise _Rollback
    except _Rollback:
        pass


async def test_township_recompute_stores_what_the_per_household_path_computes(app_client, monkeypatch):
    township = (await fetch("SELECT v.township FROM household h JOIN village v ON v.id = h.village "
                            "GROUP BY v.township ORDER BY count(*) DESC LIMIT 1"))[0]["township"]
    try:
        async with engine_finder().transaction():
            await _check_against_the_per_household_path(township, 5, monkeypatch)
            # twice in one transaction: the temporary tables are gone after each run
            await full_recompute(as_of=TODAY, township_id=township)
            raise _Rollback
    except _Rollback:
        pass
