"""The consent decision (points_rules.consent): withdrawal is immediate and never retroactive,
expiry and a newer notice end a grant, and a wider data scope covers a narrower one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from points_rules.consent import DataScope, Grant, Notice, Purpose, Status, active_grant, status

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOTICE = Notice(id=1, version=1, published_at=T0 - timedelta(days=1))
minutes = st.integers(min_value=0, max_value=60 * 24 * 400)


def grant(scope: DataScope = DataScope.GRADE_SCORE, days: int = 365) -> Grant:
    return Grant(id=7, subject_kind="household", subject_id=3, recipient_id=5, purpose=Purpose.CREDIT_APPLICATION,
                 scope=scope, notice_id=1, effective_from=T0, expires_at=T0 + timedelta(days=days))


def ask(g: Grant, notices, withdrawals, at: datetime, scope: DataScope = DataScope.GRADE):
    return active_grant([g], notices, withdrawals, subject_kind="household", subject_id=3, recipient_id=5,
                        purpose=Purpose.CREDIT_APPLICATION, scope=scope, start=at)


@given(withdrawn=minutes, asked=minutes)
def test_withdrawal_removes_consent_from_then_on_and_never_before(withdrawn, asked):
    g = grant()
    t, at = T0 + timedelta(minutes=withdrawn), T0 + timedelta(minutes=asked)
    with_w = ask(g, [NOTICE], {g.id: t}, at)
    without = ask(g, [NOTICE], {}, at)
    if at >= t:
        assert with_w is None
        assert status(g, [NOTICE], t, at) is Status.WITHDRAWN
    else:
        assert with_w == without


@given(asked=minutes)
def test_expiry(asked):
    g = grant(days=100)
    at = T0 + timedelta(minutes=asked)
    assert (ask(g, [NOTICE], {}, at) is not None) == (at < g.expires_at)


@given(published=minutes, asked=minutes)
def test_newer_notice_supersedes_from_its_publication(published, asked):
    g = grant()
    newer = Notice(id=2, version=2, published_at=T0 + timedelta(minutes=published))
    at = T0 + timedelta(minutes=asked)
    got = ask(g, [NOTICE, newer], {}, at)
    if at >= newer.published_at:
        assert got is None
    else:
        assert got == ask(g, [NOTICE], {}, at)


@given(granted=st.sampled_from(list(DataScope)), wanted=st.sampled_from(list(DataScope)))
def test_scope_ordering(granted, wanted):
    order = [DataScope.GRADE, DataScope.GRADE_SCORE, DataScope.GRADE_SCORE_ENTRIES]
    got = ask(grant(scope=granted), [NOTICE], {}, T0 + timedelta(days=1), scope=wanted)
    assert (got is not None) == (order.index(granted) >= order.index(wanted))


def test_nothing_before_the_grant_was_recorded():
    assert ask(grant(), [NOTICE], {}, T0 - timedelta(seconds=1)) is None
