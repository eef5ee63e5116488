"""通知 — what a villager is told about their credit record, as pure rules: no clock, no I/O.

Each kind of notice has an in-app text (title and body, in Chinese, with the facts: the item, the
points, the dates, the deadline and how to object) and an *external* text — what may leave the
platform by SMS or a WeChat subscription message. The external text never carries the content of a
record: for ledger events, objections, repairs, bank pulls and commitments it is exactly
:data:`CONTENT_FREE`; for a rating entering publicity it may add the objection deadline's date,
never the grade.

Quiet hours (:func:`next_send_time`) hold external sends until they end; the in-app notice is
immediate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = [
    "CONTENT_FREE",
    "KINDS",
    "Message",
    "bank_pull",
    "commitment_due",
    "event_decided",
    "event_recorded",
    "in_quiet_hours",
    "news_since",
    "next_send_time",
    "objection_decided",
    "parse_clock",
    "publicity",
    "rating_objection_decided",
    "repair_decided",
    ]

CONTENT_FREE = "您有一条新的信用信息，请登录村信查看"
HOW_TO_OBJECT = "如有异议，请在村信“我的 → 对评定结果提出异议”中提出，或向村委会、乡镇提交书面异议。"
RECENT_DAYS = 30  # an imported event older than this is history, not news: no notice (see news_since)

EVENT_RECORDED = "event_recorded"
EVENT_PENDING = "event_pending"
EVENT_APPROVED = "event_approved"
EVENT_REJECTED = "event_rejected"
PUBLICITY = "rating_publicity"
RATING_OBJECTION_DECIDED = "rating_objection_decided"
OBJECTION_DECIDED = "objection_decided"
REPAIR_DECIDED = "repair_decided"
BANK_PULL = "bank_pull"
COMMITMENT_DUE = "commitment_due"
KINDS = (EVENT_RECORDED, EVENT_PENDING, EVENT_APPROVED, EVENT_REJECTED, PUBLICITY, RATING_OBJECTION_DECIDED,
         OBJECTION_DECIDED, REPAIR_DECIDED, BANK_PULL, COMMITMENT_DUE)

GRADE_NAMES_ZH = {"AAA": "AAA 级", "AA": "AA 级", "A": "A 级", "B": "B 级", "C": "C 级", "none": "未评定为信用户"}


@dataclass(frozen=True)
class Message:
    """One notice: its kind, the in-app title and body, the phone app's route, and the text that
    may leave the platform."""

    kind: str
    title_zh: str
    body_zh: str
    link: str | None
    external_text: str = CONTENT_FREE


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _whose(household: bool) -> str:
    return "您家" if household else "您"


def event_recorded(*, item_name_zh: str, occurred_on: date, points: str | None, pending_review: bool,
                   household: bool = False) -> Message:
    """A credit event about the person (or their household) was recorded: counted at once, or
    waiting for the township's review. ``points`` as the API shows them ("+2.5", "-10.0")."""
    what = f"{_day(occurred_on)}的“{item_name_zh}”"
    if pending_review:
        return Message(EVENT_PENDING, "新的信用记录待审核",
                       f"{_whose(household)}有一条信用记录已登记：{what}，正在等待乡镇审核，审核通过后才计分。"
                       "如对记录有疑问，可在村信中查看详情。", "/me")
    scored = f"，积分 {points}" if points is not None else ""
    return Message(EVENT_RECORDED, "新的信用记录",
                   f"{_whose(household)}有一条信用记录已登记：{what}{scored}。"
                   "如认为记录有误，可在村信“我的”中对该记录提出异议。", "/me")


def event_decided(*, item_name_zh: str, occurred_on: date, approved: bool, points: str | None, reason: str,
                  household: bool = False) -> Message:
    """The township's review of a pending event: approved (it counts now) or rejected (with reasons)."""
    what = f"{_day(occurred_on)}的“{item_name_zh}”"
    if approved:
        scored = f"，积分 {points}" if points is not None else ""
        return Message(EVENT_APPROVED, "信用记录审核通过",
                       f"{_whose(household)}的信用记录{what}经乡镇审核通过{scored}。"
                       "如认为记录有误，可在村信“我的”中对该记录提出异议。", "/me")
    why = f"理由：{reason}" if reason else ""
    return Message(EVENT_REJECTED, "信用记录未予认定",
                   f"{_whose(household)}的信用记录{what}经乡镇审核未予认定，不计分。{why}", "/me")


def publicity(*, period_name_zh: str, grade: str, publicity_ends_on: date) -> Message:
    """The household's rating entered publicity (公示): the grade in-app; outside only the deadline."""
    grade_zh = GRADE_NAMES_ZH.get(grade, grade)
    return Message(
        PUBLICITY, "信用评定结果公示",
        f"您家在“{period_name_zh}”中的评定结果为：{grade_zh}，现已进入公示，公示截止{_day(publicity_ends_on)}。"
        f"公示期内可提出异议，截止日后不再受理。{HOW_TO_OBJECT}",
        "/rating-objection",
        f"您家的信用评定结果已进入公示，异议截止{_day(publicity_ends_on)}，请登录村信查看")


def rating_objection_decided(*, period_name_zh: str, upheld: bool, grade: str, reason: str,
                             publicity_ends_on: date | None) -> Message:
    """A household's objection to its rating was decided: upheld (corrected, publicised afresh) or dismissed."""
    if upheld:
        again = (f"更正后的结果重新公示，公示截止{_day(publicity_ends_on)}。{HOW_TO_OBJECT}"
                 if publicity_ends_on else "")
        body = (f"对“{period_name_zh}”评定结果的异议经审核成立，等级更正为{GRADE_NAMES_ZH.get(grade, grade)}。"
                f"{again}理由：{reason}")
    else:
        body = f"对“{period_name_zh}”评定结果的异议经审核不成立，原评定结果继续公示。理由：{reason}"
    return Message(RATING_OBJECTION_DECIDED, "评定异议处理结果", body, "/rating-objection")


def objection_decided(*, objection_id: int, item_name_zh: str, upheld: bool, reason: str) -> Message:
    """An objection to a ledger entry was decided: upheld (the entry is corrected) or refused."""
    outcome = "成立，该记录已更正" if upheld else "不成立，该记录继续有效"
    return Message(OBJECTION_DECIDED, "异议处理结果",
                   f"对信用记录“{item_name_zh}”的异议（第{objection_id}号）经审核{outcome}。理由：{reason}",
                   f"/objections/{objection_id}")


def repair_decided(*, repair_id: int, item_name_zh: str, approved: bool, reason: str) -> Message:
    """A credit-repair application (信用修复) was decided."""
    outcome = "已批准，该记录不再计入信用积分（记录本身保留）" if approved else "未获批准"
    return Message(REPAIR_DECIDED, "信用修复申请结果",
                   f"关于“{item_name_zh}”的信用修复申请（第{repair_id}号）{outcome}。理由：{reason}", "/me")


def bank_pull(*, bank_name_zh: str, at: datetime, consent_id: int, product_code: str) -> Message:
    """A bank read the household's rating under the household's consent (授权查询)."""
    when = f"{_day(at.date())} {at.hour:02d}:{at.minute:02d}"
    return Message(BANK_PULL, "银行查询了您家的信用评定",
                   f"{bank_name_zh}于{when}依据您家的授权（第{consent_id}号）查询了您家的信用评定结果"
                   f"（产品：{product_code}）。查询记录可在村信“我的 → 谁查看了我的信息”中查看；如未授权或想撤回授权，"
                   "可在“我的授权”中撤回。", "/me")


def commitment_due(*, title_zh: str, check_on: date) -> Message:
    """A signed commitment's check date is near."""
    return Message(COMMITMENT_DUE, "信用承诺即将到期",
                   f"您签署的“{title_zh}”将于{_day(check_on)}到期核查，请按承诺事项履行。", "/me")


def news_since(today: date, *, recent_days: int = RECENT_DAYS) -> date:
    """The first day an *imported* event is news on: a county importing years of history must not
    send thousands of villagers a notice each about old records they can look up anyway. (Live
    recording, batches and feeds notify whatever the event's date: someone is telling them now.)"""
    return today - timedelta(days=recent_days)


# --- quiet hours -------------------------------------------------------------------------------------


def parse_clock(text: str) -> time:
    """"21:00" → 21:00 (a setting's value); anything else raises ValueError."""
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(local: time, quiet_start: time, quiet_end: time) -> bool:
    """Whether a local time of day lies in [start, end); a window may cross midnight (21:00–08:00);
    start == end means no quiet hours."""
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def next_send_time(now: datetime, quiet_start: time, quiet_end: time) -> datetime:
    """The earliest instant at or after ``now`` (aware, in the county's zone) outside quiet hours:
    ``now`` itself, or the end of the quiet hours it falls in (the same day or the next)."""
    local = now.time().replace(tzinfo=None)
    if not in_quiet_hours(local, quiet_start, quiet_end):
        return now
    day = now.date()
    if quiet_start > quiet_end and local >= quiet_start:  # the evening part: ends tomorrow morning
        day += timedelta(days=1)
    return datetime.combine(day, quiet_end, tzinfo=now.tzinfo)
