"""``points_rules.history.record_in_order`` — the history import's batch write — appends exactly
what recording the same events live, one by one in canonical order, appends (entries, texts,
facts and all), or declines (None) so that the import records them one by one; and it does not
decline the import's common case: events all later than what the subject already has."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import canonical_key, load_catalogue_dir
from points_rules.history import record_in_order
from points_rules.model import LevelPoints, TieredPoints

from tests.unit.points_rules.ledger_model import Ledger

CAT = load_catalogue_dir()
# Repeats (doubling), tiers (cumulative hours), yearly caps, direct grades, levels; 2020.1 and 2026.1.
CODES = ["WAGE-ARREARS", "ENV-DUMPING", "VOL-HOURS", "GRID-MEDIATION", "GRID-CLEANUP", "HONOUR", "BLOOD-DONATION",
         "JUDGMENT-DEFAULTER"]
days = st.dates(date(2023, 1, 1), date(2026, 11, 30))


@st.composite
def spec(draw, acts: bool = True, on=days):
    code = draw(st.sampled_from(CODES))
    occurred = draw(on)
    item = CAT.version_on(occurred).item(code)
    out = {"item_code": code, "occurred_on": occurred, "recorded_on": date(2026, 12, 3),
           "order_key": draw(st.text("abcdef0123456789", min_size=8, max_size=8)),
           "act_id": draw(st.none() | st.just("act-1")) if acts else None}
    if isinstance(item.points, LevelPoints):
        out["level"] = draw(st.sampled_from([lv.key for lv in item.points.levels]))
    if isinstance(item.points, TieredPoints):
        out["quantity"] = draw(st.decimals(min_value=Decimal(1), max_value=Decimal(120), places=1))
    return out


def _live(ledger: Ledger, new):
    """Record ``new`` live, one at a time in canonical order: (event id, draft) per appended entry."""
    start = len(ledger.rows)
    for event in sorted(new, key=canonical_key):
        ledger.count(event)
    return [(r.event_id, r.draft) for r in ledger.rows[start:]]


@settings(max_examples=300, deadline=None)
@given(old=st.lists(spec(), max_size=6, unique_by=lambda s: s["order_key"]),
       new=st.lists(spec(), min_size=1, max_size=10, unique_by=lambda s: s["order_key"]))
def test_a_batch_appends_what_live_recording_in_order_appends_or_declines(old, new):
    ledger = Ledger(CAT)
    for s in old:
        ledger.record(**s)
    events = [ledger.event(**s) for s in new]
    batch = record_in_order(CAT, list(ledger.counted.values()), ledger.active(), events)
    live = _live(ledger, events)
    if batch is not None:
        assert [(a.event_id, a.draft) for a in batch] == live


@settings(max_examples=200, deadline=None)
@given(old=st.lists(spec(acts=False, on=st.dates(date(2020, 1, 1), date(2023, 6, 30))), max_size=6,
                    unique_by=lambda s: s["order_key"]),
       new=st.lists(spec(acts=False, on=st.dates(date(2023, 7, 1), date(2026, 11, 30))), min_size=1, max_size=10,
                    unique_by=lambda s: s["order_key"]))
def test_events_after_all_the_subject_has_are_written_in_one_go(old, new):
    ledger = Ledger(CAT)
    for s in old:
        ledger.record(**s)
    events = [ledger.event(**s) for s in new]
    batch = record_in_order(CAT, list(ledger.counted.values()), ledger.active(), events)
    assert batch is not None
    assert [(a.event_id, a.draft) for a in batch] == _live(ledger, events)
    assert all(a.draft.reverses_entry_id is None for a in batch) and len(batch) == len(events)


def test_an_event_before_what_the_subject_has_is_declined():
    ledger = Ledger(CAT)
    ledger.record("BLOOD-DONATION", date(2025, 5, 1))
    earlier = ledger.event("BLOOD-DONATION", date(2024, 5, 1))
    assert record_in_order(CAT, list(ledger.counted.values()), ledger.active(), [earlier]) is None
    assert record_in_order(CAT, list(ledger.counted.values()), ledger.active(), []) == []
