"""Ledger — credit events from the field, their review, and the append-only, hash-chained entries."""
