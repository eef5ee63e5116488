"""红榜 — the public honour roll of a county (art. 47), built fresh for every request.

What it lists, and on what authority:

* **信用乡镇 / 信用村** — townships and villages whose *latest effective official* rating (a
  ``rating_proposal`` in status ``effective``, newest period first — never a live standing, never
  one in publicity or under objection) says credit township / credit village. Structure, not
  people: public without consent.
* **Persons and households** — only under an ``honour_roll`` consent that is active *at the
  instant of the request* (decided as ``consent.services.active_consent`` decides, for all
  candidates at once; a household by its head's consent), given to an active honour-roll
  recipient of the county (every honour-roll recipient registered in a county speaks for that
  county's one roll). A withdrawal, an expiry or a newer
  notice version takes them off the very next response: nothing is cached (the answer carries
  ``Cache-Control: no-store`` like every non-catalogue answer, and the server keeps no copy).
  What the consent's data scope allows: ``grade`` (and ``grade_score``) — a household's 信用户
  status (its latest effective official household rating, when it is a credit household);
  ``grade_score_entries`` — also the subject's positive information in force
  (``points_rules.honour``: honours, volunteering, charity). Scores are never published.
* **Names** — a person's full name, and a household as 户主姓名 + 家: a 红榜 names people, and
  these people consented to exactly that. Their village and township are shown; never an ID
  number, a phone, an address, a platform id, a score or anything negative.

Multi-county: the roll is per county (``?county=`` code); without it, the only county, or a 422
``HONOUR_COUNTY_REQUIRED`` listing the county codes when there are several.

Publication is logged: the first time a subject appears in an answer under a given grant, a
``security_event`` row ``honour_published`` records grant, subject and what was shown. Reading
the public roll is not a read of personal data by an actor (there is no actor), so it writes no
access-log rows; publication itself is the event worth keeping (the consent's own grant and
withdrawal rows already say when it started and ended).
"""

from __future__ import annotations

import json
from datetime import datetime

from piccolo.engine import engine_finder

from backend import clock
from backend.audit.tables import SecurityEvent
from backend.consent import services as consent_services
from backend.db import fetch
from backend.errors import InvalidInput, NotFound
from backend.honour.schemas import (
    CreditHouseholdOut,
    HonouredOut,
    HonourLineOut,
    HonourRollOut,
    PlaceOut,
    RatedPlaceOut,
)
from backend.ledger.catalogue import catalogues
from backend.ledger.services import COUNTED_STATUSES
from backend.objections.disputed import not_disputed_sql
from backend.ratings.tables import EFFECTIVE, HOUSEHOLD, TOWNSHIP, VILLAGE
from backend.registry.tables import HEAD
from points_rules import consent as consent_rules
from points_rules import honour as rules
from points_rules.consent import DataScope, Purpose, RecipientKind

PUBLISHED = "honour_published"  # security_event.kind
PERSON, HOUSEHOLD_SUBJECT = "person", "household"

COUNTY_REQUIRED = InvalidInput("请指定区县（?county=区县代码）", "Name the county (?county=<code>)",
                               code="HONOUR_COUNTY_REQUIRED")
COUNTY_UNKNOWN = NotFound("区县不存在", "No such county", code="HONOUR_COUNTY_UNKNOWN")
PLACE_UNKNOWN = NotFound("本区县没有该乡镇或村", "No such township or village in this county",
                         code="HONOUR_PLACE_UNKNOWN")



# --- the county and its places ------------------------------------------------------------------


async def counties() -> list[dict]:
    return await fetch("SELECT id, code, name FROM county ORDER BY code")


async def resolve_county(code: str | None) -> dict:
    """The county a roll is for: by code, or the only one."""
    if code is not None:
        rows = await fetch("SELECT id, code, name FROM county WHERE code = {}", code)
        if not rows:
            raise COUNTY_UNKNOWN.fresh()
        return rows[0]
    rows = await counties()
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise COUNTY_UNKNOWN.fresh()
    raise COUNTY_REQUIRED.fresh(counties=[{"code": r["code"], "name": r["name"]} for r in rows])


async def places(county_id: int) -> tuple[list[dict], list[dict]]:
    """(townships, villages) of a county, by code."""
    townships = await fetch("SELECT id, code, name FROM township WHERE county = {} ORDER BY code", county_id)
    villages = await fetch("""SELECT v.id, v.code, v.name, v.township FROM village v
                              JOIN township t ON t.id = v.township WHERE t.county = {} ORDER BY v.code""", county_id)
    return townships, villages


def _filters(townships: list[dict], villages: list[dict], township_code: str | None,
             village_code: str | None) -> tuple[set[int], set[int]]:
    """(township ids, village ids) the filters allow."""
    township_ids = {t["id"] for t in townships}
    if township_code is not None:
        found = [t["id"] for t in townships if t["code"] == township_code]
        if not found:
            raise PLACE_UNKNOWN.fresh()
        township_ids = set(found)
    village_ids = {v["id"] for v in villages if v["township"] in township_ids}
    if village_code is not None:
        found = [v["id"] for v in villages if v["code"] == village_code and v["township"] in township_ids]
        if not found:
            raise PLACE_UNKNOWN.fresh()
        village_ids = set(found)
        township_ids = {v["township"] for v in villages if v["id"] in village_ids}
    return township_ids, village_ids


# --- official ratings -------------------------------------------------------------------------------


async def _latest_effective(level: str, county_id: int, subject_ids: list[int]) -> dict[int, dict]:
    """Each subject's latest effective official rating (newest period first), as
    ``ratings.periods.official_ratings`` orders them — in one query for many subjects."""
    if not subject_ids:
        return {}
    rows = await fetch(
        """SELECT DISTINCT ON (p.subject_id) p.subject_id, p.grade, p.is_credit, p.effective_on,
                  pe.code AS period_code, pe.name_zh AS period_name_zh
           FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
           WHERE p.level = {} AND p.status = {} AND pe.county = {} AND p.subject_id = ANY({})
           ORDER BY p.subject_id, pe.ends_on DESC, p.id DESC""",
        level, EFFECTIVE, county_id, subject_ids)
    return {r["subject_id"]: r for r in rows}


# --- who consented ----------------------------------------------------------------------------------


async def _consenting(county_id: int, now: datetime) -> dict[tuple[str, int], dict]:
    """Subjects under an active honour-roll consent now: {(kind, id): {"entries": bool, "grants": [ids]}}.

    The decision is the consent module's own — its mapping of a stored grant (``grant_of``: counts
    from ``recorded_at``, through the end of ``expires_on``), its notice versions (a newer one
    ends older consents) and the pure ``points_rules.consent.active_grant`` — exactly what
    ``consent.services.active_consent`` runs for one subject, here for all candidates of the
    county in three queries (an unauthenticated page must not cost a few queries per consenting
    villager). Withdrawn grants are left out by the same statement that reads the grants."""
    rows = await fetch(
        """SELECT e.* FROM consent_event e JOIN consent_recipient r ON r.id = e.recipient
           WHERE e.action = 'grant' AND e.purpose = {} AND e.county_id = {} AND r.kind = {} AND r.county = {}
             AND r.active AND (e.expires_on IS NULL OR e.expires_on >= {})
             AND NOT EXISTS (SELECT 1 FROM consent_event w WHERE w.withdraws = e.id)""",
        Purpose.HONOUR_ROLL.value, county_id, RecipientKind.HONOUR_ROLL.value, county_id, clock.local_date(now))
    if not rows:
        return {}
    pair = (RecipientKind.HONOUR_ROLL.value, Purpose.HONOUR_ROLL.value)
    notices = (await consent_services.notices_for(county_id, {pair}))[pair]
    groups: dict[tuple[str, int, int], list[consent_rules.Grant]] = {}
    for r in rows:
        groups.setdefault((r["subject_kind"], r["subject_id"], r["recipient"]), []).append(
            consent_services.grant_of(r))
    out: dict[tuple[str, int], dict] = {}
    for (kind, subject_id, recipient), grants in sorted(groups.items()):
        found = out.setdefault((kind, subject_id), {"entries": False, "grants": []})
        for needed in (DataScope.GRADE_SCORE_ENTRIES, DataScope.GRADE):
            grant = consent_rules.active_grant(grants, notices, {}, subject_kind=kind, subject_id=subject_id,
                                               recipient_id=recipient, purpose=Purpose.HONOUR_ROLL, scope=needed,
                                               start=now)
            if grant is not None:
                found["grants"].append(grant.id)
                found["entries"] = found["entries"] or needed is DataScope.GRADE_SCORE_ENTRIES
                break
    return {s: f for s, f in out.items() if f["grants"]}


async def _persons(county_id: int, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = await fetch(
        """SELECT m.person AS id, p.name, v.id AS village_id, v.code AS village_code, v.name AS village_name,
                  t.id AS township_id, t.code AS township_code, t.name AS township_name
           FROM household_membership m JOIN person p ON p.id = m.person JOIN household h ON h.id = m.household
           JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
           WHERE m.valid_to IS NULL AND m.person = ANY({}) AND t.county = {}""", ids, county_id)
    return {r["id"]: r for r in rows}


async def _households(county_id: int, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = await fetch(
        """SELECT h.id, v.id AS village_id, v.code AS village_code, v.name AS village_name,
                  t.id AS township_id, t.code AS township_code, t.name AS township_name,
                  (SELECT p.name FROM household_membership m JOIN person p ON p.id = m.person
                   WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation = {} ORDER BY m.id LIMIT 1) AS name
           FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
           WHERE h.id = ANY({}) AND t.county = {}""", HEAD, ids, county_id)
    return {r["id"]: r for r in rows if r["name"]}


async def _entries(subjects: list[tuple[str, int]]) -> dict[tuple[str, int], list[rules.Entry]]:
    """The subjects' original entries that no reversal cancels, of events still counted and not
    under objection (all of them: ``points_rules.honour`` decides which may be shown). A disputed
    entry is off the roll until the objection is decided, as it is off ratings and bank answers."""
    persons = [i for k, i in subjects if k == PERSON]
    households = [i for k, i in subjects if k == HOUSEHOLD_SUBJECT]
    if not persons and not households:
        return {}
    rows = await fetch(
        """SELECT e.id, e.subject_kind, e.subject_id, e.item_code, e.catalogue_version, e.points, e.valid_from,
                  e.valid_until, e.quantity, ev.level, ev.occurred_on
           FROM ledger_entry e JOIN credit_event ev ON ev.id = e.event
           WHERE ((e.subject_kind = 'person' AND e.subject_id = ANY({}))
                  OR (e.subject_kind = 'household' AND e.subject_id = ANY({})))
             AND e.reverses_entry IS NULL AND ev.status = ANY({})
             AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
             AND """ + not_disputed_sql("e"),
        persons, households, list(COUNTED_STATUSES))
    out: dict[tuple[str, int], list[rules.Entry]] = {}
    for r in rows:
        out.setdefault((r["subject_kind"], r["subject_id"]), []).append(rules.Entry(
            entry_id=r["id"], item_code=r["item_code"], catalogue_version=r["catalogue_version"], points=r["points"],
            valid_from=r["valid_from"], valid_until=r["valid_until"], occurred_on=r["occurred_on"], level=r["level"],
            quantity=r["quantity"]))
    return out


# --- publication log ----------------------------------------------------------------------------------

_LOGGED: set[int] = set()  # grants whose publication this process knows is logged (not roll content)


async def _log_publication(published: list[tuple[HonouredOut, tuple[str, int], list[int]]], now: datetime) -> None:
    """One ``honour_published`` security event per grant, the first time its subject appears."""
    todo = [(out, subject, g) for out, subject, grants in published for g in grants if g not in _LOGGED]
    if not todo:
        return
    grant_ids = sorted({g for _, _, g in todo})
    since = (await fetch("SELECT min(recorded_at) AS t FROM consent_event WHERE id = ANY({})", grant_ids))[0]["t"]
    logged = {json.loads(r["detail"]).get("grant") for r in await fetch(
        "SELECT detail FROM security_event WHERE kind = {} AND at >= {}", PUBLISHED, since)}
    for out, (kind, subject_id), grant_id in todo:
        if grant_id in logged:
            _LOGGED.add(grant_id)
            continue
        detail = json.dumps({"grant": grant_id, "subject_kind": kind, "subject_id": subject_id,
                             "credit_household": out.credit_household is not None,
                             "honours": [h.item_code for h in out.honours]}, ensure_ascii=False)
        async with engine_finder().transaction():
            await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"honour:published:{grant_id}")
            again = await fetch("SELECT 1 FROM security_event WHERE kind = {} AND at >= {} AND detail LIKE {}",
                                PUBLISHED, since, f'{{"grant": {grant_id}, %')
            if not again:
                await SecurityEvent.insert(SecurityEvent(kind=PUBLISHED, principal="public:honour-roll",
                                                         detail=detail, at=now))
        logged.add(grant_id)
        _LOGGED.add(grant_id)


# --- the roll -----------------------------------------------------------------------------------------


def _rated(rows: list[dict], ratings: dict[int, dict], township_names: dict[int, dict] | None) -> list[RatedPlaceOut]:
    out = []
    for place in rows:
        r = ratings.get(place["id"])
        if r is None or not r["is_credit"]:
            continue
        township = township_names[place["township"]] if township_names is not None else None
        out.append(RatedPlaceOut(code=place["code"], name=place["name"],
                                 township_code=township["code"] if township else None,
                                 township_name=township["name"] if township else None,
                                 period_code=r["period_code"], period_name_zh=r["period_name_zh"],
                                 effective_on=r["effective_on"]))
    return out


async def honour_roll(*, county_code: str | None, township_code: str | None, village_code: str | None,
                      limit: int, offset: int) -> HonourRollOut:
    """The roll as it stands at this instant (see the module docstring for what it holds)."""
    now = clock.now()
    today = clock.local_date(now)
    county = await resolve_county(county_code)
    townships, villages = await places(county["id"])
    township_ids, village_ids = _filters(townships, villages, township_code, village_code)
    by_township = {t["id"]: t for t in townships}

    shown_townships = [t for t in townships if t["id"] in township_ids] if village_code is None else []
    shown_villages = [v for v in villages if v["id"] in village_ids]
    credit_townships = _rated(shown_townships, await _latest_effective(TOWNSHIP, county["id"],
                                                                        [t["id"] for t in shown_townships]), None)
    credit_villages = _rated(shown_villages, await _latest_effective(VILLAGE, county["id"],
                                                                      [v["id"] for v in shown_villages]), by_township)

    consenting = await _consenting(county["id"], now)
    person_rows = await _persons(county["id"], [i for k, i in consenting if k == PERSON])
    household_rows = await _households(county["id"], [i for k, i in consenting if k == HOUSEHOLD_SUBJECT])
    located = {(PERSON, i): r for i, r in person_rows.items()} | {(HOUSEHOLD_SUBJECT, i): r
                                                                 for i, r in household_rows.items()}
    located = {s: r for s, r in located.items() if r["village_id"] in village_ids}
    ratings = await _latest_effective(HOUSEHOLD, county["id"], [i for k, i in located if k == HOUSEHOLD_SUBJECT])
    entries = await _entries([s for s in located if consenting[s]["entries"]])
    version = catalogues(county["id"])

    honoured: list[tuple[HonouredOut, tuple[str, int], list[int]]] = []
    for subject, place in located.items():
        kind, subject_id = subject
        credit = None
        rating = ratings.get(subject_id) if kind == HOUSEHOLD_SUBJECT else None
        if rating is not None and rating["is_credit"]:
            credit = CreditHouseholdOut(grade=rating["grade"], period_code=rating["period_code"],
                                        period_name_zh=rating["period_name_zh"], effective_on=rating["effective_on"])
        lines = rules.honour_lines(entries.get(subject, []), version, today) if consenting[subject]["entries"] else []
        if credit is None and not lines:
            continue  # consented, but nothing positive to show
        out = HonouredOut(
            kind=kind, name_zh=place["name"] + ("家" if kind == HOUSEHOLD_SUBJECT else ""),
            township=PlaceOut(code=place["township_code"], name=place["township_name"]),
            village=PlaceOut(code=place["village_code"], name=place["village_name"]),
            credit_household=credit,
            honours=[HonourLineOut(category=line.category, item_code=line.item_code, title_zh=line.title_zh,
                                   detail_zh=line.detail_zh, occurred_on=line.occurred_on) for line in lines])
        honoured.append((out, subject, consenting[subject]["grants"]))
    honoured.sort(key=lambda h: (h[0].township.code, h[0].village.code, h[0].kind != HOUSEHOLD_SUBJECT,
                                 h[0].name_zh, h[1][1]))
    page = honoured[offset:offset + limit]
    await _log_publication(page, now)
    return HonourRollOut(
        county=PlaceOut(code=county["code"], name=county["name"]), as_of=today, generated_at=now,
        township_filter=township_code, village_filter=village_code, credit_townships=credit_townships,
        credit_villages=credit_villages, honoured=[h[0] for h in page], total=len(honoured), limit=limit,
        offset=offset)
