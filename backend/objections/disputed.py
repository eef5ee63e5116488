"""What "disputed" means, in one place: a ledger entry is disputed while an open objection names
its event (any entry the event has) or, for an entry with no event, the entry itself.

Disputed entries do not count toward live standing, official ratings or bank answers until the
objection is decided (art. 46). The mark is the open ``entry_objection`` row — the ledger itself
is never updated. It is the dispute as it stands *now*: a standing computed for another day (an
``as_of`` in the past, a period's end) leaves out what is disputed today.
"""

from __future__ import annotations


# The open objections (the marks), as a derived table with ``event_id`` and ``entry_id``.
OPEN_OBJECTIONS_SQL = "SELECT event_id, entry_id FROM entry_objection WHERE status = 'open'"


def _by_event(entry: str) -> str:
    return f"SELECT 1 FROM entry_objection dsp WHERE dsp.status = 'open' AND dsp.event_id = {entry}.event"


def _by_entry(entry: str) -> str:
    return (f"SELECT 1 FROM entry_objection dsp WHERE dsp.status = 'open' AND dsp.event_id IS NULL "
            f"AND dsp.entry_id = {entry}.id")


def disputed_sql(entry: str = "e") -> str:
    """SQL condition, true when the ``ledger_entry`` row aliased ``entry`` is disputed."""
    return f"(EXISTS ({_by_event(entry)}) OR EXISTS ({_by_entry(entry)}))"


def not_disputed_sql(entry: str = "e") -> str:
    """The negation, written as two anti-joins (no OR across them) so a full recompute over
    millions of entries stays one hash anti-join per kind of mark."""
    return f"NOT EXISTS ({_by_event(entry)}) AND NOT EXISTS ({_by_entry(entry)})"


def disputed_note_zh(count: int) -> str:
    """The sentence a standing's explanation carries while some of its entries are disputed."""
    return f"另有{count}条记录正在异议处理中，处理完毕前暂不计分。" if count else ""
