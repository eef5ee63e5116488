"""村规民约积分 — county limits, a village's rule versions (maker-checker), village points and their views.

Who may do what (decisions, issue 12 item 4):

- **County limits** — a county admin saves a new version of the county's limits (``POST
  /api/v1/village-rule-limits``); the newest is in force for every village of the county. Any account of
  the county but a villager may read them (grid workers need them to explain an item).
- **Rule versions** — there is no village role in Cunxin: the township admin acts for the village
  committee (村民委员会), which adopts its 村规民约 at the village assembly; the admin enters the
  resolved rule set for a village of their township (``note``: e.g. the resolution's date). It is
  checked against the county's limits in force — every problem at once, 422 ``VILLAGE_RULES_INVALID``
  naming item, code and field — and gets the next version number of the village, the canonical JSON and
  its SHA-256. A *second* admin decides (maker-checker, like the ratings' second approver): another
  township admin of the same township or a county admin of the county; the proposer is refused (403
  ``VILLAGE_RULES_SELF_APPROVAL``, and the database refuses it too). Approval checks the set again
  against the limits in force *then* (a county may have tightened them meanwhile) and that its
  effective date has not passed (village rules are never retroactive). A decided version never changes
  (trigger); a change is a new version with a later effective date. Approved versions are public in
  the village (村规民约 are posted in the village): its grid workers and villagers read them.
- **Village points** — a grid worker (subject in their grids) or a township admin (their township)
  records an event of an item of the version in force on the event date of the subject's own
  village (a village item for a person of another village: 422 ``VILLAGE_ITEM_OTHER_VILLAGE``;
  another township or grid: 404 as for a missing subject). A deduction item (``needs_review``) is
  recorded by a township admin only: the township's recording is the review (a grid worker gets 403
  ``VILLAGE_ITEM_NEEDS_TOWNSHIP``). Idempotent by (recorder, idempotency key); the same key with
  another payload is 409. An optional photo is the recorder's own unused upload. A township admin of the
  entry's township or a county admin reverses an entry with a compensating row.
- **Views** — a person's, a household's and the villager's own village points as of a day, each entry
  explained "村规民约积分（<village>）：…", reads scoped and logged (``scope.authorize_read``).

Never the county's grade — unless the county's catalogue says so: nothing here writes ``ledger_entry``.
The county's catalogue version in force on a day decides whether village points count toward the
county score (``scoring.village_points: {counts_toward_grade: true, cap: N}``, at most ±N points per
subject; ``backend.village_rules.totals`` is the one query the scoring reads). Every entry written or
reversed here queues the subject's standing recompute, so a county that counts them sees it at once.
The limits' switch ``counts_toward_county_grade`` only makes the views *report* the county grade beside
the village total; it never changes a grade.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.evidence.uses import EVIDENCE_UNKNOWN, unusable
from backend.ledger.catalogue import catalogues
from backend.ledger.services import ledger_changed
from backend.village_rules import tables as t
from backend.village_rules import totals as village_totals
from backend.village_rules.schemas import (DecisionIn, ItemIn, ItemOut, LimitsIn, LimitsOut, RecordedOut,
                                           RuleVersionIn, RuleVersionOut, VillageEntryOut, VillagePointsIn,
                                           VillagePointsOut)
from points_rules import village_rules as vr
from points_rules.units import format_points, points_from_decimal

# The access log's own words (backend.audit.words) for a points read: 信用积分 / 查看信用积分. A village read
# could have words of its own (村规民约积分) once backend.audit.words has them; until then the points words.
VILLAGE_POINTS_FIELDS = ("village_points",)
PURPOSE = "village_points_view"

# --- errors ------------------------------------------------------------------------------------------------

LIMITS_INVALID = InvalidInput("村规民约积分限额不合法", "The village-rule limits are invalid",
                              code="VILLAGE_RULES_LIMITS_INVALID")
RULES_INVALID = InvalidInput("村规民约积分事项不符合县级限额", "The village rule set does not fit the county's limits",
                             code="VILLAGE_RULES_INVALID")
NO_LIMITS = InvalidInput("本县尚未设定村规民约积分限额", "The county has set no limits for village rules yet",
                         code="VILLAGE_RULES_NO_LIMITS")
SELF_APPROVAL = PermissionDenied("提出人不能审核自己提出的村规民约积分细则，须由另一名管理员审核",
                                 "The proposer may not decide their own proposal: a second admin must",
                                 code="VILLAGE_RULES_SELF_APPROVAL")
DECIDED = Conflict("该版本已审核", "The version has already been decided", code="VILLAGE_RULES_DECIDED")
DAY_TAKEN = Conflict("该村同一生效日已有已批准的版本", "The village already has an approved version from that day",
                     code="VILLAGE_RULES_DAY_TAKEN")
EFFECTIVE_PAST = InvalidInput("生效日期已过，村规民约积分不溯及既往，请以新的生效日期重新提出",
                              "The effective date has passed (village rules are never retroactive): propose again",
                              code="VILLAGE_RULES_EFFECTIVE_PAST")
REASON_REQUIRED = InvalidInput("不予批准须写明理由", "A rejection needs written reasons",
                               code="VILLAGE_RULES_REASON_REQUIRED")
ITEM_OTHER_VILLAGE = InvalidInput("该事项不是该对象所在村的村规民约积分事项", "The item is not one of the subject's village",
                                  code="VILLAGE_ITEM_OTHER_VILLAGE")
ITEM_UNKNOWN = InvalidInput("事项发生之日该村没有生效的此项村规民约积分", "No approved village item of that code was in "
                            "force on the event date", code="VILLAGE_ITEM_UNKNOWN")
NEEDS_TOWNSHIP = PermissionDenied("该事项须经审核，只能由乡镇管理员登记", "This item needs review: a township admin records it",
                                  code="VILLAGE_ITEM_NEEDS_TOWNSHIP")
OCCURRED_FUTURE = InvalidInput("发生日期不能晚于今天", "occurred_on may not be in the future", code="VILLAGE_POINTS_FUTURE")
IDEMPOTENCY_CONFLICT = Conflict("该幂等键已用于另一条记录", "The idempotency key was used for a different payload",
                                code="VILLAGE_POINTS_IDEMPOTENCY_CONFLICT")
ALREADY_REVERSED = Conflict("该记录已冲正", "The entry has already been reversed", code="VILLAGE_POINTS_ALREADY_REVERSED")
REVERSAL_OF_REVERSAL = Conflict("冲正记录不能再冲正", "A reversal cannot be reversed",
                                code="VILLAGE_POINTS_REVERSAL_OF_REVERSAL")
NOT_A_PERSON = PermissionDenied("该账户未关联居民", "This account is not linked to a person")


def _problems(error: CunxinError, problems: list[vr.Problem]) -> CunxinError:
    return error.fresh(problems=[p.as_dict() for p in problems])


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


# --- county limits -----------------------------------------------------------------------------------------


def _limits_rules(row: dict) -> vr.VillageLimits:
    return vr.VillageLimits(min_points=row["min_points"], max_points=row["max_points"],
                            max_validity_years=row["max_validity_years"],
                            allowed_categories=tuple(_json(row["allowed_categories"])), max_items=row["max_items"],
                            counts_toward_county_grade=row["counts_toward_county_grade"])


def _limits_out(row: dict) -> LimitsOut:
    rules = _limits_rules(row)
    county = vr.county_categories(rules)
    return LimitsOut(id=row["id"], county_id=row["county_id"], version=row["version"],
                     min_points=format_points(row["min_points"]), max_points=format_points(row["max_points"]),
                     max_validity_years=row["max_validity_years"], allowed_categories=list(rules.allowed_categories),
                     county_categories=list(county),
                     village_categories=[c for c in rules.allowed_categories if c not in county],
                     max_items=row["max_items"], counts_toward_county_grade=row["counts_toward_county_grade"],
                     note=row["note"], created_by=row["created_by"], created_at=row["created_at"])


async def limits_in_force(county_id: int) -> dict | None:
    """The county's newest limits row (``None``: no village may propose rules yet)."""
    rows = await fetch("SELECT * FROM village_rule_limits WHERE county_id = {} ORDER BY version DESC LIMIT 1",
                       county_id)
    return rows[0] if rows else None


def _tenths(value: Decimal, field: str, item: int | None = None, code: str | None = None) -> tuple[int, list]:
    tenths = points_from_decimal(value)
    if tenths is None:
        return 0, [vr.Problem(item, code, field, "分值最多保留一位小数", "points may have one decimal at most")]
    return tenths, []


def _county_of(actor: Actor) -> int:
    if actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


async def _actor_county(actor: Actor) -> int:
    """The county of a county admin, or of a township admin's / grid worker's township."""
    county_id = await scope.actor_county(actor)
    if county_id is None:
        raise PermissionDenied()
    return county_id


async def set_limits(actor: Actor, data: LimitsIn) -> LimitsOut:
    """A county admin saves a new version of the county's limits; every problem at once (422)."""
    if actor.role is not Role.COUNTY_ADMIN:
        raise PermissionDenied()
    county_id = _county_of(actor)
    low, p1 = _tenths(data.min_points, "min_points")
    high, p2 = _tenths(data.max_points, "max_points")
    rules = vr.VillageLimits(min_points=low, max_points=high, max_validity_years=data.max_validity_years,
                             allowed_categories=tuple(data.allowed_categories), max_items=data.max_items,
                             counts_toward_county_grade=data.counts_toward_county_grade)
    problems = p1 + p2 + vr.check_limits(rules)
    if problems:
        raise _problems(LIMITS_INVALID, problems)
    for attempt in range(3):
        try:
            async with engine_finder().transaction():
                number = (await fetch("SELECT coalesce(max(version), 0) + 1 AS n FROM village_rule_limits "
                                      "WHERE county_id = {}", county_id))[0]["n"]
                row = (await t.VillageRuleLimits.insert(t.VillageRuleLimits(
                    county_id=county_id, version=number, min_points=low, max_points=high,
                    max_validity_years=data.max_validity_years, allowed_categories=list(data.allowed_categories),
                    max_items=data.max_items, counts_toward_county_grade=data.counts_toward_county_grade,
                    note=data.note, created_by=actor.id)).returning(t.VillageRuleLimits.id))[0]
            break
        except UniqueViolationError:  # a concurrent save took the number: take the next
            if attempt == 2:
                raise
    return _limits_out((await fetch("SELECT * FROM village_rule_limits WHERE id = {}", row["id"]))[0])


async def list_limits(actor: Actor) -> list[LimitsOut]:
    """Every version of the caller's county's limits, newest (in force) first."""
    county_id = await _actor_county(actor)
    rows = await fetch("SELECT * FROM village_rule_limits WHERE county_id = {} ORDER BY version DESC", county_id)
    return [_limits_out(r) for r in rows]


# --- rule versions -----------------------------------------------------------------------------------------


def _items(data: list[ItemIn]) -> tuple[list[vr.VillageItem], list[vr.Problem]]:
    items, problems = [], []
    for i, raw in enumerate(data):
        tenths, bad = _tenths(raw.points, "points", i, raw.code)
        problems += bad
        items.append(vr.VillageItem(code=raw.code, name_zh=raw.name_zh, behaviour_zh=raw.behaviour_zh,
                                    category=raw.category, points=tenths if not bad else 1,
                                    validity_years=raw.validity_years, needs_review=raw.needs_review))
    return items, problems


def _stored_items(row: dict) -> tuple[vr.VillageItem, ...]:
    return tuple(vr.VillageItem(**i) for i in _json(row["items"]))


async def _village(village_id: int) -> dict | None:
    rows = await fetch("""SELECT v.id, v.code, v.name, v.township, t.county FROM village v
                          JOIN township t ON t.id = v.township WHERE v.id = {}""", village_id)
    return rows[0] if rows else None


def _version_location(row: dict) -> scope.Location:
    return scope.Location(kind=scope.VILLAGE, id=row["village_id"], county_id=row["county_id"],
                          township_id=row["township_id"], village_id=row["village_id"])


def _may_see_version(actor: Actor, row: dict) -> bool:
    """Admins of the township or county see every version; the village's grid workers and villagers
    see its approved ones (村规民约 are posted in the village)."""
    where = _version_location(row)
    if actor.role in (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN):
        return scope.covers(actor, where)
    if actor.role in (Role.GRID_WORKER, Role.VILLAGER):
        return row["status"] == t.APPROVED and scope.covers_structure(actor, where)
    return False


async def _approved_versions(village_id: int) -> list[vr.RuleVersion]:
    rows = await fetch("SELECT id, effective_from, items FROM village_rule_version WHERE village_id = {} "
                       "AND status = 'approved'", village_id)
    return [vr.RuleVersion(id=r["id"], effective_from=r["effective_from"], items=_stored_items(r)) for r in rows]


def _version_out(row: dict, in_force_id: int | None) -> RuleVersionOut:
    return RuleVersionOut(
        id=row["id"], county_id=row["county_id"], township_id=row["township_id"], village_id=row["village_id"],
        village_name=row["village_name"], version=row["version"], effective_from=row["effective_from"],
        items=[ItemOut(**{**i.as_dict(), "points": format_points(i.points)}) for i in _stored_items(row)],
        sha256=row["sha256"], canonical_json=row["canonical_json"], limits_id=row["limits_id"], status=row["status"],
        in_force=row["id"] == in_force_id, proposed_by=row["proposed_by"], proposed_at=row["proposed_at"],
        note=row["note"], decided_by=row["decided_by"], decided_at=row["decided_at"],
        decision_reason=row["decision_reason"])


_VERSION_SELECT = "SELECT r.*, v.name AS village_name FROM village_rule_version r JOIN village v ON v.id = r.village_id"


async def _in_force_ids(village_ids: set[int], today: date) -> dict[int, int | None]:
    out = {}
    for village_id in village_ids:
        current = vr.version_in_force(await _approved_versions(village_id), today)
        out[village_id] = None if current is None else current.id
    return out


async def _version_row(version_id: int) -> dict | None:
    rows = await fetch(f"{_VERSION_SELECT} WHERE r.id = {{}}", version_id)
    return rows[0] if rows else None


async def _out_one(version_id: int) -> RuleVersionOut:
    row = await _version_row(version_id)
    ids = await _in_force_ids({row["village_id"]}, clock.today())
    return _version_out(row, ids[row["village_id"]])


async def propose(actor: Actor, data: RuleVersionIn) -> RuleVersionOut:
    """A township admin enters a village's rule set for its village committee; checked against the
    county's limits in force (every problem at once)."""
    if actor.role is not Role.TOWNSHIP_ADMIN:
        raise PermissionDenied()
    village = await _village(data.village_id)
    if village is None:
        raise NotFound()
    where = scope.Location(kind=scope.VILLAGE, id=village["id"], county_id=village["county"],
                           township_id=village["township"], village_id=village["id"])
    if not scope.covers(actor, where):
        raise NotFound()
    limits = await limits_in_force(village["county"])
    if limits is None:
        raise NO_LIMITS.fresh()
    items, problems = _items(data.items)
    problems += vr.check_rule_set(_limits_rules(limits), village["code"], items)
    if data.effective_from < clock.today():
        problems.append(vr.Problem(None, None, "effective_from", "生效日期不能早于今天（村规民约积分不溯及既往）",
                                   "effective_from may not be before today (never retroactive)"))
    if problems:
        raise _problems(RULES_INVALID, problems)
    text = vr.canonical_json(village["code"], data.effective_from, items)
    for attempt in range(3):
        try:
            async with engine_finder().transaction():
                number = (await fetch("SELECT coalesce(max(version), 0) + 1 AS n FROM village_rule_version "
                                      "WHERE village_id = {}", village["id"]))[0]["n"]
                row = (await t.VillageRuleVersion.insert(t.VillageRuleVersion(
                    county_id=village["county"], township_id=village["township"], village_id=village["id"],
                    version=number, effective_from=data.effective_from, items=[i.as_dict() for i in items],
                    canonical_json=text, sha256=vr.sha256_hex(text), limits_id=limits["id"], status=t.PROPOSED,
                    proposed_by=actor.id, note=data.note)).returning(t.VillageRuleVersion.id))[0]
            break
        except UniqueViolationError:  # a concurrent proposal took the number
            if attempt == 2:
                raise
    return await _out_one(row["id"])


async def list_versions(actor: Actor, *, village_id: int | None, status: str | None) -> list[RuleVersionOut]:
    """The versions the caller may see (newest first), optionally of one village or status."""
    if actor.role is Role.COUNTY_ADMIN:
        clause, args = "r.county_id = {}", [_county_of(actor)]
    elif actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        clause, args = "r.township_id = {}", [actor.township_id]
    elif actor.role in (Role.GRID_WORKER, Role.VILLAGER):
        clause, args = "r.village_id = ANY({}) AND r.status = 'approved'", [sorted(actor.village_ids)]
    else:
        raise PermissionDenied()
    if village_id is not None:
        clause, args = clause + " AND r.village_id = {}", [*args, village_id]
    if status is not None:
        clause, args = clause + " AND r.status = {}", [*args, status]
    rows = [r for r in await fetch(f"{_VERSION_SELECT} WHERE {clause} ORDER BY r.village_id, r.version DESC", *args)
            if _may_see_version(actor, r)]
    ids = await _in_force_ids({r["village_id"] for r in rows}, clock.today())
    return [_version_out(r, ids[r["village_id"]]) for r in rows]


async def get_version(actor: Actor, version_id: int) -> RuleVersionOut:
    row = await _version_row(version_id)
    if row is None or not _may_see_version(actor, row):
        raise NotFound()
    return await _out_one(version_id)


async def decide(actor: Actor, version_id: int, data: DecisionIn) -> RuleVersionOut:
    """A second admin (of the township or the county) approves or rejects a proposed version."""
    if actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        raise PermissionDenied()
    row = await _version_row(version_id)
    if row is None or not scope.covers(actor, _version_location(row)):
        raise NotFound()
    if row["status"] != t.PROPOSED:
        raise DECIDED.fresh()
    if row["proposed_by"] == actor.id:
        raise SELF_APPROVAL.fresh()
    if data.decision == "reject" and len(data.reason.strip()) < 2:
        raise REASON_REQUIRED.fresh()
    limits_id = row["limits_id"]
    if data.decision == "approve":
        if row["effective_from"] < clock.today():
            raise EFFECTIVE_PAST.fresh()
        limits = await limits_in_force(row["county_id"])
        village = await _village(row["village_id"])
        problems = vr.check_rule_set(_limits_rules(limits), village["code"], _stored_items(row))
        if problems:  # the county tightened its limits after the proposal
            raise _problems(RULES_INVALID, problems)
        limits_id = limits["id"]
    try:
        async with engine_finder().transaction():
            locked = (await fetch("SELECT status FROM village_rule_version WHERE id = {} FOR UPDATE", version_id))[0]
            if locked["status"] != t.PROPOSED:
                raise DECIDED.fresh()
            await t.VillageRuleVersion.update({
                t.VillageRuleVersion.status: t.APPROVED if data.decision == "approve" else t.REJECTED,
                t.VillageRuleVersion.decided_by: actor.id, t.VillageRuleVersion.decided_at: clock.now(),
                t.VillageRuleVersion.decision_reason: data.reason.strip(),
                t.VillageRuleVersion.limits_id: limits_id,
            }).where(t.VillageRuleVersion.id == version_id)
    except UniqueViolationError:
        raise DAY_TAKEN.fresh() from None
    return await _out_one(version_id)


# --- village points ----------------------------------------------------------------------------------------


def _payload_hash(data: VillagePointsIn) -> str:
    body = data.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def _existing(actor: Actor, key: str) -> dict | None:
    rows = await fetch("SELECT * FROM village_points_entry WHERE recorded_by = {} AND idempotency_key = {}",
                       actor.id, key)
    return rows[0] if rows else None


def _replay(existing: dict, digest: str) -> None:
    if existing["payload_hash"] != digest:
        raise IDEMPOTENCY_CONFLICT.fresh(entry_id=existing["id"])


async def record(actor: Actor, data: VillagePointsIn) -> RecordedOut:
    """Record one village-item event exactly once per (recorder, idempotency key)."""
    if actor.role not in (Role.GRID_WORKER, Role.TOWNSHIP_ADMIN):
        raise PermissionDenied()
    where = await scope.authorize_write(actor, data.subject_kind, data.subject_id)
    digest = _payload_hash(data)
    existing = await _existing(actor, data.idempotency_key)
    if existing is not None:
        _replay(existing, digest)
        return RecordedOut(entry=_entry_out(existing, clock.today(), frozenset()), created=False)
    village = await _village(where.village_id)
    if vr.village_code_of(data.item_code) != village["code"]:
        raise ITEM_OTHER_VILLAGE.fresh(item_code=data.item_code, village_id=village["id"])
    if data.occurred_on > clock.today():
        raise OCCURRED_FUTURE.fresh()
    version = vr.version_in_force(await _approved_versions(village["id"]), data.occurred_on)
    item = None if version is None else version.item(data.item_code)
    if item is None:
        raise ITEM_UNKNOWN.fresh(item_code=data.item_code, occurred_on=data.occurred_on.isoformat())
    if item.needs_review and actor.role is not Role.TOWNSHIP_ADMIN:
        raise NEEDS_TOWNSHIP.fresh()
    try:
        async with engine_finder().transaction():
            if data.evidence_id is not None:
                if await unusable(actor.id, [data.evidence_id]):
                    raise EVIDENCE_UNKNOWN.fresh(evidence_ids=[data.evidence_id])
            row = (await t.VillagePointsEntry.insert(t.VillagePointsEntry(
                county_id=where.county_id, township_id=where.township_id, village_id=village["id"],
                rule_version_id=version.id, item_code=item.code, item_name_zh=item.name_zh, category=item.category,
                subject_kind=data.subject_kind, subject_id=data.subject_id,
                person_id=where.person_id if where.kind == scope.PERSON else None, household_id=where.household_id,
                points=item.points, occurred_on=data.occurred_on,
                valid_until=vr.valid_until(data.occurred_on, item.validity_years),
                explanation_zh=vr.explanation_zh(village["name"], item, data.occurred_on,
                                                 _counted_cap(where.county_id, data.occurred_on)),
                evidence_id=data.evidence_id, note=data.note, recorded_by=actor.id, recorded_by_role=actor.role.value,
                idempotency_key=data.idempotency_key, payload_hash=digest,
            )).returning(t.VillagePointsEntry.id))[0]
    except UniqueViolationError:
        existing = await _existing(actor, data.idempotency_key)
        if existing is None:  # the photo went to a concurrent entry
            raise EVIDENCE_UNKNOWN.fresh(evidence_ids=[data.evidence_id]) from None
        _replay(existing, digest)  # a concurrent replay of the same key won
        return RecordedOut(entry=_entry_out(existing, clock.today(), frozenset()), created=False)
    await ledger_changed(data.subject_kind, data.subject_id)
    stored = (await fetch("SELECT * FROM village_points_entry WHERE id = {}", row["id"]))[0]
    return RecordedOut(entry=_entry_out(stored, clock.today(), frozenset()), created=True)


def _entry_location(row: dict) -> scope.Location:
    """Where the subject sat when the entry was recorded (the recording township reverses it)."""
    return scope.Location(kind=row["subject_kind"], id=row["subject_id"], county_id=row["county_id"],
                          township_id=row["township_id"], village_id=row["village_id"],
                          household_id=row["household_id"], person_id=row["person_id"])


async def reverse(actor: Actor, entry_id: int, reason: str) -> VillageEntryOut:
    """A township admin of the entry's township (or a county admin) cancels an entry with a
    compensating row; the original stays."""
    if actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        raise PermissionDenied()
    rows = await fetch("SELECT * FROM village_points_entry WHERE id = {}", entry_id)
    if not rows or not scope.covers(actor, _entry_location(rows[0])):
        raise NotFound()
    original = rows[0]
    if original["reverses_entry"] is not None:
        raise REVERSAL_OF_REVERSAL.fresh()
    village = await _village(original["village_id"])
    try:
        async with engine_finder().transaction():
            if await fetch("SELECT 1 FROM village_points_entry WHERE reverses_entry = {}", entry_id):
                raise ALREADY_REVERSED.fresh()
            row = (await t.VillagePointsEntry.insert(t.VillagePointsEntry(
                **{k: original[k] for k in ("county_id", "township_id", "village_id", "rule_version_id", "item_code",
                                            "item_name_zh", "category", "subject_kind", "subject_id", "person_id",
                                            "household_id", "occurred_on", "valid_until")},
                points=-original["points"], reverses_entry=entry_id,
                explanation_zh=vr.reversal_explanation_zh(village["name"], original["explanation_zh"], reason),
                note=reason, recorded_by=actor.id, recorded_by_role=actor.role.value,
                idempotency_key=f"reverse:{entry_id}", payload_hash=hashlib.sha256(reason.encode()).hexdigest(),
            )).returning(t.VillagePointsEntry.id))[0]
    except UniqueViolationError:
        raise ALREADY_REVERSED.fresh() from None
    await ledger_changed(original["subject_kind"], original["subject_id"])
    stored = (await fetch("SELECT * FROM village_points_entry WHERE id = {}", row["id"]))[0]
    return _entry_out(stored, clock.today(), frozenset({entry_id, row["id"]}))


# --- views -------------------------------------------------------------------------------------------------


def _rules_entry(row: dict) -> vr.Entry:
    return vr.Entry(id=row["id"], points=row["points"], occurred_on=row["occurred_on"],
                    valid_until=row["valid_until"], reverses=row["reverses_entry"])


def _entry_out(row: dict, day: date, gone: frozenset[int]) -> VillageEntryOut:
    entry = _rules_entry(row)
    return VillageEntryOut(
        id=row["id"], village_id=row["village_id"], rule_version_id=row["rule_version_id"], item_code=row["item_code"],
        item_name_zh=row["item_name_zh"], category=row["category"], subject_kind=row["subject_kind"],
        subject_id=row["subject_id"], points=format_points(row["points"]), occurred_on=row["occurred_on"],
        valid_until=row["valid_until"], in_force=row["id"] not in gone and vr.in_force(entry, day),
        reversed=row["id"] in gone and row["reverses_entry"] is None, reverses_entry=row["reverses_entry"],
        explanation_zh=row["explanation_zh"], evidence_id=row["evidence_id"], note=row["note"],
        recorded_at=row["recorded_at"])


NOTE_APART = "村规民约积分由村按县级限额自行设定，单独计算，不计入县级信用积分、等级和信用户评定。"
NOTE_BESIDE = ("村规民约积分单独计算，不改变县级信用积分和等级；按本县设定，与县级等级并列展示（"
               "计入县级等级须由县级积分目录规定）。")


def _counted_cap(county_id: int, day: date) -> int | None:
    """The cap (tenths) if the county's version in force on ``day`` counts village points, else None."""
    try:
        rule = catalogues(county_id).version_on(day).scoring.village_points
    except CunxinError:  # no catalogue version on that day: nothing counts
        return None
    return rule.cap if rule else None


def _counted_on(county_id: int, day: date) -> bool:
    return _counted_cap(county_id, day) is not None


def note_counted(county_id: int, day: date) -> str:
    version = catalogues(county_id).version_on(day)
    return (f"按本县{version.version}版积分目录，村规民约积分计入县级信用积分，每人（户）最多计入"
            f"±{format_points(version.scoring.village_points.cap, signed=False)}分；县级积分说明中单列“村规民约积分”。")


async def _view(actor: Actor, where: scope.Location, day: date, *, request_id: str) -> VillagePointsOut:
    rows = await fetch("""SELECT * FROM village_points_entry WHERE county_id = {} AND subject_kind = {}
                          AND subject_id = {} ORDER BY occurred_on DESC, id DESC""",
                       where.county_id, where.kind, where.id)
    entries = [_rules_entry(r) for r in rows]
    gone = vr.cancelled(entries)
    village = await _village(where.village_id) if where.village_id is not None else None
    limits = await limits_in_force(where.county_id)
    counted = _counted_on(where.county_id, day)
    beside = counted or bool(limits and limits["counts_toward_county_grade"])
    grade = await _county_grade(actor, where, day, request_id=request_id) if beside else None
    name = village["name"] if village else None
    note = note_counted(where.county_id, day) if counted else NOTE_BESIDE if beside else NOTE_APART
    return VillagePointsOut(
        subject_kind=where.kind, subject_id=where.id, village_id=where.village_id, village_name=name,
        label_zh=f"{vr.LABEL_ZH}（{name or ''}）", as_of=day, total=format_points(vr.total(entries, day), signed=False),
        entries=[_entry_out(r, day, gone) for r in rows], counts_toward_county_grade=beside,
        counted_in_county_grade=counted, county_grade=grade, note_zh=note)


async def _county_grade(actor: Actor, where: scope.Location, day: date, *, request_id: str) -> str | None:
    """The county grade as the county computes it — read, never changed. A person's from the ledger's
    own points view (which logs its read); a household's from its live standing."""
    if where.kind == scope.PERSON:
        from backend.ledger import views as ledger_views

        try:
            return (await ledger_views.person_points(actor, where.id, request_id=request_id, as_of=day)).standing.grade
        except CunxinError:  # e.g. no catalogue version on that day: nothing to show beside
            return None
    rows = await fetch("SELECT grade FROM standing_household WHERE household_id = {}", where.id)
    return rows[0]["grade"] if rows else None


async def subject_points(actor: Actor, kind: str, subject_id: int, *, as_of: date | None = None,
                         request_id: str = "") -> VillagePointsOut:
    """A person's or a household's own village points as of a day (default today); the read is logged."""
    where = await scope.authorize_read(actor, kind, subject_id, fields=VILLAGE_POINTS_FIELDS, purpose=PURPOSE,
                                       request_id=request_id)
    return await _view(actor, where, as_of or clock.today(), request_id=request_id)


async def my_points(actor: Actor, *, as_of: date | None = None, request_id: str = "") -> VillagePointsOut:
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise NOT_A_PERSON.fresh()
    return await subject_points(actor, scope.PERSON, actor.person_id, as_of=as_of, request_id=request_id)
