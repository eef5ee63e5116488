"""银行查询 — what a bank's rating pull may answer, from the consent, the rating and the product's policy.

Pure: no clock, no database. The caller works out the three states and asks :func:`decide`.

The product policy follows Apache Fineract's credit-check mapping (per loan product: is the check
mandatory, how stale may the data be, does a failed check block the application):

* ``rating_mandatory`` — the product needs an effective rating: a household without one fails
  the check (``RATING_NOT_AVAILABLE``);
* ``stale_days`` — the oldest rating accepted, counted in days from the rating's as-of date (the
  period's end: what the rating describes) to the day of the pull (``RATING_STALE``);
* ``failed_check_blocks`` — whether a failed check is refused (4xx) or answered 200 with an
  outcome that says the check failed, and no rating data at all.

What is never a matter of policy:

* no active consent for this bank, purpose and scope → refused, whatever the product says, and
  before anything about the rating is looked at (an unknown ID number answers exactly like a known
  one without consent: ``CONSENT_REQUIRED``);
* a rating under objection (a newer period's rating disputed, or with an objection open) is never
  disclosed: with a blocking product it is refused, otherwise the check fails;
* rating data leave only with outcome ``rated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum


class ConsentState(str, Enum):
    """The consent that would cover the pull, as the consent slice reports it."""

    ACTIVE = "active"
    NONE = "none"  # no grant for this bank and purpose (or the household is not known)
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a newer notice version: fresh consent needed
    SCOPE_TOO_NARROW = "scope_too_narrow"  # active, but for less than the product needs


class RatingState(str, Enum):
    OK = "ok"
    NONE = "none"  # no effective official rating
    STALE = "stale"
    UNDER_OBJECTION = "under_objection"


class Outcome(str, Enum):
    RATED = "rated"  # 200, rating data and a signed attestation
    CHECK_FAILED = "check_failed"  # 200, no rating data: a non-blocking product's failed check
    REFUSED = "refused"  # 4xx


CONSENT_CODES = {
    ConsentState.NONE: "CONSENT_REQUIRED",
    ConsentState.WITHDRAWN: "CONSENT_WITHDRAWN",
    ConsentState.EXPIRED: "CONSENT_EXPIRED",
    ConsentState.SUPERSEDED: "CONSENT_NOTICE_OUTDATED",
    ConsentState.SCOPE_TOO_NARROW: "CONSENT_SCOPE_INSUFFICIENT",
}
RATING_CODES = {
    RatingState.NONE: "RATING_NOT_AVAILABLE",
    RatingState.STALE: "RATING_STALE",
    RatingState.UNDER_OBJECTION: "RATING_UNDER_OBJECTION",
}


@dataclass(frozen=True)
class Policy:
    rating_mandatory: bool
    stale_days: int
    failed_check_blocks: bool


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    code: str  # "OK", or the stable code of the refusal / failed check

    @property
    def discloses(self) -> bool:
        return self.outcome is Outcome.RATED


OK = "OK"


def rating_state(*, has_effective: bool, as_of: date | None, under_objection: bool, today: date,
                 stale_days: int) -> RatingState:
    """The rating's state for a product. An objection outranks everything: a household whose newer
    rating is contested must not be judged on the older one as if nothing were open."""
    if under_objection:
        return RatingState.UNDER_OBJECTION
    if not has_effective or as_of is None:
        return RatingState.NONE
    if (today - as_of).days > stale_days:
        return RatingState.STALE
    return RatingState.OK


def decide(consent: ConsentState, rating: RatingState, policy: Policy) -> Decision:
    """The answer to a pull. See the module docstring for the rules."""
    if consent is not ConsentState.ACTIVE:
        return Decision(Outcome.REFUSED, CONSENT_CODES[consent])
    if rating is RatingState.OK:
        return Decision(Outcome.RATED, OK)
    code = RATING_CODES[rating]
    blocks = policy.rating_mandatory if rating is RatingState.NONE else policy.failed_check_blocks
    return Decision(Outcome.REFUSED if blocks else Outcome.CHECK_FAILED, code)
