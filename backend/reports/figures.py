"""The eight sections of the semi-annual report, one query function each.

The cut (what "in the half-year" means, so that a later build gives the same figures):
every record counts by the day it was *written* — an event by ``recorded_on``, a review by its
``reviewed_at``, an objection by the day it was filed and the day it was decided, a repair likewise,
a bank pull by its ``created_at``, an eligibility list by its ``finished_at``, a rating by its
``effective_on`` — all local dates in the configured zone (``Asia/Shanghai``), never "now". Nothing
reads the current status of a case where a later change of status could change a past half-year:
"open at the end of the half-year" is "filed by then and not decided by then", from the dates.

Aggregates only: counts per category, township, grid, route, bank or measure — no row names a
person, so no read is logged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta

from backend import clock
from backend.db import fetch
from backend.ledger.catalogue import catalogues
from points_rules.objections import DecidedCase, on_time_rates
from points_rules.reports import HalfYear, hours, median, share_percent

CUT = "recorded_in_half_year"
CUT_ZH = ("按记录写入日统计：事件按录入日期，审核按审核时间，异议与修复按受理日和办结日，银行查询按查询时间，"
          "名单按生成完成时间，评级按生效日期（均按北京时间）")
DIRECTION_ZH = {"positive": "正面（守信）", "negative": "负面（失信）", "unknown": "未知"}
LEVEL_ZH = {"household": "信用户", "village": "信用村", "township": "信用乡镇"}
OUTCOME_ZH = {"rated": "已提供评级", "check_failed": "核验未通过", "refused": "拒绝"}


def instants(h: HalfYear) -> tuple[datetime, datetime]:
    """The half-year as instants: local midnight of its first day, and of the day after its last."""
    zone = clock.zone()
    return (datetime.combine(h.starts_on, time(0), tzinfo=zone),
            datetime.combine(h.ends_on + timedelta(days=1), time(0), tzinfo=zone))


async def _townships(county_id: int) -> list[dict]:
    return await fetch("SELECT id, code, name FROM township WHERE county = {} ORDER BY code", county_id)


# --- 1 信用信息归集 ---------------------------------------------------------------------------------

async def collection(county_id: int, h: HalfYear) -> dict:
    """Events recorded in the half-year, by catalogue category and direction (the catalogue version
    that scored each event says which), whatever became of them later."""
    rows = await fetch("""SELECT item_code, catalogue_version, occurred_on, count(*) AS n FROM credit_event
                          WHERE county_id = {} AND recorded_on BETWEEN {} AND {}
                          GROUP BY item_code, catalogue_version, occurred_on""", county_id, h.starts_on, h.ends_on)
    cats = catalogues(county_id)
    by_version = {v.version: v for v in cats.versions}
    counts: Counter[tuple[str, str]] = Counter()
    for r in rows:
        version = by_version.get(r["catalogue_version"])
        item = version.item(r["item_code"]) if version is not None and version.has_item(r["item_code"]) else None
        counts[(item.category, item.direction) if item else ("未知事项", "unknown")] += r["n"]
    out = [{"category": c, "direction": d, "direction_zh": DIRECTION_ZH.get(d, d), "events": n}
           for (c, d), n in sorted(counts.items(), key=lambda kv: (kv[0][1] != "positive", kv[0][1], kv[0][0]))]
    by_direction = {d: sum(n for (_, dd), n in counts.items() if dd == d) for d in ("positive", "negative")}
    return {"rows": out, "summary": {"events": sum(counts.values()), **by_direction}}


# --- 2 及时性 ---------------------------------------------------------------------------------------

async def timeliness(county_id: int, h: HalfYear) -> dict:
    """Events recorded in the half-year and how many of them late (after the recording window, the
    event's ``late`` flag), per township (all of the county's) and per grid (those with events)."""
    townships = await _townships(county_id)
    by_township = {r["township_id"]: r for r in await fetch(
        """SELECT township_id, count(*) AS events, count(*) FILTER (WHERE late) AS late FROM credit_event
           WHERE county_id = {} AND recorded_on BETWEEN {} AND {} GROUP BY township_id""",
        county_id, h.starts_on, h.ends_on)}
    grids = await fetch(
        """SELECT g.code, g.name, t.name AS township_name, count(*) AS events, count(*) FILTER (WHERE e.late) AS late
           FROM credit_event e JOIN grid g ON g.county_id = e.county_id AND g.id = e.grid_id
           JOIN township t ON t.id = e.township_id
           WHERE e.county_id = {} AND e.recorded_on BETWEEN {} AND {}
           GROUP BY g.code, g.name, t.name ORDER BY g.code""", county_id, h.starts_on, h.ends_on)

    def row(level: str, code: str, name: str, township: str, events: int, late: int) -> dict:
        return {"level": level, "code": code, "name": name, "township": township, "events": events, "late": late,
                "on_time": events - late, "on_time_percent": share_percent(events - late, events)}

    out = [row("township", t["code"], t["name"], t["name"], by_township.get(t["id"], {}).get("events", 0),
               by_township.get(t["id"], {}).get("late", 0)) for t in townships]
    out += [row("grid", g["code"], g["name"], g["township_name"], g["events"], g["late"]) for g in grids]
    events = sum(r["events"] for r in by_township.values())
    late = sum(r["late"] for r in by_township.values())
    return {"rows": out, "summary": {"events": events, "late": late, "on_time": events - late,
                                     "on_time_percent": share_percent(events - late, events)}}


# --- 3 审核 -----------------------------------------------------------------------------------------

async def reviews(county_id: int, h: HalfYear) -> dict:
    """Review decisions made in the half-year (``reviewed_at``): approved (whatever happened to the
    event since) or rejected, and the median time from recording (``created_at``) to the decision."""
    start, end = instants(h)
    rows = await fetch(
        """SELECT township_id, status = 'rejected' AS rejected,
                  floor(extract(epoch FROM reviewed_at - created_at))::bigint AS seconds
           FROM credit_event WHERE county_id = {} AND reviewed_at >= {} AND reviewed_at < {}""", county_id, start, end)
    townships = await _townships(county_id)

    def figures(cases: list[dict]) -> dict:
        rejected = sum(1 for c in cases if c["rejected"])
        return {"decided": len(cases), "approved": len(cases) - rejected, "rejected": rejected,
                "median_hours": hours(median([max(c["seconds"], 0) for c in cases]))}

    out = [{"code": t["code"], "name": t["name"], **figures([r for r in rows if r["township_id"] == t["id"]])}
           for t in townships]
    return {"rows": out, "summary": figures(rows)}


# --- 4 异议 -----------------------------------------------------------------------------------------

def _objection_row(kind: str, kind_zh: str, filed: int, decided: list[dict], still_open: list[dict],
                   h: HalfYear) -> dict:
    """Decided on time by ``points_rules.objections.on_time_rates`` (the one rule for every
    objection): the cases decided in the half-year with their decision day, and those open at its
    end as open (overdue: past their deadline on its last day)."""
    cases = [DecidedCase(c["township_id"], c["respond_by"], c["decided_on"]) for c in decided if c["respond_by"]]
    cases += [DecidedCase(c["township_id"], c["respond_by"], None) for c in still_open if c["respond_by"]]
    rates = on_time_rates(cases, h.ends_on)
    on_time = sum(r.decided_on_time for r in rates)
    late = sum(r.decided_late for r in rates)
    return {"kind": kind, "kind_zh": kind_zh, "filed": filed, "decided": len(decided),
            "upheld": sum(1 for c in decided if c["upheld"]), "not_upheld": sum(1 for c in decided if not c["upheld"]),
            "decided_on_time": on_time, "decided_late": late, "on_time_percent": share_percent(on_time, on_time + late),
            "open_at_end": len(still_open), "overdue_at_end": sum(r.open_overdue for r in rates)}


async def objections(county_id: int, h: HalfYear) -> dict:
    """Entry objections (``entry_objection``) and rating objections (``rating_objection``): filed in
    the half-year, decided in it (upheld or not, on time or late) and open at its end."""
    s, e = h.starts_on, h.ends_on
    entry = await fetch(
        """SELECT township_id, filed_on, decided_on, respond_by, status = 'upheld' AS upheld FROM entry_objection
           WHERE county_id = {} AND filed_on <= {} AND (filed_on >= {} OR decided_on IS NULL OR decided_on >= {})""",
        county_id, e, s, s)
    zone = clock.zone().key
    rating = await fetch(
        """SELECT p.township_id, (o.raised_at AT TIME ZONE {})::date AS filed_on,
                  (o.resolved_at AT TIME ZONE {})::date AS decided_on, o.respond_by, o.status = 'upheld' AS upheld
           FROM rating_objection o JOIN rating_proposal p ON p.county_id = o.county_id AND p.id = o.proposal
           WHERE o.county_id = {} AND (o.raised_at AT TIME ZONE {})::date <= {}""", zone, zone, county_id, zone, e)
    out = []
    for kind, kind_zh, cases in (("entry", "信用记录异议", entry), ("rating", "评级异议", rating)):
        filed = sum(1 for c in cases if s <= c["filed_on"] <= e)
        decided = [c for c in cases if c["decided_on"] is not None and s <= c["decided_on"] <= e]
        still_open = [c for c in cases if c["decided_on"] is None or c["decided_on"] > e]
        out.append(_objection_row(kind, kind_zh, filed, decided, still_open, h))
    return {"rows": out, "summary": {k: sum(r[k] for r in out) for k in
                                     ("filed", "decided", "decided_on_time", "decided_late", "open_at_end")}}


# --- 5 信用修复 -------------------------------------------------------------------------------------

ROUTE_ZH = {"commitment": "信用承诺", "rectification": "整改", "training": "培训", "public_interest": "公益活动"}


async def repairs(county_id: int, h: HalfYear) -> dict:
    """Repair applications per route: filed in the half-year, granted / refused / withdrawn in it
    (``decided_on``), and still undecided at its end."""
    s, e = h.starts_on, h.ends_on
    rows = await fetch(
        """SELECT route,
                  count(*) FILTER (WHERE filed_on BETWEEN {} AND {}) AS filed,
                  count(*) FILTER (WHERE status = 'approved' AND decided_on BETWEEN {} AND {}) AS granted,
                  count(*) FILTER (WHERE status = 'refused' AND decided_on BETWEEN {} AND {}) AS refused,
                  count(*) FILTER (WHERE status = 'withdrawn' AND decided_on BETWEEN {} AND {}) AS withdrawn,
                  count(*) FILTER (WHERE decided_on IS NULL OR decided_on > {}) AS open_at_end
           FROM repair_application WHERE county_id = {} AND filed_on <= {} GROUP BY route ORDER BY route""",
        s, e, s, e, s, e, s, e, e, county_id, e)
    keys = ("filed", "granted", "refused", "withdrawn", "open_at_end")
    out = [{"route": r["route"], "route_zh": ROUTE_ZH.get(r["route"], r["route"]), **{k: r[k] for k in keys}}
           for r in rows if any(r[k] for k in keys)]
    return {"rows": out, "summary": {k: sum(r[k] for r in out) for k in keys}}


# --- 6 信用户 / 信用村 / 信用乡镇 ---------------------------------------------------------------------

async def _effective_on(county_id: int, day) -> list[dict]:
    """Each subject's official rating on ``day``: its latest effective rating with ``effective_on``
    on or before the day (the newest period first)."""
    return await fetch(
        """SELECT DISTINCT ON (p.level, p.subject_id) p.level, p.subject_id, p.grade, p.is_credit
           FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
           WHERE p.county_id = {} AND p.status = 'effective' AND p.effective_on <= {}
           ORDER BY p.level, p.subject_id, pe.ends_on DESC, p.effective_on DESC, p.id DESC""", county_id, day)


async def ratings(county_id: int, h: HalfYear) -> dict:
    """Effective ratings at the end of the half-year by level and grade, against the end of the
    previous half-year; per level the credit households / villages / townships and their change."""
    now = await _effective_on(county_id, h.ends_on)
    before = await _effective_on(county_id, h.previous().ends_on)
    count_now = Counter((r["level"], r["grade"]) for r in now)
    count_before = Counter((r["level"], r["grade"]) for r in before)
    order = {level: i for i, level in enumerate(LEVEL_ZH)}
    out = [{"level": level, "level_zh": LEVEL_ZH.get(level, level), "grade": grade, "count": count_now[(level, grade)],
            "previous": count_before[(level, grade)], "change": count_now[(level, grade)] - count_before[(level, grade)]}
           for level, grade in sorted(set(count_now) | set(count_before), key=lambda k: (order.get(k[0], 9), k))]
    summary = {}
    for level in LEVEL_ZH:
        credit = sum(1 for r in now if r["level"] == level and r["is_credit"])
        previous = sum(1 for r in before if r["level"] == level and r["is_credit"])
        summary[level] = {"rated": sum(1 for r in now if r["level"] == level), "credit": credit,
                          "credit_previous": previous, "change": credit - previous}
    return {"rows": out, "summary": summary}


# --- 7 银行查询 -------------------------------------------------------------------------------------

async def bank_pulls(county_id: int, h: HalfYear) -> dict:
    """Banks' rating pulls made in the half-year, by bank (the consent recipient, else the bank
    client) and outcome."""
    start, end = instants(h)
    rows = await fetch(
        """SELECT coalesce(r.name_zh, b.name) AS bank, p.outcome, count(*) AS pulls
           FROM bank_rating_pull p JOIN bank_client b ON b.id = p.bank_client
           LEFT JOIN consent_recipient r ON r.id = p.recipient_id
           WHERE p.county_id = {} AND p.created_at >= {} AND p.created_at < {}
           GROUP BY 1, 2 ORDER BY 1, 2""", county_id, start, end)
    out = [{"bank": r["bank"], "outcome": r["outcome"], "outcome_zh": OUTCOME_ZH.get(r["outcome"], r["outcome"]),
            "pulls": r["pulls"]} for r in rows]
    by_outcome: dict[str, int] = defaultdict(int)
    for r in out:
        by_outcome[r["outcome"]] += r["pulls"]
    return {"rows": out, "summary": {"pulls": sum(by_outcome.values()), "by_outcome": dict(sorted(by_outcome.items()))}}


# --- 8 激励惩戒 -------------------------------------------------------------------------------------

KIND_ZH = {"incentive": "激励", "restriction": "惩戒"}


async def measures(county_id: int, h: HalfYear) -> dict:
    """Measures applied by list: eligibility lists finished in the half-year, per measure version —
    how many lists, how many list entries, how many distinct households."""
    start, end = instants(h)
    rows = await fetch(
        """SELECT m.code, m.version, m.kind, m.name_zh, count(DISTINCT l.id) AS lists,
                  count(x.id) AS entries, count(DISTINCT x.household_id) AS households
           FROM eligibility_list l JOIN measure m ON m.id = l.measure
           LEFT JOIN eligibility_list_entry x ON x.county_id = {} AND x.list = l.id
           WHERE l.county = {} AND l.status = 'done' AND l.finished_at >= {} AND l.finished_at < {}
           GROUP BY m.code, m.version, m.kind, m.name_zh ORDER BY m.kind, m.code, m.version""",
        county_id, county_id, start, end)
    out = [{"code": r["code"], "version": r["version"], "kind": r["kind"], "kind_zh": KIND_ZH.get(r["kind"], r["kind"]),
            "name_zh": r["name_zh"], "lists": r["lists"], "entries": r["entries"], "households": r["households"]}
           for r in rows]
    return {"rows": out, "summary": {"lists": sum(r["lists"] for r in out), "entries": sum(r["entries"] for r in out)}}


Section = Callable[[int, HalfYear], Awaitable[dict]]
SECTIONS: list[tuple[str, Section]] = [
    ("collection", collection), ("timeliness", timeliness), ("reviews", reviews), ("objections", objections),
    ("repairs", repairs), ("ratings", ratings), ("bank_pulls", bank_pulls), ("measures", measures),
]
