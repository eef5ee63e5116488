"""半年报 — the county's semi-annual report on its credit data (complete, timely, correct)."""
