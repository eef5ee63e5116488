import re

from hypothesis import given
from hypothesis import strategies as st

from points_rules.fieldwork import KINDS, attendee_key, attendee_note, attendees_in_order

IDS = st.integers(min_value=1, max_value=2**31 - 1)
LEDGER_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


@given(IDS, IDS, IDS, IDS)
def test_attendee_keys_are_ledger_keys_and_one_to_one(a1, p1, a2, p2):
    k1, k2 = attendee_key(a1, p1), attendee_key(a2, p2)
    assert LEDGER_KEY.match(k1) and LEDGER_KEY.match(k2)
    assert (k1 == k2) == ((a1, p1) == (a2, p2))


@given(st.lists(IDS, max_size=60))
def test_attendees_once_each_in_first_order(ids):
    out = attendees_in_order(ids)
    assert len(out) == len(set(ids)) and set(out) == set(ids)
    assert out == sorted(set(ids), key=ids.index)
    assert attendees_in_order(ids + ids) == out


@given(st.sampled_from(sorted(KINDS)), st.text(max_size=600))
def test_note_fits_the_ledger(kind, place):
    assert len(attendee_note(kind, place)) <= 500


@given(IDS, st.integers(min_value=0, max_value=49), IDS, st.integers(min_value=0, max_value=49), IDS, IDS)
def test_finding_keys_are_ledger_keys_one_to_one_and_never_an_attendee_key(r1, i1, r2, i2, a, p):
    from points_rules.fieldwork import finding_key

    k1, k2 = finding_key(r1, i1), finding_key(r2, i2)
    assert LEDGER_KEY.match(k1) and (k1 == k2) == ((r1, i1) == (r2, i2))
    assert k1 != attendee_key(a, p)
