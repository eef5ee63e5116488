"""同意 — which consent, if any, covers a use of a subject's data at a moment (PIPL arts. 13–15, 23, 25).

Pure: no clock, no database. The caller turns stored events into :class:`Grant` values (instants,
not dates) and asks :func:`active_grant`. The rules:

* a grant counts from the instant it was recorded (``effective_from``) — the date on a paper form
  is kept for the record, but nobody could rely on a consent the platform did not yet hold;
* it stops counting at the first of: its withdrawal (at once, never retroactively), its expiry,
  and the publication of a newer notice version for the same recipient kind and purpose (a new
  notice needs fresh consent for new uses);
* a grant of a wider data scope covers a narrower one: grade ⊂ grade + score ⊂ grade + score + entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class RecipientKind(str, Enum):
    """Who receives the data (a separate consent per recipient, PIPL art. 23)."""

    BANK = "bank"  # 银行
    SUBSIDY_OFFICE = "subsidy_office"  # 补贴发放部门
    HONOUR_ROLL = "honour_roll"  # 红榜公示 (publication, art. 25)


class Purpose(str, Enum):
    CREDIT_APPLICATION = "credit_application"  # 信贷申请
    CREDIT_LINE_REVIEW = "credit_line_review"  # 授信额度审查
    SUBSIDY_ELIGIBILITY = "subsidy_eligibility"  # 补贴资格审核
    HONOUR_ROLL = "honour_roll"  # 红榜公示


# A purpose belongs to the kind of recipient that can have it: a notice pairs the two.
PURPOSES_BY_KIND: dict[RecipientKind, frozenset[Purpose]] = {
    RecipientKind.BANK: frozenset({Purpose.CREDIT_APPLICATION, Purpose.CREDIT_LINE_REVIEW}),
    RecipientKind.SUBSIDY_OFFICE: frozenset({Purpose.SUBSIDY_ELIGIBILITY}),
    RecipientKind.HONOUR_ROLL: frozenset({Purpose.HONOUR_ROLL}),
}


class DataScope(str, Enum):
    """What may be shared, each level including the one before it."""

    GRADE = "grade"  # 信用等级
    GRADE_SCORE = "grade_score"  # 等级 + 积分
    GRADE_SCORE_ENTRIES = "grade_score_entries"  # 等级 + 积分 + 积分明细

    @property
    def rank(self) -> int:
        return _SCOPE_RANK[self]

    def includes(self, other: DataScope) -> bool:
        return self.rank >= other.rank


_SCOPE_RANK = {DataScope.GRADE: 1, DataScope.GRADE_SCORE: 2, DataScope.GRADE_SCORE_ENTRIES: 3}


class Status(str, Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a newer notice version was published: fresh consent needed


@dataclass(frozen=True)
class Notice:
    """One notice version of a (recipient kind, purpose) in a county, and when it was published."""

    id: int
    version: int
    published_at: datetime


@dataclass(frozen=True)
class Grant:
    """A grant event, as the decision needs it. ``expires_at`` is the first instant it no longer counts."""

    id: int
    subject_kind: str
    subject_id: int
    recipient_id: int
    purpose: Purpose
    scope: DataScope
    notice_id: int
    effective_from: datetime
    expires_at: datetime


def superseded_at(grant: Grant, notices: Iterable[Notice]) -> datetime | None:
    """When the first notice newer than the grant's own was published (``None``: still current).

    ``notices`` are the versions of the grant's own (county, recipient kind, purpose)."""
    notices = list(notices)
    own = next((n for n in notices if n.id == grant.notice_id), None)
    if own is None:
        return None
    newer = [n.published_at for n in notices if n.version > own.version]
    return min(newer) if newer else None


def ends_at(grant: Grant, notices: Iterable[Notice], withdrawn_at: datetime | None) -> datetime:
    """The first instant the grant no longer counts."""
    candidates = [grant.expires_at]
    if withdrawn_at is not None:
        candidates.append(withdrawn_at)
    newer = superseded_at(grant, notices)
    if newer is not None:
        candidates.append(newer)
    return min(candidates)


def status(grant: Grant, notices: Iterable[Notice], withdrawn_at: datetime | None, at: datetime) -> Status:
    """The grant's status at ``at``; a withdrawal outranks an expiry, which outranks a newer notice."""
    if withdrawn_at is not None and withdrawn_at <= at:
        return Status.WITHDRAWN
    if grant.expires_at <= at:
        return Status.EXPIRED
    newer = superseded_at(grant, notices)
    if newer is not None and newer <= at:
        return Status.SUPERSEDED
    return Status.ACTIVE


def active_grant(
    grants: Iterable[Grant],
    notices: Iterable[Notice],
    withdrawals: Mapping[int, datetime],
    *,
    subject_kind: str,
    subject_id: int,
    recipient_id: int,
    purpose: Purpose,
    scope: DataScope,
    start: datetime,
    end: datetime | None = None,
) -> Grant | None:
    """The grant that covers the use throughout ``[start, end]`` (one instant when ``end`` is
    ``None``), or ``None``. Of several, the most recently recorded (then the highest id).

    ``withdrawals`` maps a grant id to the instant it was withdrawn; ``notices`` are the notice
    versions of the purpose's (county, recipient kind)."""
    end = start if end is None else end
    notices = list(notices)
    best: Grant | None = None
    for g in grants:
        if (g.subject_kind, g.subject_id, g.recipient_id, g.purpose) != (subject_kind, subject_id, recipient_id,
                                                                         purpose):
            continue
        if not g.scope.includes(scope):
            continue
        if not (g.effective_from <= start and end < ends_at(g, notices, withdrawals.get(g.id))):
            continue
        if best is None or (g.effective_from, g.id) > (best.effective_from, best.id):
            best = g
    return best


def render_notice(template: str, *, recipient_name_zh: str) -> str:
    """The exact text shown: the template with the recipient's name in it (what the hash covers)."""
    return template.replace(RECIPIENT_PLACEHOLDER, recipient_name_zh)


RECIPIENT_PLACEHOLDER = "{recipient}"
