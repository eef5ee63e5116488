"""The one place that knows the jurisdiction tree and decides who may see whom.

Every read of personal data goes through :func:`authorize_read`, which locates the subject
(person → current household → grid → village → township → county), checks the actor covers
that location, and writes the access-log row. "Not yours" and "does not exist" both answer
``NotFound`` so a caller cannot probe for people outside their jurisdiction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from backend.audit import readers
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import NotFound

PERSON = "person"
HOUSEHOLD = "household"
ORGANISATION = "organisation"
VILLAGE = "village"
GRID = "grid"
TOWNSHIP = "township"


@dataclass(frozen=True)
class Location:
    """Where a subject sits in the tree (``None`` where a level does not apply)."""

    kind: str
    id: int
    county_id: int
    township_id: int
    village_id: int | None = None
    grid_id: int | None = None
    household_id: int | None = None
    person_id: int | None = None


_PERSON_SQL = """
SELECT p.id AS person_id, h.id AS household_id, h.grid AS grid_id, v.id AS village_id,
       t.id AS township_id, t.county AS county_id
FROM person p
JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
JOIN household h ON h.id = m.household
JOIN village v ON v.id = h.village
JOIN township t ON t.id = v.township
WHERE p.id = {}
"""
_HOUSEHOLD_SQL = """
SELECT h.id AS household_id, h.grid AS grid_id, v.id AS village_id, t.id AS township_id,
       t.county AS county_id
FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
WHERE h.id = {}
"""
_ORGANISATION_SQL = """
SELECT o.village AS village_id, t.id AS township_id, t.county AS county_id
FROM organisation o JOIN township t ON t.id = o.township WHERE o.id = {}
"""
_VILLAGE_SQL = """
SELECT v.id AS village_id, t.id AS township_id, t.county AS county_id
FROM village v JOIN township t ON t.id = v.township WHERE v.id = {}
"""
_GRID_SQL = """
SELECT g.id AS grid_id, v.id AS village_id, t.id AS township_id, t.county AS county_id
FROM grid g JOIN village v ON v.id = g.village JOIN township t ON t.id = v.township WHERE g.id = {}
"""
_TOWNSHIP_SQL = "SELECT t.id AS township_id, t.county AS county_id FROM township t WHERE t.id = {}"
_SQL = {
    PERSON: _PERSON_SQL,
    HOUSEHOLD: _HOUSEHOLD_SQL,
    ORGANISATION: _ORGANISATION_SQL,
    VILLAGE: _VILLAGE_SQL,
    GRID: _GRID_SQL,
    TOWNSHIP: _TOWNSHIP_SQL,
}


# The distributed tables (by county: docs/scale-out.md) each kind's statement reads, by alias.
_SHARDED_ALIASES = {PERSON: ("p", "m", "h"), HOUSEHOLD: ("h",), ORGANISATION: ("o",)}


def in_county_sql(county_id: int | None, *columns: str) -> tuple[str, list[int]]:
    """`` AND <column> = {}`` for each column (default ``county_id``), to append to a statement's
    WHERE, and its arguments; nothing when ``county_id`` is ``None`` (a caller placed nowhere)."""
    if county_id is None:
        return "", []
    columns = columns or ("county_id",)
    return "".join(f" AND {c} = {{}}" for c in columns), [county_id] * len(columns)


def _in_county(kind: str, sql: str, county_id: int | None) -> tuple[str, list[int]]:
    """``sql`` restricted to one county on every distributed table it reads (none: as it is)."""
    aliases = _SHARDED_ALIASES.get(kind, ())
    if not aliases:
        return sql, []
    condition, args = in_county_sql(county_id, *(f"{a}.county_id" for a in aliases))
    return sql.rstrip() + condition, args


def shard_key(actor: Actor) -> int | None:
    """The county to look a subject up in on the actor's behalf, or ``None`` (look everywhere)
    for an actor placed nowhere. Nobody's jurisdiction (``covers``) reaches past their home
    county, so a subject of another county is not found where it would not be covered."""
    return actor.home_county_id or actor.county_id


async def locate(kind: str, subject_id: int, *, county_id: int | None = None) -> Location | None:
    """Find where a subject sits now; ``None`` if it does not exist (or a person has no household)
    — or, ``county_id`` given, is not in that county (pass ``shard_key(actor)`` when acting for one)."""
    sql, county_args = _in_county(kind, _SQL[kind], county_id)
    rows = await fetch(sql, subject_id, *county_args)
    if not rows:
        return None
    row: dict[str, Any] = rows[0]
    return Location(kind=kind, id=subject_id, **row)


def covers(actor: Actor, where: Location) -> bool:
    """Pure jurisdiction rule: does this actor's scope contain this location?"""
    if actor.role is Role.COUNTY_ADMIN:
        return actor.county_id is not None and where.county_id == actor.county_id
    if actor.role is Role.TOWNSHIP_ADMIN:
        return actor.township_id is not None and where.township_id == actor.township_id
    if actor.role is Role.GRID_WORKER:
        return where.grid_id is not None and where.grid_id in actor.grid_ids
    if actor.role is Role.VILLAGER:
        if where.kind == PERSON and where.person_id == actor.person_id:
            return True
        return where.kind in (PERSON, HOUSEHOLD) and (
            actor.household_id is not None and where.household_id == actor.household_id
        )
    # Banks see ratings only through consent (banking slice); auditors read audit logs only.
    return False


def covers_structure(actor: Actor, where: Location) -> bool:
    """Structure (townships, villages, grids, organisations) is not personal data: auditors see the
    county; grid workers and villagers see the villages and townships they work or live in."""
    if actor.role is Role.AUDITOR:
        return actor.county_id is not None and where.county_id == actor.county_id
    if actor.role in (Role.GRID_WORKER, Role.VILLAGER):
        if where.kind == TOWNSHIP:
            return where.township_id in actor.township_ids
        if where.kind in (VILLAGE, GRID):
            return where.village_id in actor.village_ids
        if where.kind == ORGANISATION:
            return where.township_id in actor.township_ids
    return covers(actor, where)


async def authorize_read(
    actor: Actor,
    kind: str,
    subject_id: int,
    *,
    fields: Iterable[str],
    purpose: str,
    request_id: str = "",
) -> Location:
    """Check scope for one subject and write its access-log row; raise ``NotFound`` otherwise."""
    return await authorize_located(actor, await locate(kind, subject_id, county_id=shard_key(actor)), fields=fields,
                                   purpose=purpose, request_id=request_id)


async def authorize_located(actor: Actor, where: Location | None, *, fields: Iterable[str], purpose: str,
                            request_id: str = "") -> Location:
    """:func:`authorize_read` for a subject the caller has just located (``locate``; ``None`` when
    it does not exist), so a read that needed its place first does not look it up twice."""
    if where is None or not covers(actor, where):
        raise NotFound()
    await log_reads(actor, [where], fields=fields, purpose=purpose, request_id=request_id)
    return where


async def authorize_reads(actor: Actor, subjects: Iterable[tuple[str, int, Iterable[str]]], *, purpose: str,
                          request_id: str = "") -> list[Location]:
    """:func:`authorize_read` for several subjects ``(kind, id, fields)`` at once: all are checked
    before any access-log row is written, so a request refused for one subject leaves no record
    of a read it never made of the others."""
    subjects = [(kind, subject_id, list(fields)) for kind, subject_id, fields in subjects]
    places = [await authorize_write(actor, kind, subject_id) for kind, subject_id, _ in subjects]
    for where, (_, _, fields) in zip(places, subjects):
        await log_reads(actor, [where], fields=fields, purpose=purpose, request_id=request_id)
    return places


async def log_reads(
    actor: Actor, locations: Iterable[Location], *, fields: Iterable[str], purpose: str, request_id: str = ""
) -> None:
    """One access-log row per subject read, in one INSERT, with the reader's organisation in
    words as it is now (a snapshot: see ``backend.audit.readers``)."""
    locations = list(locations)
    if not locations:
        return
    fields_json = json.dumps(sorted(set(fields)), ensure_ascii=False)
    organisation = await readers.organisation_of(actor)
    # One plain INSERT whatever the number of subjects (the rows as arrays; no RETURNING, no ORM
    # round of building and reading back objects): it runs on every personal read.
    await fetch(
        """INSERT INTO access_log (at, actor_kind, actor_id, actor_role, actor_label, actor_org_zh, actor_person_id,
                                  fields, purpose, request_id,
                                  county_id, subject_kind, subject_id, person_id, household_id, township_id)
           SELECT {}::timestamptz, {}::text, {}::int, {}::text, {}::text, {}::text, {}::int, {}::jsonb, {}::text,
                  {}::text, l.*
           FROM unnest({}::int[], {}::text[], {}::int[], {}::int[], {}::int[], {}::int[]) AS l""",
        datetime.now(timezone.utc),  # as the table's default would set it
        actor.kind, actor.id, actor.role.value, actor.label, organisation,
        actor.person_id if actor.role is Role.VILLAGER else None,
        fields_json, purpose, request_id[:64],
        [w.county_id for w in locations], [w.kind for w in locations], [w.id for w in locations],
        [w.person_id for w in locations], [w.household_id for w in locations], [w.township_id for w in locations],
    )


def household_filter_sql(actor: Actor) -> tuple[str, list[Any]] | None:
    """SQL condition (on aliases ``h`` household, ``v`` village, ``t`` township) restricting a
    household listing to the actor's jurisdiction; ``None`` means the actor may list nothing."""
    if actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        return "t.county = {}", [actor.county_id]
    if actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        return "t.id = {}", [actor.township_id]
    if actor.role is Role.GRID_WORKER and actor.grid_ids:
        return "h.grid = ANY({})", [sorted(actor.grid_ids)]
    if actor.role is Role.VILLAGER and actor.household_id is not None:
        return "h.id = {}", [actor.household_id]
    return None


async def area_filter_sql(actor: Actor, *, county_column: str, township_column: str, township_id: int | None = None,
                          personal: bool = True) -> tuple[str, list[Any]] | None:
    """SQL condition restricting records placed by a county and a township column (an event's
    recording township, a household's village's township, a feed record's holding township) to an
    admin's area: a county admin's county — or one of its townships, ``township_id`` given — a
    township admin's own township. Auditors have the county for aggregates (``personal=False``),
    as for structure. ``None``: the actor may see no such records (grid workers, villagers, banks).
    A ``township_id`` outside the area is ``NotFound``, as any foreign place is."""
    if actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        if township_id is not None and township_id != actor.township_id:
            raise NotFound()
        county = shard_key(actor)
        if county is None:
            return None
        return f"{county_column} = {{}} AND {township_column} = {{}}", [county, actor.township_id]
    county_wide = actor.role is Role.COUNTY_ADMIN or (actor.role is Role.AUDITOR and not personal)
    if not county_wide or actor.county_id is None:
        return None
    if township_id is None:
        return f"{county_column} = {{}}", [actor.county_id]
    where = await locate(TOWNSHIP, township_id)
    if where is None or where.county_id != actor.county_id:
        raise NotFound()
    return f"{county_column} = {{}} AND {township_column} = {{}}", [actor.county_id, township_id]


def case_location(row: dict) -> Location:
    """Where a case row's subject sat when the case was made (``county_id``, ``township_id`` — the
    recording township — ``household_id``, ``person_id``, and ``village_id``/``grid_id`` where the row
    keeps them): what ``covers`` judges for objections, repair applications and commitments, whatever
    moves came since."""
    return Location(kind=row["subject_kind"], id=row["subject_id"], county_id=row["county_id"],
                    township_id=row["township_id"], village_id=row.get("village_id"), grid_id=row.get("grid_id"),
                    household_id=row["household_id"], person_id=row["person_id"])


def case_prefilter_sql(actor: Actor, alias: str, *, grid_worker_sql: str, grid_worker_args: list[Any]
                       ) -> tuple[str, list[Any]] | None:
    """A coarse SQL pre-filter for a slice's case rows (objections, repair applications, commitments)
    that carry ``county_id``, ``township_id``, ``household_id`` and ``person_id`` as recorded: the
    county, the township, the villager's own rows; a grid worker's rows are the slice's own rule
    (``grid_worker_sql``: e.g. the rows they filed). ``covers`` decides on each row; ``None``: nothing."""
    a = f"{alias}." if alias else ""
    if actor.role is Role.GRID_WORKER:
        return grid_worker_sql, grid_worker_args
    if actor.role is Role.VILLAGER:
        return f"({a}household_id = {{}} OR {a}person_id = {{}})", [actor.household_id or 0, actor.person_id or 0]
    if actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        return f"{a}county_id = {{}}", [actor.county_id]
    if actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        return f"{a}township_id = {{}}", [actor.township_id]
    return None


def county_of(actor: Actor) -> int:
    """The county every query on the actor's behalf filters by (the shard key: docs/scale-out.md).

    A county admin's, auditor's or bank's own county; a township admin's township's; a grid
    worker's grids'; a villager's household's. An actor with no county reaches no personal data:
    ``NotFound``, as for anything outside a jurisdiction."""
    county = shard_key(actor)
    if county is None:
        raise NotFound()
    return county


async def actor_county(actor: Actor) -> int | None:
    """The county an actor belongs to: an admin's or bank's own, else the county of the township the
    actor works or lives in (a township admin's, a grid worker's or a villager's); None if none."""
    if actor.home_county_id is not None:
        return actor.home_county_id
    if actor.county_id is not None:
        return actor.county_id
    township = actor.township_id or next(iter(sorted(actor.township_ids)), None)
    if township is None:
        return None
    rows = await fetch("SELECT county FROM township WHERE id = {}", township)
    return rows[0]["county"] if rows else None


async def covers_county(actor: Actor, county_id: int) -> bool:
    """County records (rating periods): the county's admins and the admins of its townships."""
    if actor.role is Role.COUNTY_ADMIN:
        return actor.county_id is not None and actor.county_id == county_id
    if actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        where = await locate(TOWNSHIP, actor.township_id)
        return where is not None and where.county_id == county_id
    return False


async def townships_of_county(county_id: int) -> list[int]:
    """The townships of a county (structure, not personal data): what a county-wide job may touch."""
    return [r["id"] for r in await fetch("SELECT id FROM township WHERE county = {} ORDER BY id", county_id)]


_KEY = {PERSON: "p.id", HOUSEHOLD: "h.id", ORGANISATION: "o.id"}


async def locate_many(kind: str, subject_ids: Iterable[int], *, county_id: int | None = None) -> dict[int, Location]:
    """:func:`locate` for many subjects of one kind in one query (persons, households, organisations);
    a subject that does not exist (in ``county_id``, if given) is absent from the answer."""
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    key = _KEY[kind]
    sql = _SQL[kind].replace("SELECT", f"SELECT {key} AS located_id,", 1).replace(f"WHERE {key} = {{}}",
                                                                                    f"WHERE {key} = ANY({{}})")
    sql, county_args = _in_county(kind, sql, county_id)
    out = {}
    for row in await fetch(sql, ids, *county_args):
        row = dict(row)
        located = row.pop("located_id")
        out[located] = Location(kind=kind, id=located, **row)
    return out


async def authorize_writes(actor: Actor, subjects: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Location | None]:
    """:func:`authorize_write` for many subjects at once: each (kind, id) → its location, or None where
    the write must be refused as not found (missing, or outside the actor's jurisdiction)."""
    wanted = set(subjects)
    out: dict[tuple[str, int], Location | None] = {}
    for kind in sorted({k for k, _ in wanted}):
        found = await locate_many(kind, [i for k, i in wanted if k == kind], county_id=shard_key(actor))
        for k, i in wanted:
            if k == kind:
                where = found.get(i)
                out[(k, i)] = where if where is not None and covers(actor, where) else None
    return out


async def authorize_write(actor: Actor, kind: str, subject_id: int) -> Location:
    """Scope check for recording something *about* a subject (no access-log row: nothing is read)."""
    where = await locate(kind, subject_id, county_id=shard_key(actor))
    if where is None or not covers(actor, where):
        raise NotFound()
    return where
