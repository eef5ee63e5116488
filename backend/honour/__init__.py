"""红榜 — the public honour roll: positive information, for persons only under consent (art. 47)."""
