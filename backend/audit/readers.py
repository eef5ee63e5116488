"""Which organisation a reader acts for, in words, looked up when the access-log row is written.

Snapshot, not resolved later: the log is append-only history, and a grid worker moved to
another village, a township admin transferred, or a township renamed (区划调整) must not
rewrite who read a villager's data back then. The vocabulary (role, fields, purpose) is
translated at read time instead (:mod:`backend.audit.words`): those are fixed tokens, not facts.
"""

from __future__ import annotations

from backend.audit import words
from backend.auth.roles import Actor, Role
from backend.db import fetch

MAX_ORG_CHARS = 128  # the column's length


async def organisation_of(actor: Actor) -> str:
    """``梁家墩镇人民政府``, ``清凉寺村村民委员会``, ``甘州区发展和改革局（信用办）``, a bank's name;
    ``""`` when the actor has no place to name (the view then says what kind of body it was).
    Actors loaded for a request carry it already (read in the same statement as the caller, so
    no extra query on every logged read); others are looked up here."""
    if actor.organisation_zh is not None:
        return actor.organisation_zh
    return await _organisation(actor)


def organisation_from(role: Role, *, township: tuple[str, str] | None = None, county_name: str | None = None,
                      villages: list[tuple[str, str]] = (), bank_name: str | None = None) -> str:
    """The same words as ``organisation_of`` from facts already loaded: the township's (name, kind),
    the county's name, the villages' (name, kind) in id order (a grid worker's, or a villager's
    household's), the bank client's name."""
    if role is Role.TOWNSHIP_ADMIN:
        text = words.township_org(*township) if township else ""
    elif role in (Role.COUNTY_ADMIN, Role.AUDITOR):
        text = words.county_org(county_name) if county_name else ""
    elif role is Role.GRID_WORKER:
        text = "、".join(words.village_org(name, kind) for name, kind in villages)
    elif role is Role.VILLAGER:
        text = words.villager_org(villages[0][0]) if villages else ""
    elif role is Role.BANK:
        text = bank_name or ""
    else:
        text = ""
    return text[:MAX_ORG_CHARS]


async def _organisation(actor: Actor) -> str:
    """``organisation_from`` with its facts looked up (an actor not loaded for a request)."""
    role = actor.role
    if role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        rows = await fetch("SELECT name, kind FROM township WHERE id = {}", actor.township_id)
        return organisation_from(role, township=(rows[0]["name"], rows[0]["kind"]) if rows else None)
    if role in (Role.COUNTY_ADMIN, Role.AUDITOR) and actor.county_id is not None:
        rows = await fetch("SELECT name FROM county WHERE id = {}", actor.county_id)
        return organisation_from(role, county_name=rows[0]["name"] if rows else None)
    if role is Role.GRID_WORKER and actor.grid_ids:
        rows = await fetch(
            """SELECT DISTINCT v.id, v.name, v.kind FROM grid g JOIN village v ON v.id = g.village
               WHERE g.id = ANY({}) ORDER BY v.id""",
            sorted(actor.grid_ids),
        )
        return organisation_from(role, villages=[(r["name"], r["kind"]) for r in rows])
    if role is Role.VILLAGER and actor.household_id is not None:
        rows = await fetch("SELECT v.name, v.kind FROM household h JOIN village v ON v.id = h.village WHERE h.id = {}",
                           actor.household_id)
        return organisation_from(role, villages=[(r["name"], r["kind"]) for r in rows])
    if role is Role.BANK and actor.kind == "bank_client":
        rows = await fetch("SELECT name FROM bank_client WHERE id = {}", actor.id)
        return organisation_from(role, bank_name=rows[0]["name"] if rows else None)
    return ""
