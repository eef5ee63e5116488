"""党建+网格 — party-organised activities (one event per attendee) and grid workers' patrol reports and work."""
