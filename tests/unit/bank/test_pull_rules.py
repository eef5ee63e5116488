"""The pull decision (points_rules.bank) as properties: nothing is disclosed without an active
consent, a rating under objection is never disclosed, a failed check blocks exactly as the
product's policy says, and staleness counts days from the rating's as-of date."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from points_rules import bank as rules
from points_rules.bank import ConsentState, Outcome, Policy, RatingState

consents = st.sampled_from(list(ConsentState))
ratings = st.sampled_from(list(RatingState))
policies = st.builds(Policy, rating_mandatory=st.booleans(), stale_days=st.integers(1, 3650),
                     failed_check_blocks=st.booleans())


@given(consents, ratings, policies)
def test_disclosure_needs_active_consent_and_a_good_rating(consent, rating, policy):
    decision = rules.decide(consent, rating, policy)
    assert decision.discloses == (consent is ConsentState.ACTIVE and rating is RatingState.OK)


@given(consents, ratings, policies)
def test_without_consent_always_refused_with_the_consent_code(consent, rating, policy):
    decision = rules.decide(consent, rating, policy)
    if consent is not ConsentState.ACTIVE:
        assert decision.outcome is Outcome.REFUSED
        assert decision.code == rules.CONSENT_CODES[consent]
        assert decision.code.startswith("CONSENT_")


@given(ratings, policies)
def test_a_failed_check_blocks_as_the_policy_says(rating, policy):
    decision = rules.decide(ConsentState.ACTIVE, rating, policy)
    if rating is RatingState.OK:
        assert (decision.outcome, decision.code) == (Outcome.RATED, rules.OK)
        return
    assert decision.code == rules.RATING_CODES[rating]
    blocks = policy.rating_mandatory if rating is RatingState.NONE else policy.failed_check_blocks
    assert decision.outcome is (Outcome.REFUSED if blocks else Outcome.CHECK_FAILED)


@given(st.booleans(), st.integers(0, 5000), st.booleans(), st.integers(1, 3650))
def test_rating_state(has_effective, age, under_objection, stale_days):
    today = date(2026, 12, 3)
    as_of = today - timedelta(days=age) if has_effective else None
    state = rules.rating_state(has_effective=has_effective, as_of=as_of, under_objection=under_objection,
                               today=today, stale_days=stale_days)
    if under_objection:
        assert state is RatingState.UNDER_OBJECTION  # outranks a missing or stale rating
    elif not has_effective:
        assert state is RatingState.NONE
    else:
        assert state is (RatingState.STALE if age > stale_days else RatingState.OK)


def test_stale_boundary_is_inclusive():
    today = date(2026, 12, 3)
    ok = rules.rating_state(has_effective=True, as_of=today - timedelta(days=30), under_objection=False,
                            today=today, stale_days=30)
    stale = rules.rating_state(has_effective=True, as_of=today - timedelta(days=31), under_objection=False,
                               today=today, stale_days=30)
    assert (ok, stale) == (RatingState.OK, RatingState.STALE)
