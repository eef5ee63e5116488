"""What a villager (and those responsible for them) sees: score, grade, every entry explained —
as of a day (today in the county's zone unless the caller names one, past or future)."""

from __future__ import annotations

import json
from datetime import date

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.ledger.catalogue import catalogues, county_of, points_text
from backend.ledger.schemas import HouseholdPointsOut, PersonPointsOut, PointsEntryOut, StandingOut
from backend.village_rules import totals as village_totals
from backend.objections.disputed import disputed_note_zh, disputed_sql
from points_rules import EntryView, standing

POINTS_FIELDS = ("points", "grade", "ledger_entries")


async def _entries_of(kind: str, subject_ids: list[int]) -> dict[int, list[dict]]:
    """Every entry of these subjects in one query, by subject, each in (valid_from, id) order."""
    rows = await fetch(
        """SELECT e.*, ev.occurred_on, ev.evidence_ids, coalesce(ev.status = 'repaired', false) AS repaired,
                  EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id) AS reversed,
                  %s AS disputed
           FROM ledger_entry e LEFT JOIN credit_event ev ON ev.id = e.event
           WHERE e.subject_kind = {} AND e.subject_id = ANY({})
           ORDER BY e.subject_id, e.valid_from, e.id""" % disputed_sql("e"),
        kind, list(subject_ids),
    )
    by_subject: dict[int, list[dict]] = {subject_id: [] for subject_id in subject_ids}
    for r in rows:
        by_subject[r["subject_id"]].append(r)
    return by_subject


async def _entries(kind: str, subject_id: int) -> list[dict]:
    return (await _entries_of(kind, [subject_id]))[subject_id]


def entry_views(rows: list[dict]) -> list[EntryView]:
    """A reversed entry and its reversal cancel out: neither counts (so a reversed grade
    override stops applying too); a disputed entry (an open objection, art. 46) does not count
    until it is decided; everything else counts while valid."""
    return [
        EntryView(entry_id=r["id"], points=r["points"], valid_from=r["valid_from"], valid_until=r["valid_until"],
                  grade_override=r["grade_override"],
                  counts=not (r["reversed"] or r["reverses_entry"] is not None or r.get("disputed")))
        for r in rows
    ]


def standing_out(views: list[EntryView], as_of: date, *, disputed: int = 0,
                 county_id: int | None = None, village_total: int = 0) -> tuple[StandingOut, set[int]]:
    s = standing(catalogues(county_id), views, as_of, village_total)
    out = StandingOut(as_of=s.as_of, catalogue_version=s.catalogue_version, base=points_text(s.base, signed=False),
                      score=points_text(s.score, signed=False), grade=s.grade, grade_override=s.grade_override,
                      override_until=s.override_until, next_expiry=s.next_expiry,
                      next_expiry_points=points_text(s.next_expiry_points),
                      explanation_zh=s.explanation_zh + disputed_note_zh(disputed), disputed_entries=disputed)
    return out, set(s.in_force_entry_ids)


def _disputed_count(rows: list[dict], as_of: date) -> int:
    """Entries that would be in force on ``as_of`` but are left out as disputed."""
    return sum(1 for r in rows if r.get("disputed") and not r["reversed"] and r["reverses_entry"] is None
               and r["valid_from"] <= as_of < r["valid_until"])


def _points_entries(rows: list[dict], in_force: set[int], with_thumbnails: bool) -> list[PointsEntryOut]:
    out = []
    for r in rows:
        evidence = r["evidence_ids"] or []
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        out.append(PointsEntryOut(
            id=r["id"], item_code=r["item_code"], catalogue_version=r["catalogue_version"],
            points=points_text(r["points"]), valid_from=r["valid_from"], valid_until=r["valid_until"],
            grade_override=r["grade_override"], reverses_entry=r["reverses_entry"],
            explanation_zh=r["explanation_zh"], in_force=r["id"] in in_force, cancelled=r["reversed"],
            disputed=bool(r.get("disputed")), repaired=bool(r.get("repaired")), event_id=r["event"],
            occurred_on=r["occurred_on"] or r["valid_from"],
            evidence_thumbnails=[f"/api/v1/evidence/{e}/thumbnail" for e in evidence] if with_thumbnails else [],
        ))
    return out


async def _people_points(actor: Actor, person_ids: list[int], as_of: date,
                         county_id: int | None = None) -> list[PersonPointsOut]:
    """Each person's points, in the order given — three queries however many people (a household's
    members are read together, not one by one)."""
    if not person_ids:
        return []
    entries = await _entries_of(scope.PERSON, person_ids)
    village = await village_totals.in_force_totals(county_id, as_of, "e.subject_kind = {} AND e.subject_id = ANY({})",
                                                   [scope.PERSON, list(person_ids)])
    in_county, args = scope.in_county_sql(county_id)
    names = {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM person WHERE id = ANY({})" + in_county,
                                                     list(person_ids), *args)}
    out = []
    for person_id in person_ids:
        rows = entries[person_id]
        standing_, in_force = standing_out(entry_views(rows), as_of, disputed=_disputed_count(rows, as_of),
                                           county_id=county_id, village_total=village.get((scope.PERSON, person_id), 0))
        # Evidence photos: a villager sees only their own; staff in scope see all.
        thumbnails = actor.role is not Role.VILLAGER or actor.person_id == person_id
        out.append(PersonPointsOut(person_id=person_id, name=names[person_id], standing=standing_,
                                   entries=_points_entries(rows, in_force, thumbnails)))
    return out


async def _person_points(actor: Actor, person_id: int, as_of: date, county_id: int | None = None) -> PersonPointsOut:
    return (await _people_points(actor, [person_id], as_of, county_id))[0]


def _day(as_of: date | None, county_id: int | None = None) -> date:
    """The day to evaluate; checked against the catalogue *before* any read is authorised and logged,
    so a day no catalogue version covers is a 422 RULES_NO_CATALOGUE (for anyone, in scope or not)."""
    day = as_of or clock.today()
    catalogues(county_id).version_on(day)
    return day


async def person_points(actor: Actor, person_id: int, *, request_id: str = "", as_of: date | None = None) -> PersonPointsOut:
    where = await scope.locate(scope.PERSON, person_id, county_id=scope.shard_key(actor))
    county_id = where.county_id if where is not None else await county_of(scope.PERSON, person_id)
    day = _day(as_of, county_id)
    await scope.authorize_located(actor, where, fields=POINTS_FIELDS, purpose="points_view", request_id=request_id)
    return await _person_points(actor, person_id, day, county_id)


async def _members_on(actor: Actor, household_id: int, as_of: date, request_id: str) -> list[int]:
    """The household's members on ``as_of`` (the same rule the household rating uses), head first.
    Someone who has since left is shown only if they are still within the caller's jurisdiction, and
    that read is logged against them (the household's log row no longer covers them)."""
    rows = await fetch(
        """SELECT DISTINCT ON (m.person) m.person, m.relation = '户主' AS is_head,
                  EXISTS (SELECT 1 FROM household_membership c WHERE c.household = m.household
                          AND c.person = m.person AND c.valid_to IS NULL) AS current
           FROM household_membership m
           WHERE m.household = {} AND m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to >= {})
           ORDER BY m.person, m.valid_from DESC""",
        household_id, as_of, as_of,
    )
    members = []
    for r in sorted(rows, key=lambda r: (not r["is_head"], r["person"])):
        if not r["current"]:
            where = await scope.locate(scope.PERSON, r["person"], county_id=scope.shard_key(actor))
            if where is None or not scope.covers(actor, where):
                continue
            await scope.log_reads(actor, [where], fields=POINTS_FIELDS, purpose="points_view", request_id=request_id)
        members.append(r["person"])
    return members


async def household_points(actor: Actor, household_id: int, *, request_id: str = "",
                           as_of: date | None = None) -> HouseholdPointsOut:
    where = await scope.locate(scope.HOUSEHOLD, household_id, county_id=scope.shard_key(actor))
    county_id = where.county_id if where is not None else await county_of(scope.HOUSEHOLD, household_id)
    day = _day(as_of, county_id)
    await scope.authorize_located(actor, where, fields=POINTS_FIELDS, purpose="points_view",
                                  request_id=request_id)
    members = await _people_points(actor, await _members_on(actor, household_id, day, request_id), day, county_id)
    rows = await _entries(scope.HOUSEHOLD, household_id)
    village = await village_totals.subject_total(county_id, scope.HOUSEHOLD, household_id, day)
    own, in_force = standing_out(entry_views(rows), day, disputed=_disputed_count(rows, day), county_id=county_id,
                                 village_total=village)
    expiries = [d for d in [own.next_expiry, *(m.standing.next_expiry for m in members)] if d is not None]
    return HouseholdPointsOut(
        household_id=household_id,
        as_of=day,
        catalogue_version=own.catalogue_version,
        next_expiry=min(expiries) if expiries else None,
        members=members,
        household_entries=_points_entries(rows, in_force, actor.role is not Role.VILLAGER),
    )
