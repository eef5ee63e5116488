"""Order independence (invariant 9): the entries in force, score and grade of a subject at every
date depend only on the *set* of counted events — never on the order in which events were
recorded, approved, rejected or reversed.

Each example draws a set of events (repeats, tiers, caps, one act matching several items), some
needing review (recorded pending, then approved or rejected) and some reversed later, and plays
the same changes in two random interleavings through the in-memory ledger, which appends exactly
what :func:`points_rules.reconcile` plans. Both ledgers, and a ledger built from the final set in
one go, must agree on every date. The ledger stays append-only: an entry once written is only
ever cancelled by a reversal that negates it exactly.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import load_catalogue_dir, standing
from points_rules.model import LevelPoints, TieredPoints

from .ledger_model import Ledger

CAT = load_catalogue_dir()
# Items that exercise every rule: repeats (doubling), tiers, yearly caps, direct grades, levels.
CODES = ["WAGE-ARREARS", "ENV-DUMPING", "COMMITMENT-BROKEN", "VOL-HOURS", "GRID-MEDIATION", "GRID-CLEANUP",
         "HONOUR", "BLOOD-DONATION", "JUDGMENT-DEFAULTER", "FILIAL-PIETY"]
days = st.dates(date(2026, 1, 1), date(2027, 12, 31))


@st.composite
def event_spec(draw):
    code = draw(st.sampled_from(CODES))
    occurred = draw(days)
    item = CAT.version_on(occurred).item(code)
    spec = {"item_code": code, "occurred_on": occurred,
            "recorded_on": occurred + timedelta(days=draw(st.integers(0, 90))),
            "act_id": draw(st.none() | st.sampled_from(["act-1", "act-2"])),
            # The arrival-independent key of an event (the service uses recorder + idempotency key).
            "order_key": draw(st.text("abcdef0123456789", min_size=8, max_size=8))}
    if isinstance(item.points, LevelPoints):
        spec["level"] = draw(st.sampled_from([lv.key for lv in item.points.levels]))
    if isinstance(item.points, TieredPoints):
        spec["quantity"] = draw(st.decimals(min_value=Decimal(1), max_value=Decimal(120), places=1))
    return spec, item.needs_review, draw(st.sampled_from(["keep", "keep", "reject", "reverse"]))


def changes_for(specs):
    """The changes each event goes through, in their own order: recorded → (approved | rejected) → reversed."""
    per_event = []
    for index, (_, needs_review, fate) in enumerate(specs):
        steps = ["count"] if not needs_review else (["pending", "count"] if fate != "reject" else ["pending", "reject"])
        if fate == "reverse":
            steps.append("withdraw")
        per_event.append([(index, step) for step in steps])
    return per_event


def interleave(per_event, rng):
    """A random interleaving that keeps each event's own steps in order."""
    queues = [list(q) for q in per_event]
    out = []
    while any(queues):
        q = rng.choice([q for q in queues if q])
        out.append(q.pop(0))
    return out


def play(specs, order):
    """Events get their ids as they arrive (their first step), as in the database."""
    ledger = Ledger(CAT)
    events = {}
    for index, step in order:
        if index not in events:
            events[index] = ledger.event(**specs[index][0])
        if step == "count":
            ledger.count(events[index], "approved" if specs[index][1] else "recorded")
        elif step == "withdraw":
            ledger.withdraw(events[index].event_id, "核实有误")
    return ledger, events


def live_entries(ledger, events):
    """Active entries by what they are, not by their ids (ids depend on arrival)."""
    key_of = {e.event_id: e.order_key + e.item_code for e in events.values()}
    return Counter((key_of[a.event_id], a.item_code, a.points, a.valid_from, a.valid_until, a.grade_override,
                    a.quantity) for a in ledger.active())


def assert_append_only(ledger):
    rows = {r.entry_id: r for r in ledger.rows}
    reversed_once = Counter(r.draft.reverses_entry_id for r in ledger.rows if r.draft.reverses_entry_id)
    assert all(n == 1 for n in reversed_once.values())          # an entry is cancelled at most once
    for r in ledger.rows:
        target = r.draft.reverses_entry_id
        if target is not None:
            original = rows[target].draft
            assert target < r.entry_id and original.reverses_entry_id is None
            assert (r.draft.points, r.draft.valid_from, r.draft.valid_until) == (
                -original.points, original.valid_from, original.valid_until)


def check_dates(specs):
    out = {date(2026, 1, 1), date(2028, 1, 1), date(2030, 6, 1)}
    for spec, _, _ in specs:
        d = spec["occurred_on"]
        out |= {d, max(d - timedelta(days=1), date(2026, 1, 1)), d + timedelta(days=365), d + timedelta(days=730)}
    return sorted(out)


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(event_spec(), min_size=1, max_size=12, unique_by=lambda s: s[0]["order_key"]),  # keys are unique
       seed=st.integers(0, 2**32 - 1))
def test_every_order_of_changes_gives_the_same_ledger_in_force(specs, seed):
    rng = random.Random(seed)
    per_event = changes_for(specs)
    first, events_a = play(specs, interleave(per_event, rng))
    second, events_b = play(specs, interleave(per_event, rng))
    # The final set, scored in one go (no history of changes at all).
    final = Ledger(CAT)
    final_events = {i: final.event(**spec) for i, (spec, _, _) in enumerate(specs)}
    kept = [final_events[i] for i, (_, needs_review, fate) in enumerate(specs)
            if fate == "keep" or (fate == "reject" and not needs_review)]   # only a reviewed event can be rejected
    for event in kept[:-1]:
        final.counted[event.event_id] = event
    if kept:
        final.count(kept[-1])   # one reconcile of the whole set

    expected = live_entries(final, final_events)
    assert live_entries(first, events_a) == expected
    assert live_entries(second, events_b) == expected
    for ledger in (first, second):
        assert_append_only(ledger)
    for d in check_dates(specs):
        a, b, c = (standing(CAT, led.views(), d) for led in (first, second, final))
        assert (a.score, a.grade, a.grade_override) == (b.score, b.grade, b.grade_override) == (
            c.score, c.grade, c.grade_override), d


def test_two_arrears_approved_out_of_order_double_the_later_one():
    """The issue's example: approving the later arrears first must not spare the repeat its doubling."""
    led = Ledger(CAT)
    july = led.event("WAGE-ARREARS", date(2026, 7, 1), level="up_to_2_months")      # −10
    september = led.event("WAGE-ARREARS", date(2026, 9, 1), level="up_to_2_months")  # a repeat: −20
    first = led.count(september, "approved")
    assert [d.points for d in first.entries] == [-100]
    late = led.count(july, "approved")
    # The July entry, then the September one re-scored: a reversal of −10 and the doubled −20.
    assert [(d.points, d.reverses_entry_id) for d in late.entries] == [(-100, None), (100, 1), (-200, None)]
    rescored = late.entries[2]
    assert rescored.explanation_zh.startswith("因2026年7月1日的同类记录审核通过，重新计分：")
    assert "加倍计分" in rescored.explanation_zh and not re.search(r"第\s*\d+\s*号", rescored.explanation_zh)
    assert "作废" in late.entries[1].explanation_zh
    assert standing(CAT, led.views(), date(2026, 9, 2)).score == 10000 - 300   # 970, not 980
    # Reversing the July event undoes the doubling again, explained as such.
    undone = led.withdraw(july.event_id, "核实有误")
    assert [(d.points, d.reverses_entry_id) for d in undone.entries] == [(100, 2), (200, 4), (-100, None)]
    assert undone.entries[0].explanation_zh.startswith("更正撤销2026年7月1日“拖欠农民工工资”记录的-10分：核实有误")
    assert undone.entries[1].explanation_zh.startswith("因2026年7月1日的同类记录被更正撤销")
    assert standing(CAT, led.views(), date(2026, 9, 2)).score == 10000 - 100


def test_expired_volunteer_points_are_earned_again():
    led = Ledger(CAT)
    # 2026-03-01: 30 h → the 20 h tier, +5 (valid until 2027-03-01).
    assert led.record("VOL-HOURS", date(2026, 3, 1), quantity=30).entries[0].points == 50
    # 2027-04-01: 30 h more. The first 30 h lapsed with their points, so only these 30 h are in force:
    # the 20 h tier again, +5 (all-time hours would have made it 60 h → 50 h tier, +10 − 5 = +5 only
    # while the first +5 still counted — which it no longer does).
    again = led.record("VOL-HOURS", date(2027, 4, 1), quantity=30).entries[0]
    assert again.points == 50
    assert "截至2027年4月1日仍在有效期内的累计由0小时增至30小时" in again.explanation_zh
    assert "达到“累计20小时”档" in again.explanation_zh


def test_the_readme_worked_example_of_hours_in_force():
    """points_rules/README.md, "Cumulative quantities count while their entries are in force"."""
    led = Ledger(CAT)
    got = [led.record("VOL-HOURS", d, quantity=q).entries[0].points
           for d, q in [(date(2026, 3, 1), 30), (date(2026, 9, 1), 25), (date(2027, 4, 1), 30), (date(2027, 10, 1), 10)]]
    assert got == [50, 50, 50, 0]
