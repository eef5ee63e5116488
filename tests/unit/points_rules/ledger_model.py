"""A minimal in-memory ledger for the tests: it plays the ledger service's part.

Like ``backend.ledger.services``, it keeps the subject's set of counted events and, after each
change (an event recorded or approved, an event reversed), appends what
:func:`points_rules.reconcile` plans — entry ids, reversal links and all — so sequences of
changes can be replayed in any order and compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from points_rules import (
    ActiveEntry, CatalogueSet, Change, EntryDraft, EntryView, Event, PriorEntry, reconcile,
)


@dataclass(frozen=True)
class Recorded:
    """What one change appended (reversals first where they come first) and how its event scored."""

    entries: list[EntryDraft]
    late: bool
    skipped_reason_zh: str | None


@dataclass
class Row:
    entry_id: int
    event_id: int
    draft: EntryDraft
    act_id: str | None


@dataclass
class Ledger:
    catalogues: CatalogueSet
    subject_kind: str = "person"
    rows: list[Row] = field(default_factory=list)
    counted: dict[int, Event] = field(default_factory=dict)
    _next_event: int = 1

    # -- changes ------------------------------------------------------------------------------------

    def record(self, item_code: str, occurred_on: date, recorded_on: date | None = None, **kwargs) -> Recorded:
        return self.count(self.event(item_code, occurred_on, recorded_on, **kwargs))

    def count(self, event: Event, kind: str = "recorded") -> Recorded:
        """The event joins the counted set (recorded without review, or approved)."""
        self.counted[event.event_id] = event
        try:
            return self._apply(Change(kind, event.event_id, event.item_code, event.occurred_on), event.event_id)
        except Exception:
            del self.counted[event.event_id]   # an event the rules refuse never joins the set
            raise

    def withdraw(self, event_id: int, reason: str = "更正") -> Recorded:
        """The event leaves the counted set (a correction reverses it)."""
        event = self.counted.pop(event_id)
        return self._apply(Change("reversed", event_id, event.item_code, event.occurred_on, reason), event_id)

    def event(self, item_code: str, occurred_on: date, recorded_on: date | None = None, *,
              quantity: Decimal | int | None = None, level: str | None = None, act_id: str | None = None,
              subject_kind: str | None = None, order_key: str | None = None) -> Event:
        event = Event(
            event_id=self._next_event, item_code=item_code, subject_kind=subject_kind or self.subject_kind,
            occurred_on=occurred_on, recorded_on=recorded_on or occurred_on,
            quantity=None if quantity is None else Decimal(quantity), level=level, act_id=act_id,
            order_key=order_key if order_key is not None else f"{self._next_event:06d}",
        )
        self._next_event += 1
        return event

    def _apply(self, change: Change, event_id: int) -> Recorded:
        plan = reconcile(self.catalogues, list(self.counted.values()), self.active(), change)
        appended = []
        for a in plan.appends:
            self.rows.append(Row(len(self.rows) + 1, a.event_id, a.draft, self._act(a.event_id)))
            appended.append(a.draft)
        own = next((s for s in plan.scored if s.event.event_id == event_id), None)
        return Recorded(appended, own.late if own else False, own.skipped_reason_zh if own else None)

    def _act(self, event_id: int) -> str | None:
        event = self.counted.get(event_id)
        return event.act_id if event else None

    # -- reading ------------------------------------------------------------------------------------

    @property
    def reversed_ids(self) -> set[int]:
        return {r.draft.reverses_entry_id for r in self.rows if r.draft.reverses_entry_id is not None}

    def active(self) -> list[ActiveEntry]:
        gone = self.reversed_ids
        return [ActiveEntry(r.entry_id, r.event_id, r.draft.item_code, r.draft.catalogue_version, r.draft.points,
                            r.draft.valid_from, r.draft.valid_until, r.draft.grade_override, r.draft.quantity)
                for r in self.rows if r.draft.reverses_entry_id is None and r.entry_id not in gone]

    @property
    def entries(self) -> list[PriorEntry]:
        gone = self.reversed_ids
        return [PriorEntry(entry_id=r.entry_id, event_id=r.event_id, item_code=r.draft.item_code, act_id=r.act_id,
                           points=r.draft.points, valid_from=r.draft.valid_from, valid_until=r.draft.valid_until,
                           quantity=r.draft.quantity, grade_override=r.draft.grade_override,
                           reversed=r.entry_id in gone, is_reversal=r.draft.reverses_entry_id is not None)
                for r in self.rows]

    def views(self, not_counting: frozenset[int] = frozenset()) -> list[EntryView]:
        return [EntryView(r.entry_id, r.draft.points, r.draft.valid_from, r.draft.valid_until, r.draft.grade_override,
                          counts=r.entry_id not in not_counting, reverses_entry_id=r.draft.reverses_entry_id)
                for r in self.rows]
