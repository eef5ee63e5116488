"""Computing standing for any set of households from the ledger, as of a date.

The database does the heavy part in one pass (in-force points per subject, direct grades,
family-charge points, serious-dishonesty flags); ``points_rules`` does every decision. The same
rules serve the incremental job (one household), the household view and period close (as of the
period's end) — ``compute_households``, every rating with its explanation and detail — and the full
recompute (a township or the county), which streams: one read of the ledger per county in household
order, each chunk rated by the same rules prepared once (``StandingRule``, ``HouseholdRule``) and
handed on as standing records (``compute_households(…, into=…)``, ``HouseholdStream``).

Members are taken in membership order (``m.id``) in both paths, so a household's explanation lists
them the same way whichever path computed it (it used to follow the plan's join order).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from piccolo.engine import engine_finder

from backend.db import fetch, transaction_connection
from backend.ledger.catalogue import catalogues
from backend.objections.disputed import OPEN_OBJECTIONS_SQL, disputed_note_zh, not_disputed_sql
from points_rules import CatalogueSet, Standing
from points_rules.engine import StandingRule
from points_rules.ratings import (
    HouseholdRating,
    household_rule,
    MemberInput,
    TownshipRating,
    VillageRating,
    rate_household,
    rate_township,
    rate_village,
)
from backend.village_rules import totals as village_totals
from points_rules.totals import standing_from_totals


@dataclass
class Place:
    village_id: int
    township_id: int
    grid_id: int


@dataclass
class Computed:
    as_of: date
    persons: dict[int, Standing] = field(default_factory=dict)
    person_household: dict[int, int] = field(default_factory=dict)
    person_serious: dict[int, bool] = field(default_factory=dict)
    households: dict[int, HouseholdRating] = field(default_factory=dict)
    places: dict[int, Place] = field(default_factory=dict)
    villages: dict[int, VillageRating] = field(default_factory=dict)
    townships: dict[int, TownshipRating] = field(default_factory=dict)
    township_county: dict[int, int] = field(default_factory=dict)  # whose catalogue rates a place
    streams: list["HouseholdStream"] = field(default_factory=list)  # a streamed computation's counts (``into``)

    def merge(self, other: "Computed") -> None:
        for name in ("persons", "person_household", "person_serious", "households", "places"):
            getattr(self, name).update(getattr(other, name))


async def township_counties() -> dict[int, int]:
    """Township id → county id: a place is rated by its county's catalogue."""
    return {r["id"]: r["county"] for r in await fetch("SELECT id, county FROM township")}


def _rules(as_of: date, county_id: int | None) -> tuple[list[str], list[str]]:
    """(family-charge item codes, serious-dishonesty item codes) of the county's version in force."""
    ratings = catalogues(county_id).version_on(as_of).rating_rules()
    return list(ratings.household.family_charge_items), list(ratings.village.serious_dishonesty_items)


_TOTALS_SQL = """
SELECT e.subject_kind, e.subject_id,
       sum(e.points)::bigint AS points,
       coalesce(sum(e.points) FILTER (WHERE e.item_code = ANY({})), 0)::bigint AS family_points,
       coalesce(bool_or(e.item_code = ANY({})), false) AS serious,
       array_remove(array_agg(CASE WHEN e.grade_override IS NOT NULL
                                   THEN e.grade_override || '@' || e.valid_until END), NULL) AS overrides
FROM ledger_entry e
WHERE e.valid_from <= {} AND e.valid_until > {} AND e.reverses_entry IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
  AND %s
  AND {}
GROUP BY e.subject_kind, e.subject_id
""" % not_disputed_sql("e")

# Entries in force but left out because an objection on them is open (art. 46): counted apart, to be
# explained. Driven from the (few) open objections, so a county-wide recompute does not probe every entry.
_DISPUTED_SQL = """
SELECT e.subject_kind, e.subject_id, count(DISTINCT e.id) AS n
FROM (%s) o
JOIN ledger_entry e ON (o.event_id IS NOT NULL AND e.event = o.event_id) OR (o.event_id IS NULL AND e.id = o.entry_id)
WHERE e.valid_from <= {} AND e.valid_until > {} AND e.reverses_entry IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
  AND {}
GROUP BY e.subject_kind, e.subject_id
""" % OPEN_OBJECTIONS_SQL

_MEMBERS_SQL = """
SELECT m.household, m.person, m.relation = '户主' AS is_head, p.birth_date,
       h.village, v.township, h.grid
FROM household_membership m
JOIN person p ON p.id = m.person
JOIN household h ON h.id = m.household
JOIN village v ON v.id = h.village
WHERE m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to >= {}) AND {}
ORDER BY m.household, m.id
"""

_EMPTY_HOUSEHOLDS_SQL = """
SELECT h.id AS household, h.village, v.township, h.grid FROM household h JOIN village v ON v.id = h.village
WHERE {} AND NOT EXISTS (SELECT 1 FROM household_membership m WHERE m.household = h.id
                         AND m.valid_from <= {} AND (m.valid_to IS NULL OR m.valid_to >= {}))
"""


def _scope_sql(alias_household: str, township_id: int | None, household_ids: list[int] | None) -> tuple[str, list]:
    if household_ids is not None:
        return f"{alias_household} = ANY({{}})", [household_ids]
    if township_id is not None:
        return f"{alias_household} IN (SELECT h2.id FROM household h2 JOIN village v2 ON v2.id = h2.village " \
               f"WHERE v2.township = {{}})", [township_id]
    return "true", []


async def compute_households(as_of: date, *, township_id: int | None = None,
                             household_ids: list[int] | None = None, into=None) -> Computed:
    """Person standings and household ratings for the selected households, as of ``as_of`` — each
    county's households by that county's catalogue.

    ``into`` (a full recompute's sink: ``add(person_records, household_records)`` and
    ``merge_soon()``, with its ``computed_at``): the township's or the whole database's households
    are streamed instead (``stream_households``) — the ratings go to ``into`` chunk by chunk as
    standing records, and the result holds only what was counted (``Computed.streams``)."""
    if into is not None:
        return await stream_households(as_of, township_id, into)
    counties = await township_counties()
    member_where, member_args = _scope_sql("m.household", township_id, household_ids)
    members = await fetch(_MEMBERS_SQL.format("{}", "{}", member_where), as_of, as_of, *member_args)
    hh_where, hh_args = _scope_sql("h.id", township_id, household_ids)
    empty = await fetch(_EMPTY_HOUSEHOLDS_SQL.format(hh_where, "{}", "{}"), *hh_args, as_of, as_of)
    by_county: dict[int, tuple[list[dict], list[dict]]] = defaultdict(lambda: ([], []))
    for m in members:
        by_county[counties[m["township"]]][0].append(m)
    for h in empty:
        by_county[counties[h["township"]]][1].append(h)
    result = Computed(as_of=as_of, township_county=counties)
    whole = township_id is None and household_ids is None and len(by_county) == 1
    for county_id, (county_members, county_empty) in sorted(by_county.items()):
        family_items, serious_items = _rules(as_of, county_id)
        if whole:
            subject_where, subject_args = "true", []  # the whole (only) county: no need to list subjects
        else:
            subject_where = "((e.subject_kind = 'person' AND e.subject_id = ANY({})) OR " \
                            "(e.subject_kind = 'household' AND e.subject_id = ANY({})))"
            subject_args = [sorted({m["person"] for m in county_members}),
                            sorted({m["household"] for m in county_members})]
        totals = await fetch(_TOTALS_SQL.format("{}", "{}", "{}", "{}", subject_where),
                             family_items, serious_items, as_of, as_of, *subject_args)
        disputed = await fetch(_DISPUTED_SQL.format("{}", "{}", subject_where), as_of, as_of, *subject_args)
        village = await village_totals.in_force_totals(county_id, as_of, subject_where, subject_args)
        result.merge(note_disputed(combine(as_of, county_members, county_empty, totals, county_id, village), disputed))
    return result


def note_disputed(result: Computed, disputed: list[dict]) -> Computed:
    """Households some of whose entries (members' or its own) are left out as disputed say so in
    their explanation, with the count (``explanation["disputed_entries"]``)."""
    per_subject = {(r["subject_kind"], r["subject_id"]): r["n"] for r in disputed}
    if not per_subject:
        return result
    counts: dict[int, int] = defaultdict(int)
    for person_id, household_id in result.person_household.items():
        counts[household_id] += per_subject.get(("person", person_id), 0)
    for household_id in result.households:
        counts[household_id] += per_subject.get(("household", household_id), 0)
    for household_id, n in counts.items():
        if n and household_id in result.households:
            r = result.households[household_id]
            result.households[household_id] = replace(
                r, explanation_zh=f"{r.explanation_zh}{disputed_note_zh(n)}",
                explanation={**r.explanation, "disputed_entries": n})
    return result


def _overrides(raw: list[str] | None) -> list[tuple[str, date]]:
    out = []
    for item in raw or []:
        grade, _, until = item.partition("@")
        out.append((grade, date.fromisoformat(until)))
    return out


def combine(as_of: date, members: list[dict], empty_households: list[dict], totals: list[dict],
            county_id: int | None = None, village: dict[tuple[str, int], int] | None = None) -> Computed:
    """Pure part: rows of one county in, ratings out (kept separate so it can be timed and tested on its own).
    ``village``: village points in force per subject (``backend.village_rules.totals``), counted as the
    county's catalogue says."""
    village = village or {}
    cats = catalogues(county_id)
    by_subject = {(t["subject_kind"], t["subject_id"]): t for t in totals}
    result = Computed(as_of=as_of)
    grouped: dict[int, list[MemberInput]] = defaultdict(list)
    for m in members:
        t = by_subject.get(("person", m["person"]))
        points = t["points"] if t else 0
        person_standing = standing_from_totals(cats, as_of, points, _overrides(t["overrides"]) if t else (),
                                               village.get(("person", m["person"]), 0))
        serious = bool(t and t["serious"])
        result.persons[m["person"]] = person_standing
        result.person_household[m["person"]] = m["household"]
        result.person_serious[m["person"]] = serious
        result.places[m["household"]] = Place(m["village"], m["township"], m["grid"])
        grouped[m["household"]].append(MemberInput(
            person_id=m["person"], birth_date=m["birth_date"], is_head=m["is_head"], standing=person_standing,
            family_charge=t["family_points"] if t else 0, serious_dishonesty=serious,
        ))
    for h in empty_households:
        result.places[h["household"]] = Place(h["village"], h["township"], h["grid"])
        grouped.setdefault(h["household"], [])
    for household_id, member_inputs in grouped.items():
        own = by_subject.get(("household", household_id))
        result.households[household_id] = rate_household(
            cats, household_id, member_inputs, own["points"] if own else 0, as_of,
            village.get(("household", household_id), 0))
    return result


def roll_up(computed: Computed, village_townships: dict[int, int]) -> None:
    """Village and township ratings (pure) from the computed households of the given villages;
    a village without households is rated too (and is not a credit village). Each place by its
    county's catalogue (``computed.township_county``)."""
    def cats(township_id: int):
        return catalogues(computed.township_county.get(township_id))

    by_village: dict[int, list[HouseholdRating]] = {village_id: [] for village_id in village_townships}
    for household_id, rating in computed.households.items():
        village_id = computed.places[household_id].village_id
        if village_id in by_village:
            by_village[village_id].append(rating)
    for village_id, ratings in by_village.items():
        computed.villages[village_id] = rate_village(cats(village_townships[village_id]), village_id, ratings,
                                                     computed.as_of)
    by_township: dict[int, list[VillageRating]] = defaultdict(list)
    for village_id, rating in computed.villages.items():
        by_township[village_townships[village_id]].append(rating)
    for township_id, ratings in by_township.items():
        computed.townships[township_id] = rate_township(cats(township_id), township_id, ratings, computed.as_of)


async def village_townships(township_id: int | None = None) -> dict[int, int]:
    where, args = ("township = {}", [township_id]) if township_id is not None else ("true", [])
    return {r["id"]: r["township"] for r in await fetch(f"SELECT id, township FROM village WHERE {where}", *args)}


# --- the county-wide stream -------------------------------------------------------------------------------
#
# A full recompute reads the ledger once, in one statement whose rows come out one member per row,
# ordered by household (then membership, as ``_MEMBERS_SQL``): the database sums the entries in
# force per subject, joins them to the members and to the household's own totals and stored
# standing, and sorts; Python reads the rows in chunks through a cursor and rates each household
# as soon as its last member has arrived (``HouseholdStream``), so memory stays that of a chunk,
# whatever the size of the county. The same conditions as ``_TOTALS_SQL`` / ``_DISPUTED_SQL``
# (in force, not reversed, not disputed), and the same rules (``points_rules``, prepared once per
# version: ``StandingRule``, ``HouseholdRule``).

_LIVE = """e.valid_from <= {as_of} AND e.valid_until > {as_of} AND e.reverses_entry IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)"""

# In-force points per subject: a table of the transaction's own, made by a statement of its own so the
# database may run it in parallel (a query read through a cursor never is).
_TOTALS_TABLE_SQL = """
CREATE TEMP TABLE _recompute_totals ON COMMIT DROP AS
WITH scope_h AS MATERIALIZED (
  SELECT h.id FROM household h JOIN village v ON v.id = h.village WHERE {household_scope}
), members AS MATERIALIZED (
  SELECT m.household, m.person FROM household_membership m
  WHERE {member_scope} AND m.valid_from <= {as_of} AND (m.valid_to IS NULL OR m.valid_to >= {as_of})
)
SELECT e.subject_kind, e.subject_id, sum(e.points)::bigint AS points,
       coalesce(sum(e.points) FILTER (WHERE e.item_code = ANY({family})), 0)::bigint AS family,
       coalesce(bool_or(e.item_code = ANY({serious})), false) AS serious,
       bool_or(e.grade_override IS NOT NULL) AS overridden
FROM ledger_entry e
WHERE %(live)s AND %(not_disputed)s AND {subject_scope}
GROUP BY e.subject_kind, e.subject_id
""" % {"live": _LIVE, "not_disputed": not_disputed_sql("e")}

_STREAM_SQL = """
WITH scope_h AS MATERIALIZED (
  SELECT h.id, h.village, v.township, h.grid FROM household h JOIN village v ON v.id = h.village
  WHERE {household_scope}
), members AS MATERIALIZED (
  SELECT m.id, m.household, m.person, m.relation = '户主' AS is_head, p.birth_date, m.valid_to IS NULL AS open
  FROM household_membership m JOIN person p ON p.id = m.person
  WHERE {member_scope}
    AND m.valid_from <= {as_of} AND (m.valid_to IS NULL OR m.valid_to >= {as_of})
), overrides AS (
  -- the direct grades of the (few) people who have one in force: by the subject index
  SELECT e.subject_id, array_agg(e.grade_override) AS grades, array_agg(e.valid_until) AS untils
  FROM _recompute_totals t JOIN ledger_entry e ON e.subject_kind = t.subject_kind AND e.subject_id = t.subject_id
  WHERE t.overridden AND t.subject_kind = 'person' AND e.grade_override IS NOT NULL
    AND %(live)s AND %(not_disputed)s
  GROUP BY e.subject_id
), disputed AS (
  SELECT e.subject_kind, e.subject_id, count(DISTINCT e.id) AS n
  FROM (%(open_objections)s) o
  JOIN ledger_entry e ON (o.event_id IS NOT NULL AND e.event = o.event_id) OR (o.event_id IS NULL AND e.id = o.entry_id)
  WHERE %(live)s AND {subject_scope}
  GROUP BY e.subject_kind, e.subject_id
), village_points AS (
  {village_points}
), moved AS (
  -- someone in two households on the day (only one membership is open: the other closes that day or
  -- later): their own row goes with the later household, as in ``combine``
  SELECT person, max(household) AS household FROM members
  WHERE person IN (SELECT person FROM members WHERE NOT open) GROUP BY person HAVING count(*) > 1
)
SELECT h.id, h.village, h.township, h.grid, s.score, s.grade,
       th.points, dh.n, vh.points,
       m.person, m.is_head, m.birth_date, tp.points, tp.family, tp.serious, ov.grades, ov.untils, dp.n, vp.points,
       mv.household
FROM scope_h h
LEFT JOIN members m ON m.household = h.id
LEFT JOIN _recompute_totals tp ON tp.subject_kind = 'person' AND tp.subject_id = m.person
LEFT JOIN overrides ov ON ov.subject_id = m.person
LEFT JOIN disputed dp ON dp.subject_kind = 'person' AND dp.subject_id = m.person
LEFT JOIN village_points vp ON vp.subject_kind = 'person' AND vp.subject_id = m.person
LEFT JOIN moved mv ON mv.person = m.person
LEFT JOIN _recompute_totals th ON th.subject_kind = 'household' AND th.subject_id = h.id
LEFT JOIN disputed dh ON dh.subject_kind = 'household' AND dh.subject_id = h.id
LEFT JOIN village_points vh ON vh.subject_kind = 'household' AND vh.subject_id = h.id
LEFT JOIN standing_household s ON s.household_id = h.id
ORDER BY h.id, m.id
""" % {"live": _LIVE, "not_disputed": not_disputed_sql("e"), "open_objections": OPEN_OBJECTIONS_SQL}

_NO_VILLAGE_POINTS = "SELECT NULL::varchar AS subject_kind, NULL::int AS subject_id, NULL::bigint AS points WHERE false"


def stream_query(county_id: int, as_of: date, *, township_id: int | None,
                 whole: bool) -> tuple[tuple[str, list], tuple[str, list]]:
    """SQL and arguments (asyncpg ``$n``) of the two statements of the stream for one county's households,
    or one township's: the totals table (``_recompute_totals``, dropped at commit), then the stream.
    ``whole``: the county is the only one in the database, so every entry is its own (no subject filter)."""
    family_items, serious_items = _rules(as_of, county_id)
    if township_id is not None:
        household_scope = "v.township = {township}"
    elif whole:
        household_scope = "true"
    else:
        household_scope = "v.township IN (SELECT id FROM township WHERE county = {county})"
    member_scope = "true" if household_scope == "true" else "m.household IN (SELECT id FROM scope_h)"
    subject_scope = "true" if whole else (
        "((e.subject_kind = 'person' AND e.subject_id IN (SELECT person FROM members)) OR "
        "(e.subject_kind = 'household' AND e.subject_id IN (SELECT id FROM scope_h)))")
    village_points = _NO_VILLAGE_POINTS
    if village_totals.counted_on(county_id, as_of):
        village_points = (village_totals._IN_FORCE_SQL.replace("{}", "{as_of}")
                          % f"e.county_id = {{county}} AND {subject_scope}")
    values = {"as_of": as_of, "family": family_items, "serious": serious_items, "county": county_id,
              "township": township_id}

    def bind(template: str) -> tuple[str, list]:
        sql = (template.replace("{village_points}", village_points).replace("{subject_scope}", subject_scope)
               .replace("{household_scope}", household_scope).replace("{member_scope}", member_scope))
        numbers: dict[str, str] = {}
        args: list = []

        def number(match: re.Match) -> str:
            name = match.group(1)
            if name not in numbers:
                args.append(values[name])
                numbers[name] = f"${len(args)}"
            return numbers[name]

        return re.sub(r"\{(\w+)\}", number, sql), args

    return bind(_TOTALS_TABLE_SQL), bind(_STREAM_SQL)


class HouseholdStream:
    """Rates the stream's rows (pure: rows in, standing records out), household by household, for one
    county: the standing of each member (``StandingRule``), the household's rating and explanation
    (``HouseholdRule``, the disputed note as ``note_disputed``), and what the drift report and the
    village roll-up need — counted as it goes, so nothing is kept but the household being read.

    Records are the rows ``backend.ratings.recompute`` stores (``PERSON_COLUMNS``, ``HOUSEHOLD_COLUMNS``)."""

    def __init__(self, catalogues_: CatalogueSet, as_of: date, computed_at, county_id: int) -> None:
        version = catalogues_.version_on(as_of)
        self.county_id = county_id   # leads every record (the standing tables are distributed by it)
        self.person_rule = StandingRule(version)
        self.household_rule = household_rule(version, as_of)
        self.version_id, self.as_of, self.computed_at = version.version, as_of, computed_at
        self.persons = self.households = self.missing = 0
        self.drifted: list[int] = []
        self.villages: dict[int, list] = {}   # village → [households, credit, serious, {grade: households}]
        self._pending: list = []

    def feed(self, rows: list) -> tuple[list[tuple], list[tuple]]:
        """Person and household records of the households complete in ``rows`` (the stream's rows, in
        order); the last household waits for the next rows, which may hold more of its members."""
        persons: list[tuple] = []
        households: list[tuple] = []
        if not rows:
            return persons, households
        group = self._pending
        current = group[0][0] if group else rows[0][0]
        for row in rows:
            if row[0] != current:
                self._rate(group, persons, households)
                group, current = [], row[0]
            group.append(row)
        self._pending = group
        return persons, households

    def finish(self) -> tuple[list[tuple], list[tuple]]:
        persons: list[tuple] = []
        households: list[tuple] = []
        if self._pending:
            self._rate(self._pending, persons, households)
            self._pending = []
        return persons, households

    def _rate(self, rows: list, persons: list[tuple], households: list[tuple]) -> None:
        first = rows[0]
        household_id = first[0]
        as_of, at, version_id, person_rule = self.as_of, self.computed_at, self.version_id, self.person_rule
        members = []
        disputed = first[7] or 0
        if first[9] is not None:
            for r in rows:
                overrides = list(zip(r[15], r[16])) if r[15] else ()
                score, grade, worst, until = person_rule(r[12] or 0, overrides, r[18] or 0)
                serious = r[14] is True
                members.append((r[9], r[11], r[10], score, grade, worst, until, r[13] or 0, serious))
                if r[19] is None or r[19] == household_id:
                    persons.append((self.county_id, r[9], household_id, score, grade, worst, serious, version_id, as_of, at))
                    if r[17]:
                        disputed += r[17]
                    self.persons += 1
        rule = self.household_rule
        rule.check(household_id, members)
        score, grade, is_credit, serious, text = rule.rate(members, first[6] or 0, first[8] or 0)
        if disputed:
            text += disputed_note_zh(disputed)
        households.append((self.county_id, household_id, first[1], first[2], first[3], score, grade, is_credit, serious, version_id,
                           as_of, text, at))
        self.households += 1
        if first[4] is None:
            self.missing += 1
        elif first[4] != score or first[5] != grade:
            self.drifted.append(household_id)
        village = self.villages.get(first[1])
        if village is None:
            village = self.villages[first[1]] = [0, 0, 0, {}]
        village[0] += 1
        village[1] += is_credit
        village[2] += serious
        grades = village[3]
        grades[grade] = grades.get(grade, 0) + 1


STREAM_CHUNK = 20_000  # member rows per fetch: what a streamed computation holds in memory at a time

# The stream is one statement over the whole ledger: planned for all its rows (not the first ones, as a
# cursor is by default), without JIT (compiling its many expressions costs more than it saves), and
# with room to hash and sort in memory. The totals (``_recompute_totals``) are summed in parallel: the
# partial sums per worker pass ~1.6M rows up through Gather, which at the default parallel_tuple_cost the
# planner wrongly prices above summing in one process. Local to the reading transaction.
STREAM_SETTINGS = {"cursor_tuple_fraction": "1", "jit": "off", "work_mem": "64MB", "parallel_tuple_cost": "0.001"}


async def stream_households(as_of: date, township_id: int | None, into) -> Computed:
    """Rate every household of the township (or of the database), county by county, reading each
    county's ledger once through a cursor (``stream_query``) in one transaction; each chunk's standing
    records go to ``into`` while the database merges the previous chunk."""
    counties = await township_counties()
    if township_id is not None:
        in_scope = [counties[township_id]] if township_id in counties else []
    else:
        in_scope = sorted(set(counties.values()))
    result = Computed(as_of=as_of, township_county=counties)
    async with engine_finder().transaction():
        conn = transaction_connection()
        before = {name: await conn.fetchval("SELECT current_setting($1)", name) for name in STREAM_SETTINGS}
        for name, value in STREAM_SETTINGS.items():
            await conn.execute("SELECT set_config($1, $2, true)", name, value)
        for county_id in in_scope:
            stream = HouseholdStream(catalogues(county_id), as_of, into.computed_at, county_id)
            (totals_sql, totals_args), (sql, args) = stream_query(
                county_id, as_of, township_id=township_id, whole=township_id is None and len(in_scope) == 1)
            await conn.execute(totals_sql, *totals_args)
            await conn.execute("ANALYZE _recompute_totals")
            await conn.execute(f"DECLARE _recompute_stream NO SCROLL CURSOR FOR {sql}", *args)
            while True:
                rows = await conn.fetch(f"FETCH {STREAM_CHUNK} FROM _recompute_stream")
                merging = await into.merge_soon()  # the previous chunk: merged while this one is rated
                records = stream.feed(rows) if rows else stream.finish()
                await merging
                await into.add(*records)
                if not rows:
                    break
            await conn.execute("CLOSE _recompute_stream")
            await conn.execute("DROP TABLE _recompute_totals")
            result.streams.append(stream)
        await (await into.merge_soon())
        for name, value in before.items():  # an enclosing transaction goes on as it was
            await conn.execute("SELECT set_config($1, $2, true)", name, value)
    return result
