"""异议 — objections to ledger entries and events (art. 46): disputed at once, decided within 7 working days."""
