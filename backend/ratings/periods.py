"""Rating periods: close (generate proposals, only once the period has ended; a preview before),
approve in bulk (maker-checker where the catalogue asks), publicise for N working days, take
objections, and make ratings effective.

Every status change writes a ``rating_decision`` row (append-only). Household and village
proposals are approved by the township admin of their township; township proposals by a county
admin. Maker-checker: no grade reaches publicity that only one person has seen — a checker who
changes a grade becomes its maker, and another person must confirm it.

Every change of a proposal's status locks its row (``SELECT … FOR UPDATE``) and checks the status
again under the lock, so concurrent objections, decisions and ``finalize`` cannot undo each other.
A rating with an open objection is never publicised or made effective.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch, transaction_connection
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.ledger.catalogue import catalogues, points_text
from backend.notifications import outbox as notices
from backend.ratings import tables as t
from backend.ratings.calendar import work_calendar
from backend.ratings.compute import Computed, compute_households, roll_up, village_townships
from backend.ratings.schemas import (
    ApprovalIn,
    ApprovalOut,
    ObjectionIn,
    ObjectionOut,
    PeriodIn,
    PeriodOut,
    PeriodPreviewOut,
    ProposalOut,
    ReproposeIn,
    ResolveIn,
    TownshipPreviewOut,
)
from backend.schemas import Page
from backend.webhooks import outbox as webhook_outbox

OPEN_FOR_APPROVAL = (t.PROPOSED, t.AWAITING_SECOND)
OBJECTABLE = (t.PUBLICISED, t.DISPUTED)  # during publicity; a second objection may join an open one
OBJECTION_MARK_WORKING_DAYS = 1  # art. 46: marked as disputed within 1 working day (we mark at once)
OBJECTION_RESPONSE_WORKING_DAYS = 7  # art. 46: a decision within 7 working days


def _approval_rules(period: dict):
    """The approval rules of the period's county catalogue in force on its last day."""
    return catalogues(period["county"]).version_on(period["ends_on"]).rating_rules().approval


def _valid_grades(level: str, period: dict) -> set[str]:
    version = catalogues(period["county"]).version_on(period["ends_on"])
    if level == t.HOUSEHOLD:
        return {b.grade for b in version.rating_rules().household.grades}
    return {"credit", "none"}


def _require(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDenied()


async def create_period(actor: Actor, data: PeriodIn) -> PeriodOut:
    _require(actor, Role.COUNTY_ADMIN)
    catalogues(actor.county_id).version_on(data.ends_on).rating_rules()  # RuleError (422) if no catalogue covers the period end
    # Codes are per county: another county's "2026" is not ours.
    if await t.RatingPeriod.exists().where((t.RatingPeriod.county == actor.county_id)
                                           & (t.RatingPeriod.code == data.code)):
        raise _period_exists(data.code)
    try:
        row = (await t.RatingPeriod.insert(t.RatingPeriod(
            county=actor.county_id, code=data.code, name_zh=data.name_zh, starts_on=data.starts_on,
            ends_on=data.ends_on,
        )).returning(*t.RatingPeriod.all_columns()))[0]
    except UniqueViolationError as exc:  # a concurrent create of the same code committed first
        raise _period_exists(data.code) from exc
    return PeriodOut(id=row["id"], code=row["code"], name_zh=row["name_zh"], starts_on=row["starts_on"],
                     ends_on=row["ends_on"], status=row["status"])


def _period_exists(code: str) -> Conflict:
    return Conflict("本区县已有该评定周期代码", "This county already has a period with this code",
                    code="RATINGS_PERIOD_EXISTS", details={"code": code})


async def list_periods(actor: Actor) -> list[PeriodOut]:
    if actor.role is Role.TOWNSHIP_ADMIN:
        rows = await fetch("SELECT * FROM rating_period WHERE county = (SELECT county FROM township WHERE id = {}) "
                           "ORDER BY ends_on DESC", actor.township_id)
    else:
        rows = await fetch("SELECT * FROM rating_period WHERE county = {} ORDER BY ends_on DESC", actor.county_id)
    counts = defaultdict(dict)
    township_filter = "AND township_id = {}" if actor.role is Role.TOWNSHIP_ADMIN else ""
    args = [actor.township_id] if actor.role is Role.TOWNSHIP_ADMIN else []
    for r in await fetch(f"SELECT period, status, count(*) AS n FROM rating_proposal WHERE true {township_filter} "
                         "GROUP BY period, status", *args):
        counts[r["period"]][r["status"]] = r["n"]
    return [PeriodOut(id=r["id"], code=r["code"], name_zh=r["name_zh"], starts_on=r["starts_on"],
                      ends_on=r["ends_on"], status=r["status"], proposals=counts.get(r["id"], {})) for r in rows]


async def _open_period_of(actor: Actor, period_id: int) -> dict:
    _require(actor, Role.COUNTY_ADMIN)
    period = await _period(period_id)
    if period["county"] != actor.county_id:
        raise NotFound()
    if period["status"] != "open":
        raise _already_closed()
    return period


def _already_closed() -> Conflict:
    return Conflict("该周期已结束", "Period already closed", code="RATINGS_PERIOD_CLOSED")


async def _rate_period(period: dict) -> tuple[Computed, dict[int, int]]:
    """Every household, village and township of the period's county, as of the period's end."""
    # The period's county only: the database may hold other counties (their own periods, their own admins).
    in_county = set(await scope.townships_of_county(period["county"]))
    computed = await compute_households(period["ends_on"])
    computed.households = {h: r for h, r in computed.households.items()
                           if computed.places[h].township_id in in_county}
    townships = {v: tw for v, tw in (await village_townships()).items() if tw in in_county}
    roll_up(computed, townships)
    return computed, townships


async def preview_period(actor: Actor, period_id: int) -> PeriodPreviewOut:
    """What closing would propose (counts and grade mix, per township), computed as of the period's
    end from the ledger as it stands now; nothing is written."""
    period = await _open_period_of(actor, period_id)
    computed, _ = await _rate_period(period)
    by_township: dict[int, TownshipPreviewOut] = {
        tid: TownshipPreviewOut(township_id=tid, is_credit=r.is_credit_township, villages=r.villages,
                                credit_villages=r.credit_villages)
        for tid, r in computed.townships.items()}
    for hid, r in computed.households.items():
        row = by_township[computed.places[hid].township_id]
        row.households += 1
        row.credit_households += r.is_credit_household
        row.household_grades[r.grade] = row.household_grades.get(r.grade, 0) + 1
    today = clock.today()
    return PeriodPreviewOut(
        period_id=period_id, as_of=period["ends_on"], computed_on=today, ended=today > period["ends_on"],
        households=len(computed.households),
        credit_households=sum(r.is_credit_household for r in computed.households.values()),
        household_grades=dict(Counter(r.grade for r in computed.households.values())),
        villages=len(computed.villages), credit_villages=sum(r.is_credit_village for r in computed.villages.values()),
        townships=len(computed.townships),
        credit_townships=sum(r.is_credit_township for r in computed.townships.values()),
        by_township=[by_township[tid] for tid in sorted(by_township)])


async def close_period(actor: Actor, period_id: int) -> PeriodOut:
    """Compute every household, village and township as of the period's end and propose it —
    only once the period is over (the day after ``ends_on``, local time)."""
    period = await _open_period_of(actor, period_id)
    if clock.today() <= period["ends_on"]:
        raise Conflict("评定周期尚未结束，不能结束评定；可先预览", "The period has not ended yet; preview it instead",
                       code="RATINGS_PERIOD_NOT_ENDED",
                       details={"ends_on": period["ends_on"].isoformat(),
                                "closable_from": (period["ends_on"] + timedelta(days=1)).isoformat()})
    computed, townships = await _rate_period(period)
    records = []
    for hid, r in computed.households.items():
        place = computed.places[hid]
        records.append((period["county"], period_id, t.HOUSEHOLD, hid, place.township_id, place.village_id, r.grade, r.score, r.grade,
                        r.is_credit_household, r.explanation_zh, _json(r.explanation), r.catalogue_version))
    for vid, r in computed.villages.items():
        grade = "credit" if r.is_credit_village else "none"
        records.append((period["county"], period_id, t.VILLAGE, vid, townships[vid], vid, grade, None, grade, r.is_credit_village,
                        r.explanation_zh, _json(r.explanation), r.catalogue_version))
    for tid, r in computed.townships.items():
        grade = "credit" if r.is_credit_township else "none"
        records.append((period["county"], period_id, t.TOWNSHIP, tid, tid, None, grade, None, grade, r.is_credit_township,
                        r.explanation_zh, _json(r.explanation), r.catalogue_version))
    async with engine_finder().transaction():
        locked = await fetch("SELECT status FROM rating_period WHERE id = {} FOR UPDATE", period_id)
        if locked[0]["status"] != "open":
            raise _already_closed()
        await transaction_connection().copy_records_to_table(
            "rating_proposal", records=records,
            columns=["county_id", "period", "level", "subject_id", "township_id", "village_id", "computed_grade", "computed_score",
                     "grade", "is_credit", "explanation_zh", "explanation", "catalogue_version"])
        await t.RatingPeriod.update({t.RatingPeriod.status: "closed", t.RatingPeriod.closed_by: actor.id,
                                     t.RatingPeriod.closed_at: clock.now()}).where(
            t.RatingPeriod.id == period_id)
    return (p for p in await list_periods(actor) if p.id == period_id).__next__()


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


async def _period(period_id: int) -> dict:
    rows = await fetch("SELECT * FROM rating_period WHERE id = {}", period_id)
    if not rows:
        raise NotFound()
    return rows[0]


async def _period_of(actor: Actor, period_id: int) -> dict:
    """A period of the actor's county; another county's answers 404, as one that does not exist."""
    period = await _period(period_id)
    if not await scope.covers_county(actor, period["county"]):
        raise NotFound()
    return period


def _proposal_out(r: dict) -> ProposalOut:
    return ProposalOut(
        id=r["id"], period_id=r["period"], level=r["level"], subject_id=r["subject_id"],
        subject_name=r.get("subject_name"), township_id=r["township_id"], village_id=r["village_id"],
        computed_grade=r["computed_grade"],
        computed_score=points_text(r["computed_score"], signed=False) if r["computed_score"] is not None else None,
        grade=r["grade"], is_credit=r["is_credit"], change_reason=r["change_reason"], status=r["status"],
        explanation_zh=r["explanation_zh"], catalogue_version=r["catalogue_version"],
        explanation=json.loads(r["explanation"]) if isinstance(r["explanation"], str) else (r["explanation"] or {}),
        publicity_starts_on=r["publicity_starts_on"], publicity_ends_on=r["publicity_ends_on"],
        effective_on=r["effective_on"],
    )


_NAMES = """
CASE p.level
  WHEN 'household' THEN (SELECT pe.name FROM household_membership m JOIN person pe ON pe.id = m.person
                         WHERE m.household = p.subject_id AND m.valid_to IS NULL AND m.relation = '户主')
  WHEN 'village' THEN (SELECT name FROM village WHERE id = p.subject_id)
  ELSE (SELECT name FROM township WHERE id = p.subject_id) END AS subject_name
"""


async def _jurisdiction_sql(actor: Actor) -> tuple[str, list]:
    if actor.role is Role.TOWNSHIP_ADMIN:
        return "p.township_id = {} AND p.level <> 'township'", [actor.township_id]
    if actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        return "p.township_id = ANY({})", [await scope.townships_of_county(actor.county_id)]
    raise PermissionDenied()


async def list_proposals(actor: Actor, period_id: int, *, level: str | None, village_id: int | None,
                         status: str | None, limit: int, offset: int, request_id: str = "") -> Page[ProposalOut]:
    period = await _period_of(actor, period_id)
    where, args = await _jurisdiction_sql(actor)
    clauses, args = [where, "p.period = {}"], [*args, period_id]
    for column, value in (("p.level", level), ("p.village_id", village_id), ("p.status", status)):
        if value is not None:
            clauses.append(f"{column} = {{}}")
            args.append(value)
    condition = " AND ".join(clauses)
    total = (await fetch(f"SELECT count(*) AS n FROM rating_proposal p WHERE {condition}", *args))[0]["n"]
    rows = await fetch(f"SELECT p.*, {_NAMES} FROM rating_proposal p WHERE {condition} "
                       "ORDER BY p.level, p.village_id NULLS FIRST, p.subject_id LIMIT {} OFFSET {}",
                       *args, limit, offset)
    await scope.log_reads(actor, [
        scope.Location(kind=scope.HOUSEHOLD, id=r["subject_id"], county_id=period["county"],
                       township_id=r["township_id"], village_id=r["village_id"], household_id=r["subject_id"])
        for r in rows if r["level"] == t.HOUSEHOLD
    ], fields=["rating"], purpose="rating_approval", request_id=request_id)
    return Page[ProposalOut](items=[_proposal_out(r) for r in rows], total=total, limit=limit, offset=offset)


async def _decide(proposal_id: int, action: str, actor: Actor, from_status: str, to_status: str,
                  grade: str = "", reason: str = "") -> None:
    # The decider is always of the proposal's county (``_period_of``/``_proposal_in_scope`` saw to it).
    await t.RatingDecision.insert(t.RatingDecision(county_id=scope.county_of(actor), proposal=proposal_id,
                                                   action=action, actor=actor.id,
                                                   from_status=from_status, to_status=to_status, grade=grade,
                                                   reason=reason))


async def approve(actor: Actor, period_id: int, data: ApprovalIn, *, today: date | None = None) -> ApprovalOut:
    """Bulk approval with exceptions. Approvals land in publicity at once, or wait for a second
    approver when the catalogue asks for one at this level. A checker who changes a grade does
    not publicise it: the changed grade waits for another person (the checker is now its maker)."""
    if data.level == t.TOWNSHIP:
        _require(actor, Role.COUNTY_ADMIN)
    else:
        _require(actor, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
    period = await _period_of(actor, period_id)
    where, args = await _jurisdiction_sql(actor)
    clauses, args = [where, "p.period = {}", "p.level = {}", "p.status = ANY({})"], \
        [*args, period_id, data.level, list(OPEN_FOR_APPROVAL)]
    if data.village_id is not None:
        clauses.append("p.village_id = {}")
        args.append(data.village_id)
    today = today or clock.today()
    rules = _approval_rules(period)
    needs_second = data.level in rules.second_approver_for
    publicity_ends = (await work_calendar()).add_working_days(today, rules.publicity_working_days)
    grades = _valid_grades(data.level, period)
    exceptions = {e.proposal_id: e for e in data.exceptions}
    out = Counter()
    publicised: list[int] = []
    async with engine_finder().transaction():
        rows = await fetch(f"SELECT p.* FROM rating_proposal p WHERE {' AND '.join(clauses)} FOR UPDATE", *args)
        found = {r["id"] for r in rows}
        unknown = sorted(set(exceptions) - found)
        if unknown:
            raise NotFound("例外中的评定建议不存在或不在管辖范围内", "Some exceptions are not open proposals in your jurisdiction",
                           code="RATINGS_PROPOSAL_NOT_FOUND", details={"proposal_ids": unknown})
        for r in rows:
            exception = exceptions.get(r["id"])
            grade, reason = r["grade"], r["change_reason"]
            if exception is not None and exception.action == "return":
                await _set(r["id"], {t.RatingProposal.status: t.RETURNED})
                await _decide(r["id"], "return", actor, r["status"], t.RETURNED, reason=exception.reason)
                out["returned"] += 1
                continue
            if exception is not None:  # change
                if exception.grade not in grades:
                    raise InvalidInput("等级不在允许范围内", "Unknown grade", code="RATINGS_GRADE",
                                       details={"proposal_id": r["id"], "allowed": sorted(grades)})
                grade, reason = exception.grade, exception.reason
            values = {t.RatingProposal.grade: grade, t.RatingProposal.change_reason: reason,
                      t.RatingProposal.is_credit: grade not in ("none",)}
            if r["status"] == t.AWAITING_SECOND and r["maker"] == actor.id:
                out["not_own_check"] += 1
                continue
            checker_changed = r["status"] == t.AWAITING_SECOND and grade != r["grade"]
            if (r["status"] == t.PROPOSED and needs_second) or checker_changed:
                # A checker's change is a new grade nobody else has seen: it goes back for a
                # check, with the checker as its maker (so the next approver must be someone else).
                values.update({t.RatingProposal.status: t.AWAITING_SECOND, t.RatingProposal.maker: actor.id,
                               t.RatingProposal.checker: None})
                to_status = t.AWAITING_SECOND
                out["awaiting_second"] += 1
                out["back_to_check"] += checker_changed
            else:
                values.update({
                    t.RatingProposal.status: t.PUBLICISED, t.RatingProposal.approved_at: clock.now(),
                    t.RatingProposal.publicity_starts_on: today, t.RatingProposal.publicity_ends_on: publicity_ends,
                })
                if r["status"] == t.AWAITING_SECOND:
                    values[t.RatingProposal.checker] = actor.id
                else:
                    values[t.RatingProposal.maker] = actor.id
                to_status = t.PUBLICISED
                out["publicised"] += 1
                publicised.append(r["id"])
            await _set(r["id"], values)
            await _decide(r["id"], "change" if exception else "approve", actor, r["status"], to_status, grade,
                          reason if exception else "")
            out["approved"] += 1
            out["changed"] += exception is not None  # counted once applied (not for a refused self-check)
        # every household head of the village told once per period (its dedupe key), in this transaction
        await notices.notify_publicity(scope.county_of(actor), publicised)
    return ApprovalOut(approved=out["approved"], awaiting_second=out["awaiting_second"], publicised=out["publicised"],
                       returned=out["returned"], changed=out["changed"], not_own_check=out["not_own_check"],
                       back_to_check=out["back_to_check"],
                       publicity_ends_on=publicity_ends if out["publicised"] else None)


async def _set(proposal_id: int, values: dict) -> None:
    await t.RatingProposal.update(values).where(t.RatingProposal.id == proposal_id)


async def _proposal_in_scope(actor: Actor, proposal_id: int, *, purpose: str, fields: tuple[str, ...] = ("rating",),
                            request_id: str = "") -> dict:
    rows = await fetch("SELECT * FROM rating_proposal WHERE id = {}", proposal_id)
    if not rows:
        raise NotFound()
    r = rows[0]
    if r["level"] == t.HOUSEHOLD:
        await scope.authorize_read(actor, scope.HOUSEHOLD, r["subject_id"], fields=fields, purpose=purpose,
                                   request_id=request_id)
    else:
        kind = scope.VILLAGE if r["level"] == t.VILLAGE else scope.TOWNSHIP
        where = await scope.locate(kind, r["subject_id"])
        if where is None or not scope.covers_structure(actor, where) or (
                r["level"] == t.TOWNSHIP and actor.role is not Role.COUNTY_ADMIN):
            raise NotFound()
    return r


async def _lock_proposal(proposal_id: int) -> dict:
    """The proposal row, locked until the transaction ends: check its status again after this."""
    return (await fetch("SELECT * FROM rating_proposal WHERE id = {} FOR UPDATE", proposal_id))[0]


def _not_returned() -> Conflict:
    return Conflict("只有退回的评定建议可以重新提交", "Only returned proposals can be re-proposed",
                    code="RATINGS_NOT_RETURNED")


async def repropose(actor: Actor, proposal_id: int, data: ReproposeIn) -> ProposalOut:
    """A returned proposal goes back into the approval queue, with a (reasoned) grade."""
    _require(actor, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
    r = await _proposal_in_scope(actor, proposal_id, purpose="rating_approval")
    if r["status"] != t.RETURNED:
        raise _not_returned()
    period = await _period(r["period"])
    if data.grade not in _valid_grades(r["level"], period):
        raise InvalidInput("等级不在允许范围内", "Unknown grade", code="RATINGS_GRADE")
    async with engine_finder().transaction():
        if (await _lock_proposal(proposal_id))["status"] != t.RETURNED:  # re-proposed meanwhile
            raise _not_returned()
        await _set(proposal_id, {t.RatingProposal.status: t.PROPOSED, t.RatingProposal.grade: data.grade,
                                 t.RatingProposal.change_reason: data.reason if data.grade != r["computed_grade"] else "",
                                 t.RatingProposal.is_credit: data.grade != "none", t.RatingProposal.maker: None})
        await _decide(proposal_id, "repropose", actor, t.RETURNED, t.PROPOSED, data.grade, data.reason)
    return _proposal_out((await fetch("SELECT * FROM rating_proposal WHERE id = {}", proposal_id))[0])


def _check_objectable(r: dict, today: date) -> None:
    if r["status"] not in OBJECTABLE or r["publicity_ends_on"] is None or today > r["publicity_ends_on"]:
        raise Conflict("只能在公示期内提出异议", "Objections are possible only during publicity",
                       code="RATINGS_NOT_IN_PUBLICITY")


async def object_to(actor: Actor, proposal_id: int, data: ObjectionIn, *, request_id: str = "") -> ObjectionOut:
    """异议: a member of the rated household objects during publicity; the rating is held back (marked
    disputed at once) until every objection on it is decided."""
    _require(actor, Role.VILLAGER)
    r = await _proposal_in_scope(actor, proposal_id, purpose="rating_objection", request_id=request_id)
    if r["level"] != t.HOUSEHOLD:
        raise NotFound()
    now = clock.now()
    today = clock.local_date(now)
    _check_objectable(r, today)
    calendar = await work_calendar()
    async with engine_finder().transaction():
        locked = await _lock_proposal(proposal_id)
        _check_objectable(locked, today)  # finalize or a decision may have got there first
        row = (await t.RatingObjection.insert(t.RatingObjection(
            county_id=locked["county_id"], proposal=proposal_id, raised_by=actor.id, reason=data.reason, raised_at=now, raised_on=today,
            mark_by=calendar.add_working_days(today, OBJECTION_MARK_WORKING_DAYS), disputed_marked_on=today,
            respond_by=calendar.add_working_days(today, OBJECTION_RESPONSE_WORKING_DAYS),
        )).returning(t.RatingObjection.id))[0]
        if locked["status"] != t.DISPUTED:
            await _set(proposal_id, {t.RatingProposal.status: t.DISPUTED})
        await _decide(proposal_id, "objection", actor, locked["status"], t.DISPUTED, reason=data.reason)
    return await _objection(row["id"])


_OBJECTION_SQL = """
SELECT o.*, p.period, p.subject_id AS household_id, p.grade, p.status AS proposal_status
FROM rating_objection o JOIN rating_proposal p ON p.id = o.proposal
"""


async def _objection(objection_id: int) -> ObjectionOut:
    return _objection_out((await fetch(f"{_OBJECTION_SQL} WHERE o.id = {{}}", objection_id))[0], clock.today())


def _objection_out(row: dict, today: date) -> ObjectionOut:
    decided_on_time = None if row["resolved_on"] is None else row["resolved_on"] <= row["respond_by"]
    return ObjectionOut(
        id=row["id"], proposal_id=row["proposal"], period_id=row["period"], household_id=row["household_id"],
        grade=row["grade"], proposal_status=row["proposal_status"], status=row["status"], reason=row["reason"],
        resolution_reason=row["resolution_reason"], resolution_grade=row["resolution_grade"] or None,
        raised_at=row["raised_at"], raised_on=row["raised_on"], mark_by=row["mark_by"],
        disputed_marked_on=row["disputed_marked_on"],
        marked_on_time=row["disputed_marked_on"] is not None and row["disputed_marked_on"] <= row["mark_by"],
        respond_by=row["respond_by"], resolved_at=row["resolved_at"], resolved_on=row["resolved_on"],
        decided_on_time=decided_on_time, overdue=row["status"] == "open" and today > row["respond_by"])


async def list_objections(actor: Actor, *, status: str | None, period_id: int | None, limit: int, offset: int,
                          request_id: str = "") -> Page[ObjectionOut]:
    """Objections in my jurisdiction (a villager: my household's), the soonest due first."""
    jurisdiction = scope.household_filter_sql(actor) if actor.role in (
        Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN, Role.VILLAGER) else None
    if jurisdiction is None:
        raise PermissionDenied()
    where, args = jurisdiction
    clauses = [where, "p.level = 'household'"]
    for column, value in (("o.status", status), ("p.period", period_id)):
        if value is not None:
            clauses.append(f"{column} = {{}}")
            args = [*args, value]
    # Objections are on household proposals; the household's place in the tree is scope's rule.
    base = (f"FROM rating_objection o JOIN rating_proposal p ON p.id = o.proposal "
            f"JOIN household h ON h.id = p.subject_id JOIN village v ON v.id = h.village "
            f"JOIN township t ON t.id = v.township WHERE {' AND '.join(clauses)}")
    total = (await fetch(f"SELECT count(*) AS n {base}", *args))[0]["n"]
    rows = await fetch(
        f"""SELECT o.*, p.period, p.subject_id AS household_id, p.grade, p.status AS proposal_status,
                   h.grid AS grid_id, v.id AS village_id, t.id AS township_id, t.county AS county_id {base}
            ORDER BY o.status <> 'open', o.respond_by, o.id LIMIT {{}} OFFSET {{}}""", *args, limit, offset)
    await scope.log_reads(actor, [
        scope.Location(kind=scope.HOUSEHOLD, id=r["household_id"], county_id=r["county_id"],
                       township_id=r["township_id"], village_id=r["village_id"], grid_id=r["grid_id"],
                       household_id=r["household_id"])
        for r in rows], fields=["rating", "objection"], purpose="rating_objection", request_id=request_id)
    today = clock.today()
    return Page[ObjectionOut](items=[_objection_out(r, today) for r in rows], total=total, limit=limit,
                              offset=offset)


async def get_objection(actor: Actor, objection_id: int, *, request_id: str = "") -> ObjectionOut:
    """One objection, if its household is in my jurisdiction (404 otherwise, as for one that does not exist)."""
    _require(actor, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN, Role.VILLAGER)
    rows = await fetch("SELECT proposal FROM rating_objection WHERE id = {}", objection_id)
    if not rows:
        raise NotFound()
    await _proposal_in_scope(actor, rows[0]["proposal"], purpose="rating_objection", fields=("rating", "objection"),
                             request_id=request_id)
    return await _objection(objection_id)


def _objection_resolved() -> Conflict:
    return Conflict("该异议已处理", "Objection already resolved", code="RATINGS_OBJECTION_RESOLVED")


async def resolve_objection(actor: Actor, objection_id: int, data: ResolveIn, *, request_id: str = "") -> ObjectionOut:
    """Uphold (the grade is corrected and publicised afresh) or dismiss (publicity resumes) — with
    written reasons either way (art. 46). While another objection on the rating is still open, the
    rating stays disputed."""
    _require(actor, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
    rows = await fetch("SELECT * FROM rating_objection WHERE id = {}", objection_id)
    if not rows:
        raise NotFound()
    objection = rows[0]
    r = await _proposal_in_scope(actor, objection["proposal"], purpose="rating_objection",
                                 fields=("rating", "objection"), request_id=request_id)
    if objection["status"] != "open":
        raise _objection_resolved()
    period = await _period(r["period"])
    if data.decision == "uphold" and (data.grade is None
                                      or data.grade not in _valid_grades(r["level"], period)):
        raise InvalidInput("支持异议时须给出更正后的等级", "Upholding needs the corrected grade", code="RATINGS_GRADE")
    now = clock.now()
    today = clock.local_date(now)
    calendar = await work_calendar()
    async with engine_finder().transaction():
        # Lock order: the proposal, then its objection (object_to locks the proposal too).
        locked = await _lock_proposal(r["id"])
        current = (await fetch("SELECT status FROM rating_objection WHERE id = {} FOR UPDATE", objection_id))[0]
        if current["status"] != "open":  # decided meanwhile
            raise _objection_resolved()
        if locked["status"] != t.DISPUTED:
            raise Conflict("该评定当前不处于异议状态", "The rating is not disputed", code="RATINGS_NOT_DISPUTED",
                           details={"status": locked["status"]})
        still_open = (await fetch("SELECT count(*) AS n FROM rating_objection WHERE proposal = {} AND status = 'open' "
                                  "AND id <> {}", r["id"], objection_id))[0]["n"]
        to_status = t.DISPUTED if still_open else t.PUBLICISED
        if data.decision == "uphold":
            ends = calendar.add_working_days(today, _approval_rules(period).publicity_working_days)
            await _set(r["id"], {t.RatingProposal.grade: data.grade, t.RatingProposal.change_reason: data.reason,
                                 t.RatingProposal.is_credit: data.grade != "none",
                                 t.RatingProposal.status: to_status, t.RatingProposal.publicity_starts_on: today,
                                 t.RatingProposal.publicity_ends_on: ends})
            await _decide(r["id"], "objection_upheld", actor, t.DISPUTED, to_status, data.grade, data.reason)
        else:
            await _set(r["id"], {t.RatingProposal.status: to_status})
            await _decide(r["id"], "objection_dismissed", actor, t.DISPUTED, to_status, reason=data.reason)
        await t.RatingObjection.update({
            t.RatingObjection.status: "upheld" if data.decision == "uphold" else "dismissed",
            t.RatingObjection.resolution_reason: data.reason,
            t.RatingObjection.resolution_grade: data.grade if data.decision == "uphold" else "",
            t.RatingObjection.resolved_by: actor.id, t.RatingObjection.resolved_at: now,
            t.RatingObjection.resolved_on: today,
        }).where(t.RatingObjection.id == objection_id)
        await webhook_outbox.emit_objection_decided(objection_id)
        await notices.notify_rating_objection_decided(objection["county_id"], objection_id)
    return await _objection(objection_id)


async def finalize(today: date | None = None, *, actor: Actor | None = None) -> int:
    """Publicity over and no open objection → effective (idempotent; run daily by the worker for
    every county). With an ``actor`` (a county admin), only that county's ratings, and the decision
    log names them."""
    today = today or clock.today()
    county_filter, args = "", []
    if actor is not None:
        _require(actor, Role.COUNTY_ADMIN)
        county_filter, args = "AND p.period IN (SELECT id FROM rating_period WHERE county = {})", [actor.county_id]
    async with engine_finder().transaction():
        # The status check runs again on each row after any lock wait (READ COMMITTED), so a rating
        # an objection has just taken hold of is skipped; the objection check covers any open
        # objection whatever the status says.
        rows = await fetch(
            f"""UPDATE rating_proposal p SET status = 'effective', effective_on = {{}}
                WHERE p.status = 'publicised' AND p.publicity_ends_on < {{}} {county_filter}
                  AND NOT EXISTS (SELECT 1 FROM rating_objection o WHERE o.proposal = p.id AND o.status = 'open')
                RETURNING p.id, p.county_id""", today, today, *args)
        if rows:
            await transaction_connection().copy_records_to_table(
                "rating_decision",
                records=[(r["county_id"], r["id"], "effective", actor.id if actor else None, t.PUBLICISED, t.EFFECTIVE)
                         for r in rows],
                columns=["county_id", "proposal", "action", "actor", "from_status", "to_status"])
            await webhook_outbox.emit_ratings_effective([r["id"] for r in rows])
    return len(rows)


async def official_ratings(level: str, subject_id: int, county_id: int) -> list[dict]:
    """Effective ratings of a subject, newest period first — the only ratings others may rely on —
    each with its period's ``period_code`` and ``period_ends_on``."""
    return await fetch(
        """SELECT p.*, pe.code AS period_code, pe.ends_on AS period_ends_on
           FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
           WHERE p.county_id = {} AND p.level = {} AND p.subject_id = {} AND p.status = 'effective'
           ORDER BY pe.ends_on DESC""",
        county_id, level, subject_id)
