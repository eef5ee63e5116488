"""``points_rules.history.append_after`` — the batch path's fast form — appends exactly what
recording the same events live, one by one in canonical order, appends (entries, texts, facts and
all), given only the subject's entries in force that the new events can see, numbered in the
canonical order of their events, whatever order the old events arrived in."""

from __future__ import annotations

from datetime import date

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from points_rules import canonical_key
from points_rules.history import append_after, sees_entries, visible_to, year_total

from tests.unit.history.test_record_in_order import CAT, _live, spec
from tests.unit.points_rules.ledger_model import Ledger


def _prior(ledger: Ledger, first: date, only_visible: bool, summed: frozenset[str] = frozenset()):
    """The ledger's active entries in the canonical order of their events (what the database query reads);
    those of the ``summed`` items replaced by their year totals from ``first``'s year on."""
    active = [e for e in ledger.entries if not e.reversed and not e.is_reversal]
    active.sort(key=lambda e: canonical_key(ledger.counted[e.event_id]))
    totals: dict[tuple[str, int], int] = {}
    for e in active:
        if e.item_code in summed and e.valid_from.year >= first.year:
            totals[(e.item_code, e.valid_from.year)] = totals.get((e.item_code, e.valid_from.year), 0) + e.points
    active = [e for e in active if e.item_code not in summed]
    kept = [e for e in active if visible_to(e, first)] if only_visible else active
    return kept + [year_total(code, year, points) for (code, year), points in sorted(totals.items())]


FEW_DAYS = st.dates(date(2026, 3, 1), date(2026, 3, 3))   # same-day repeats: ties broken by canonical order


@settings(max_examples=300, deadline=None)
@given(old=st.lists(spec(), max_size=8, unique_by=lambda s: s["order_key"]),
       new=st.lists(spec(acts=False), min_size=1, max_size=10, unique_by=lambda s: s["order_key"]),
       withdraw=st.lists(st.integers(0, 7), max_size=2), only_visible=st.booleans(), summarise=st.booleans())
def test_new_events_after_all_old_ones_append_what_live_recording_appends(old, new, withdraw, only_visible, summarise):
    _check(old, new, withdraw, only_visible, summarise)


@settings(max_examples=300, deadline=None)
@given(old=st.lists(spec(on=FEW_DAYS), max_size=8, unique_by=lambda s: s["order_key"]),
       new=st.lists(spec(acts=False, on=FEW_DAYS), min_size=1, max_size=10, unique_by=lambda s: s["order_key"]),
       withdraw=st.lists(st.integers(0, 7), max_size=2))
def test_the_same_within_a_few_days(old, new, withdraw):
    _check(old, new, withdraw, True, True)


def _check(old, new, withdraw, only_visible, summarise):
    ledger = Ledger(CAT)
    for s in old:   # arrival order as drawn: backdated ones re-score the subject live
        ledger.record(**s)
    for i in sorted(set(withdraw)):
        if i < len(old) and i + 1 in ledger.counted:
            ledger.withdraw(i + 1)
    events = [ledger.event(**s) for s in new]
    assume(not ledger.counted or min(map(canonical_key, events)) > max(map(canonical_key, ledger.counted.values())))
    first = min(events, key=canonical_key).occurred_on
    # Items no new event of which reads single entries may stand as year totals (what the database sums).
    summed = frozenset({e.item_code for e in events} - {e.item_code for e in events if sees_entries(CAT, e)}
                       if summarise else ())
    batch = append_after(CAT, _prior(ledger, first, only_visible, summed), events)
    assert batch is not None
    assert [(a.event_id, a.draft) for a in batch] == _live(ledger, events)


def test_an_event_with_an_act_is_left_to_the_reconciling_path():
    ledger = Ledger(CAT)
    ledger.record("BLOOD-DONATION", date(2025, 5, 1))
    later = ledger.event("BLOOD-DONATION", date(2025, 6, 1), act_id="act-9")
    assert append_after(CAT, _prior(ledger, later.occurred_on, True), [later]) is None
    assert append_after(CAT, [], []) == []


def test_an_entry_out_of_the_window_is_not_visible_and_changes_nothing():
    ledger = Ledger(CAT)
    ledger.record("WAGE-ARREARS", date(2020, 3, 1), level="up_to_2_months")   # long expired by 2026, and of another year
    later = ledger.event("WAGE-ARREARS", date(2026, 3, 1), level="up_to_2_months")
    entries = _prior(ledger, later.occurred_on, only_visible=False)
    assert entries and not any(visible_to(e, later.occurred_on) for e in entries)
    assert [(a.event_id, a.draft) for a in append_after(CAT, entries, [later])] == _live(ledger, [later])
