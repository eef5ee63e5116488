"""points_rules.catalogue_impact: what a new county version would change (pure, hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from points_rules import DEFAULT_CATALOGUE_DIR, Event, load_catalogue_dir, score_history
from points_rules.catalogue_impact import Member, addition_problems, governed_range, impact, with_version
from points_rules.validation import check_version
from points_rules.yaml_source import parse_yaml

SHIPPED = load_catalogue_dir()
TEXT = (DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml").read_text(encoding="utf-8")
EFFECTIVE = date(2026, 9, 1)
ITEMS = ("COMMITMENT-KEPT", "BLOOD-DONATION", "FILIAL-PIETY", "ENV-DUMPING")


def _version(version: str = "2026.9", effective: date = EFFECTIVE, kept: str = "50", cap: str = "60"):
    text = TEXT.replace('version: "2026.2"', f'version: "{version}"', 1).replace(
        "effective_from: 2026-07-01", f"effective_from: {effective.isoformat()}", 1)
    head, marker, tail = text.partition("  - code: COMMITMENT-KEPT\n")
    tail = tail.replace("    points: 2\n", f"    points: {kept}\n", 1).replace("cap_per_year: 4", f"cap_per_year: {cap}", 1)
    source = parse_yaml(head + marker + tail, "t.yaml")
    v, problems = check_version(source)
    assert v is not None, problems
    return v, source


NEW, NEW_SOURCE = _version()
SAME, _ = _version(kept="2", cap="4")


def _event(i: int, item: str, day: date) -> Event:
    return Event(event_id=i, item_code=item, subject_kind="person", occurred_on=day, recorded_on=day,
                 quantity=None, level=None, act_id=None, order_key=f"k{i}")


events_strategy = st.lists(st.tuples(st.sampled_from(ITEMS), st.integers(0, 150)), min_size=0, max_size=12)


def _subjects(raw: list[list[tuple[str, int]]]) -> dict[int, list[Event]]:
    out, n = {}, 0
    for person, evs in enumerate(raw, 1):
        out[person] = []
        for item, offset in evs:
            n += 1
            out[person].append(_event(n, item, date(2026, 7, 20) + timedelta(days=offset)))
    return out


def test_addition_problems_name_the_line():
    problems = addition_problems(SHIPPED, _version("2026.2", date(2026, 7, 1))[0], NEW_SOURCE)
    assert {p.path for p in problems} == {"version", "effective_from"}
    assert all(p.line for p in problems)
    assert addition_problems(SHIPPED, NEW, NEW_SOURCE) == []


def test_governed_range():
    cats = with_version(SHIPPED, NEW)
    assert governed_range(cats, "2026.9") == (EFFECTIVE, None)
    assert governed_range(cats, "2026.2") == (date(2026, 7, 1), EFFECTIVE)


@settings(max_examples=60, deadline=None)
@given(st.lists(events_strategy, min_size=1, max_size=4))
def test_events_before_the_date_never_change(raw):
    persons = _subjects(raw)
    new_set = with_version(SHIPPED, NEW)
    for events in persons.values():
        old = {s.event.event_id: s.draft for s in score_history(SHIPPED, events)}
        new = {s.event.event_id: s.draft for s in score_history(new_set, events)}
        for e in events:
            if e.occurred_on < EFFECTIVE:
                assert old[e.event_id] == new[e.event_id]
    found = impact(SHIPPED, new_set, "2026.9", as_of=date(2026, 12, 1), person_events=persons, household_events={},
                   members={})
    assert found.events_governed == sum(1 for evs in persons.values() for e in evs if e.occurred_on >= EFFECTIVE)
    assert found.events_changed <= sum(len(evs) for evs in persons.values())
    assert not found.unscorable


@settings(max_examples=40, deadline=None)
@given(st.lists(events_strategy, min_size=1, max_size=4))
def test_a_version_worth_the_same_changes_no_grade(raw):
    persons = _subjects(raw)
    members = {100 + p: [Member(p, date(1980, 1, 1), True)] for p in persons}
    found = impact(SHIPPED, with_version(SHIPPED, SAME), "2026.9", as_of=date(2026, 12, 1), person_events=persons,
                   household_events={}, members=members)
    assert found.persons == [] and found.households == []


def test_a_larger_value_raises_the_grade_of_who_has_it_after_the_date():
    persons = {1: [_event(1, "COMMITMENT-KEPT", date(2026, 10, 1))], 2: [_event(2, "COMMITMENT-KEPT", date(2026, 8, 1))]}
    members = {11: [Member(1, date(1980, 1, 1), True)], 12: [Member(2, date(1980, 1, 1), True)]}
    found = impact(SHIPPED, with_version(SHIPPED, NEW), "2026.9", as_of=date(2026, 12, 1), person_events=persons,
                   household_events={}, members=members)
    assert [(c.subject_id, c.old_grade, c.new_grade) for c in found.persons] == [(1, "A", "AAA")]
    assert [c.subject_id for c in found.households] == [11]
    assert (found.events_governed, found.events_changed) == (1, 1)
