"""党建+网格 — the pure rules of a party activity (no I/O).

One activity is recorded once; each attendee's ledger event carries a key derived from the
activity and the person, so the same activity with the same attendee always names the same event
(a replay, a concurrent double post, or a later post adding a late attendee creates only what is
missing)."""

from __future__ import annotations

from collections.abc import Iterable

KINDS = {
    "theme_party_day": "主题党日",
    "volunteer_service": "志愿服务队服务",
    "environment_cleanup": "环境整治",
    "other": "其他党组织活动",
}


def attendee_key(activity_id: int, person_id: int) -> str:
    """The ledger idempotency key of one attendee's event (≤ 64 characters, the ledger's alphabet)."""
    if activity_id < 1 or person_id < 1:
        raise ValueError("ids are positive")
    return f"party-activity-{activity_id}-person-{person_id}"


def attendees_in_order(person_ids: Iterable[int]) -> list[int]:
    """Each attendee once, in the order first listed (a name ticked twice is one attendance)."""
    return list(dict.fromkeys(person_ids))


def attendee_note(kind: str, place: str) -> str:
    """The note each attendee's event carries (what and where, ≤ 500 characters)."""
    return f"{KINDS[kind]}（{place}）"[:500]


def finding_key(report_id: int, index: int) -> str:
    """The ledger idempotency key of a patrol report's finding (its place in the report, from 0)."""
    if report_id < 1 or index < 0:
        raise ValueError("report ids are positive, finding indexes not negative")
    return f"patrol-report-{report_id}-finding-{index}"
