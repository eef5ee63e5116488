"""积分重算 — a subject's entries as a function of the *set* of its counted events.

A score must not depend on the order in which events arrive: a late sync from an offline phone,
a late approval, the reversal of an earlier event. So the entries a subject *should* have are
computed from all of its counted events (approved, not rejected, not reversed) at once, in one
canonical order that no arrival can change — event date, then an arrival-independent key made
from the event itself — and :func:`reconcile` says what the append-only ledger must receive so
that its active entries become exactly those: nothing for an entry that is already right; for an
entry that changed, a reversal of the old entry plus the re-scored one, both explained in Chinese.

Pure: dataclasses in, dataclasses out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Sequence

from points_rules.engine import EntryDraft, Event, PriorEntry, rank, score_event
from points_rules.model import CatalogueSet, RuleError, TieredPoints
from points_rules.units import date_zh, format_points


@dataclass(frozen=True)
class Scored:
    """What one counted event is worth, given all the others."""

    event: Event
    draft: EntryDraft | None           # None: the event scores nothing (a larger item of its act won)
    late: bool
    skipped_reason_zh: str | None = None


def canonical_key(event: Event) -> tuple[date, str, int]:
    """The one order of scoring: by event date, then the event's own key (never its arrival)."""
    return event.occurred_on, event.order_key, event.event_id


def score_history(catalogues: CatalogueSet, events: Sequence[Event]) -> list[Scored]:
    """Score a subject's counted events as a set, in canonical order.

    One act (``act_id``) matching several items scores once, at the largest catalogue value (a
    direct grade outranks any points; on a tie the canonically first wins); the other events of
    the act score nothing. Every other event is scored by :func:`score_event` against the entries
    of the events before it.
    """
    ordered = sorted(events, key=canonical_key)
    skipped = _act_losers(catalogues, ordered)
    entries: list[PriorEntry] = []
    out: list[Scored] = []
    for event in ordered:
        result = score_event(catalogues, event, entries if event.event_id not in skipped else [])
        if event.event_id in skipped:
            out.append(Scored(event, None, result.late, skipped[event.event_id]))
            continue
        draft = result.entries[0]
        entries.append(PriorEntry(
            entry_id=len(entries) + 1, event_id=event.event_id, item_code=draft.item_code, act_id=event.act_id,
            points=draft.points, valid_from=draft.valid_from, valid_until=draft.valid_until,
            quantity=draft.quantity, grade_override=draft.grade_override, reversed=False, is_reversal=False,
        ))
        out.append(Scored(event, draft, result.late))
    return out


def _act_losers(catalogues: CatalogueSet, ordered: list[Event]) -> dict[int, str]:
    """event id → why it scores nothing, for every event of an act that is not the act's largest item."""
    acts: dict[str, list[tuple[int, Event]]] = defaultdict(list)
    for position, event in enumerate(ordered):
        if event.act_id is not None:
            acts[event.act_id].append((position, event))
    losers: dict[int, str] = {}
    for members in acts.values():
        if len(members) < 2:
            continue
        nominal = {}
        for position, event in members:
            draft = score_event(catalogues, event, []).entries[0]
            version = catalogues.version_on(event.occurred_on)
            nominal[event.event_id] = (rank(version, draft.grade_override, draft.points), draft)
        _, winner = max(members, key=lambda m: (nominal[m[1].event_id][0], -m[0]))
        best = nominal[winner.event_id][1]
        value = f"直接判级{best.grade_override}级" if best.grade_override else f"{format_points(best.points)}分"
        name = catalogues.version_on(winner.occurred_on).item(winner.item_code).name_zh
        for _, event in members:
            if event.event_id != winner.event_id:
                losers[event.event_id] = (f"同一行为同时符合多项的，只按分值最大的一项计分：本行为按“{name}”"
                                          f"（{value}）计分，本项不再记分。")
    return losers


# --- bringing the ledger to the computed state ------------------------------------------------------


@dataclass(frozen=True)
class ActiveEntry:
    """An entry that counts in the ledger now: an original entry that no reversal cancels."""

    entry_id: int
    event_id: int
    item_code: str
    catalogue_version: str
    points: int
    valid_from: date
    valid_until: date
    grade_override: str | None
    quantity: Decimal | None


CHANGE_KINDS = ("recorded", "approved", "reversed", "repaired", "rescored")


@dataclass(frozen=True)
class Change:
    """What just happened to the subject's set of events — the cause every compensation names."""

    kind: str                          # CHANGE_KINDS
    event_id: int | None
    item_code: str | None
    occurred_on: date | None
    reason_zh: str = ""                # a reversal's reason; the whole cause for "rescored"


@dataclass(frozen=True)
class Append:
    """One entry the ledger must append, for ``event_id`` (a reversal has ``reverses_entry_id`` set)."""

    event_id: int
    draft: EntryDraft


@dataclass(frozen=True)
class Plan:
    appends: list[Append]
    scored: list[Scored]
    status: dict[int, str] = field(default_factory=dict)   # event id → "counted" | "skipped"


def reconcile(catalogues: CatalogueSet, events: Sequence[Event], active: Sequence[ActiveEntry],
              change: Change) -> Plan:
    """What to append so that the active entries equal :func:`score_history` of ``events``.

    ``events`` is the subject's counted set *after* ``change``; ``active`` the ledger's active
    entries now. An active entry that matches its event's computed entry stays; one that does
    not (or whose event left the set, or now scores nothing) is reversed, and the computed entry
    is appended in its place.
    """
    scored = score_history(catalogues, events)
    by_event: dict[int, list[ActiveEntry]] = defaultdict(list)
    for entry in sorted(active, key=lambda e: e.entry_id):
        by_event[entry.event_id].append(entry)
    appends: list[Append] = []
    in_set = {s.event.event_id for s in scored}
    # Entries of events that left the set (reversed): cancelled first, the cause of what follows.
    for event_id in sorted(set(by_event) - in_set):
        for entry in by_event[event_id]:
            appends.append(Append(event_id, _reversal(catalogues, entry, change, own=event_id == change.event_id)))
    for s in scored:
        event_id = s.event.event_id
        current = list(by_event.get(event_id, []))
        keep = next((e for e in current if s.draft is not None and _same(e, s.draft)), None)
        for entry in current:
            if entry is not keep:
                appends.append(Append(event_id, _reversal(catalogues, entry, change, own=event_id == change.event_id,
                                                          skipped_reason_zh=s.skipped_reason_zh)))
        if s.draft is not None and keep is None:
            appends.append(Append(event_id, _rescored(catalogues, s.draft, change, first=not current,
                                                      own=event_id == change.event_id)))
    status = {s.event.event_id: "counted" if s.draft is not None else "skipped" for s in scored}
    return Plan(appends, scored, status)


def record_in_order(catalogues: CatalogueSet, counted: Sequence[Event], active: Sequence[ActiveEntry],
                    new: Sequence[Event]) -> list[Append] | None:
    """What recording ``new`` one by one, in canonical order, would append — computed in one go.

    For a batch of events (a history import) that all come after every event already ``counted``
    (canonical order), recording them live one at a time changes no earlier entry: each appends
    its own entry, as first recorded, and nothing else. That is checked, not assumed: the
    whole set is reconciled once, and the answer is None — record the events one by one — when
    any entry already in force would change, an event of ``new`` would score nothing (an act's
    smaller item) or any event of ``new`` is not after all of ``counted``.
    """
    if not new:
        return []
    ordered = sorted(new, key=canonical_key)
    if counted and max(canonical_key(e) for e in counted) >= canonical_key(ordered[0]):
        return None
    first = ordered[0]
    plan = reconcile(catalogues, [*counted, *ordered], active,
                     Change("recorded", first.event_id, first.item_code, first.occurred_on))
    new_ids = {e.event_id for e in ordered}
    if any(a.draft.reverses_entry_id is not None or a.event_id not in new_ids for a in plan.appends) \
            or sorted(a.event_id for a in plan.appends) != sorted(new_ids):
        return None
    drafts = {s.event.event_id: s.draft for s in plan.scored if s.event.event_id in new_ids}
    if any(d is None for d in drafts.values()):
        return None
    return [Append(e.event_id, drafts[e.event_id]) for e in ordered]


def window_start(first: date) -> date:
    """The earliest ``valid_until``/``valid_from`` an entry may have and still be seen by an event
    dated ``first`` or later: :func:`points_rules.engine.score_event` looks only at entries of the
    same item that are in force on the event date (tiers, doubling) or begin in its year (the cap)."""
    return date(first.year, 1, 1)


def visible_to(entry: PriorEntry, first: date) -> bool:
    """Whether ``score_event`` of an event dated ``first`` or later can see ``entry`` (see :func:`window_start`)."""
    return entry.valid_until > first or entry.valid_from >= window_start(first)


def sees_entries(catalogues: CatalogueSet, event: Event) -> bool:
    """Whether scoring ``event`` reads the individual entries before it — tiers (quantities in force)
    or a repeat within validity — rather than only the points its item's entries began with in its
    year (the yearly cap), which :func:`year_total` stands for."""
    item = catalogues.version_on(event.occurred_on).item(event.item_code)
    return isinstance(item.points, TieredPoints) or item.repeat_doubles


def year_total(item_code: str, year: int, points: int) -> PriorEntry:
    """The points of an item's active entries begun in ``year``, as one entry that is in force on no
    day: for an event that does not :func:`sees_entries`, all that its scoring reads of the history."""
    start = date(year, 1, 1)
    return PriorEntry(entry_id=0, event_id=0, item_code=item_code, act_id=None, points=points, valid_from=start,
                      valid_until=start, quantity=None, grade_override=None, reversed=False, is_reversal=False)


def append_after(catalogues: CatalogueSet, prior: Sequence[PriorEntry], new: Sequence[Event]) -> list[Append] | None:
    """What recording ``new`` one by one in canonical order appends, scored only against ``prior``.

    The fast form of :func:`record_in_order` for the ledger's common case: every event of ``new``
    comes after all of the subject's counted events and none has an act. Then no earlier entry can
    change (an event's score depends only on the events before it) and each new event appends
    exactly its own first entry, scored against the entries before it — as :func:`score_history`
    would. ``prior`` are the subject's active entries in the canonical order of their events; only
    those :func:`visible_to` the first new event matter (the caller may leave the others out), and for
    an item whose new events do not :func:`sees_entries` a :func:`year_total` per year may stand for
    its entries.
    Entries are numbered by that order, as :func:`score_history` numbers them (ties between two
    entries of one date go to the canonically first). None when an event of ``new`` has an
    ``act_id`` (the act rule looks at the whole set: use :func:`record_in_order`).
    """
    ordered = sorted(new, key=canonical_key)
    if not ordered:
        return []
    if any(e.act_id is not None for e in ordered):
        return None
    first = ordered[0].occurred_on
    entries = [replace(p, entry_id=position) for position, p in enumerate(
        (p for p in prior if not p.reversed and not p.is_reversal and visible_to(p, first)), 1)]
    out: list[Append] = []
    for event in ordered:
        draft = score_event(catalogues, event, entries).entries[0]
        entries.append(PriorEntry(
            entry_id=len(entries) + 1, event_id=event.event_id, item_code=draft.item_code, act_id=None,
            points=draft.points, valid_from=draft.valid_from, valid_until=draft.valid_until,
            quantity=draft.quantity, grade_override=draft.grade_override, reversed=False, is_reversal=False))
        out.append(Append(event.event_id, draft))
    return out


def _same(entry: ActiveEntry, draft: EntryDraft) -> bool:
    return (entry.item_code == draft.item_code and entry.catalogue_version == draft.catalogue_version
            and entry.points == draft.points and entry.valid_from == draft.valid_from
            and entry.valid_until == draft.valid_until and entry.grade_override == draft.grade_override
            and _quantity(entry.quantity) == _quantity(draft.quantity))


def _quantity(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _item_name(catalogues: CatalogueSet, item_code: str | None, on: date | None) -> str:
    if item_code is None or on is None:
        return "相关"
    try:
        return catalogues.version_on(on).item(item_code).name_zh
    except RuleError:
        return "相关"


def cause_zh(catalogues: CatalogueSet, change: Change, affected_item: str) -> str:
    """"因补录2026年7月1日的同类记录" — the cause, as the villager reads it beside the affected entry."""
    if change.kind == "rescored" or change.occurred_on is None:
        return change.reason_zh or "因积分规则重新计算"
    what = "同类" if change.item_code == affected_item else f"“{_item_name(catalogues, change.item_code, change.occurred_on)}”"
    day = date_zh(change.occurred_on)
    return {
        "recorded": f"因补录{day}的{what}记录",
        "approved": f"因{day}的{what}记录审核通过",
        "reversed": f"因{day}的{what}记录被更正撤销",
        "repaired": f"因{day}的{what}记录经信用修复",
    }[change.kind]


_OWN_RULE = {"reversed": "correction", "repaired": "repair"}
"""The rule an event's own cancellation names, by what happened to it."""


def _reversal(catalogues: CatalogueSet, entry: ActiveEntry, change: Change, *, own: bool,
              skipped_reason_zh: str | None = None) -> EntryDraft:
    name = _item_name(catalogues, entry.item_code, entry.valid_from)
    what = f"{date_zh(entry.valid_from)}“{name}”记录的{format_points(entry.points)}分"
    if own and change.kind == "reversed":
        text = f"更正撤销{what}" + (f"：{change.reason_zh}" if change.reason_zh else "。")
    elif own and change.kind == "repaired":
        text = f"信用修复：{what}不再计分（原记录保留）" + (f"：{change.reason_zh}" if change.reason_zh else "。")
    elif skipped_reason_zh:
        text = f"{cause_zh(catalogues, change, entry.item_code)}，{what}不再计入：{skipped_reason_zh}"
    else:
        text = f"{cause_zh(catalogues, change, entry.item_code)}，{what}作废，按重新计算的结果另记一条。"
    facts: dict[str, Any] = {
        "rule": _OWN_RULE.get(change.kind, "rescore") if own else "rescore",
        "reverses_entry_id": entry.entry_id, "reversed_points": entry.points, "points": -entry.points,
        "cause": _change_facts(change), "unit": "0.1分 (tenths of a point)",
    }
    return EntryDraft(
        item_code=entry.item_code, catalogue_version=entry.catalogue_version, points=-entry.points,
        valid_from=entry.valid_from, valid_until=entry.valid_until, grade_override=None, quantity=None,
        reverses_entry_id=entry.entry_id, explanation_zh=text, explanation=facts,
    )


def _rescored(catalogues: CatalogueSet, draft: EntryDraft, change: Change, *, first: bool, own: bool) -> EntryDraft:
    """The computed entry; when it replaces another (or is not the cause's own first entry) it says why."""
    if first and own and change.kind in ("recorded", "approved"):
        return draft
    prefix = f"{cause_zh(catalogues, change, draft.item_code)}，重新计分：" if not first else \
        f"{cause_zh(catalogues, change, draft.item_code)}，本项现计入："
    return replace(draft, explanation_zh=prefix + draft.explanation_zh,
                   explanation={**draft.explanation, "rescored": True, "cause": _change_facts(change)})


def _change_facts(change: Change) -> dict[str, Any]:
    return {"kind": change.kind, "event_id": change.event_id, "item_code": change.item_code,
            "occurred_on": None if change.occurred_on is None else change.occurred_on.isoformat(),
            "reason_zh": change.reason_zh}


__all__ = ["Scored", "canonical_key", "score_history", "ActiveEntry", "Change", "CHANGE_KINDS", "Append", "Plan",
           "reconcile", "record_in_order", "append_after", "sees_entries", "year_total", "visible_to", "window_start", "cause_zh"]
