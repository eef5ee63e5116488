"""异议 — objections to ledger entries and events (art. 46): disputed at once, decided within 7 working days.

API (``/api/v1/entry-objections``):

- ``POST /`` — a villager objects to their own entry (``entry_id``) or event (``event_id``), or as head
  of household to one of the household's or a member's; ``POST /paper`` — a grid worker captures a
  signed form for a subject in their grids, with their own photo of it (``form_evidence_id``) and any
  further evidence photos (``POST /api/v1/evidence`` first; villagers cannot upload photos).
- From that moment the entry is *disputed*: it does not count toward the live standing (recomputed
  at once), the points view (``disputed: true``, ``standing.disputed_entries``, explained), official
  ratings of a period closed meanwhile, or the bank's answer
  (``services.household_has_disputed_entries``). ``mark_by`` (1 working day) is recorded for the
  report; the mark is made on filing.
- ``POST /{id}/decide`` — the recording township (the event's township) or the county decides,
  with written reasons: ``uphold`` reverses the entry through the ledger's correction path (the
  reversing entry says 异议成立 and why), ``refuse`` lets it count again; the subject reads the
  reasons at ``GET /{id}`` and ``GET /``.
- Deadlines from the official calendar with admin-entered overrides (``points_rules.objections``):
  ``respond_by`` 7 working days, ``warn_on`` 2 working days before. Crons (``jobs.py``): the warning
  stamps ``warned_at`` (the township's queue: ``GET /?due=due_soon``), the escalation stamps
  ``escalated_at`` (the county's queue: ``GET /?due=escalated``). There is no notification system yet.
- ``GET /report`` (JSON), ``/report.svg`` and ``/report.xlsx`` — on-time rates per township for
  objections filed ``from``–``to``.
"""
