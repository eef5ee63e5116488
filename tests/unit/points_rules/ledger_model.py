"""A minimal in-memory ledger for the tests: appends what ``score_event`` drafts, nothing more.

It plays the ledger service's part (entry ids, the ``reversed`` flag, reversal links) so that
sequences of events can be scored the way the service will score them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from points_rules import CatalogueSet, EntryDraft, EntryView, Event, PriorEntry, ScoreResult, score_event


@dataclass
class Ledger:
    catalogues: CatalogueSet
    subject_kind: str = "person"
    entries: list[PriorEntry] = field(default_factory=list)
    drafts: list[EntryDraft] = field(default_factory=list)
    reverses: dict[int, int] = field(default_factory=dict)  # reversal entry id -> reversed entry id
    _next_event: int = 1

    def record(self, item_code: str, occurred_on: date, recorded_on: date | None = None, **kwargs) -> ScoreResult:
        event = self.event(item_code, occurred_on, recorded_on, **kwargs)
        result = score_event(self.catalogues, event, list(self.entries))
        self.apply(event, result)
        return result

    def event(self, item_code: str, occurred_on: date, recorded_on: date | None = None, *,
              quantity: Decimal | int | None = None, level: str | None = None, act_id: str | None = None,
              subject_kind: str | None = None) -> Event:
        event = Event(
            event_id=self._next_event,
            item_code=item_code,
            subject_kind=subject_kind or self.subject_kind,
            occurred_on=occurred_on,
            recorded_on=recorded_on or occurred_on,
            quantity=None if quantity is None else Decimal(quantity),
            level=level,
            act_id=act_id,
        )
        self._next_event += 1
        return event

    def apply(self, event: Event, result: ScoreResult) -> None:
        for draft in result.entries:
            entry_id = len(self.entries) + 1
            if draft.reverses_entry_id is not None:
                self.entries = [replace(e, reversed=True) if e.entry_id == draft.reverses_entry_id else e
                                for e in self.entries]
                self.reverses[entry_id] = draft.reverses_entry_id
            self.entries.append(PriorEntry(
                entry_id=entry_id, event_id=event.event_id, item_code=draft.item_code, act_id=event.act_id,
                points=draft.points, valid_from=draft.valid_from, valid_until=draft.valid_until,
                quantity=draft.quantity, grade_override=draft.grade_override, reversed=False,
                is_reversal=draft.reverses_entry_id is not None,
            ))
            self.drafts.append(draft)

    def views(self, not_counting: frozenset[int] = frozenset()) -> list[EntryView]:
        return [EntryView(e.entry_id, e.points, e.valid_from, e.valid_until, e.grade_override,
                          counts=e.entry_id not in not_counting, reverses_entry_id=self.reverses.get(e.entry_id))
                for e in self.entries]
