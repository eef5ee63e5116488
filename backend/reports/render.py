"""The report's two forms, both from the stored figures only: an Excel workbook (one sheet per
section, in the one layout of ``backend.sheets``) and a printable HTML page (inline CSS and SVG
charts from ``backend.charts.svg``; nothing loaded from elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from backend.reports.figures import CUT_ZH
from backend.charts.svg import GRADE_ORDER, bar_chart, grade_distribution_chart
from backend.sheets import XLSX, Sheet, report_workbook

DASH = "—"


def office_name(figures: dict) -> str:
    """The issuing office: the county's 信用办 (its name from the registry)."""
    return f"{figures['county']['name']}社会信用体系建设领导小组办公室（信用办）"


def _pct(value: str | None) -> str:
    return DASH if value is None else f"{value}%"


def _hours(value: str | None) -> str:
    return DASH if value is None else value


def _grade_zh(level: str, grade: str) -> str:
    """A grade as the report prints it: households keep their letter grades; "credit" / "none" say
    what they mean at each level."""
    if grade == "credit":
        return {"household": "信用户", "village": "信用村", "township": "信用乡镇"}.get(level, "达标")
    if grade == "none":
        return {"household": "非信用户"}.get(level, "未达标")
    return f"{grade}级" if level == "household" else grade


@dataclass(frozen=True)
class Layout:
    key: str
    sheet_title: str
    title_zh: str
    header: tuple[str, ...]
    widths: tuple[int, ...]
    row: Callable[[dict], list]
    total: Callable[[dict], list] | None = None


LAYOUTS = (
    Layout("collection", "1 信用信息归集", "信用信息归集情况（按目录类别和正负面）", ("目录类别", "正负面", "事件数"), (24, 16, 12),
           lambda r: [r["category"], r["direction_zh"], r["events"]],
           lambda s: ["合计", f"正面{s['positive']}、负面{s['negative']}", s["events"]]),
    Layout("timeliness", "2 及时性", "信用信息报送及时性（录入时限内录入的比例）",
           ("层级", "代码", "名称", "所属乡镇", "录入事件", "逾期录入", "按时录入", "按时录入率"), (8, 16, 18, 16, 10, 10, 10, 12),
           lambda r: ["乡镇" if r["level"] == "township" else "网格", r["code"], r["name"], r["township"], r["events"],
                      r["late"], r["on_time"], _pct(r["on_time_percent"])],
           lambda s: ["全县", "", "合计", "", s["events"], s["late"], s["on_time"], _pct(s["on_time_percent"])]),
    Layout("reviews", "3 审核", "信用事件审核情况（半年内作出的审核决定）",
           ("乡镇代码", "乡镇", "审核决定", "通过", "驳回", "录入至审核中位用时（小时）"), (14, 16, 10, 10, 10, 22),
           lambda r: [r["code"], r["name"], r["decided"], r["approved"], r["rejected"], _hours(r["median_hours"])],
           lambda s: ["", "全县合计", s["decided"], s["approved"], s["rejected"], _hours(s["median_hours"])]),
    Layout("objections", "4 异议", "异议受理与办结情况（7个工作日内办结）",
           ("异议类型", "受理", "办结", "予以更正", "不予更正", "按期办结", "逾期办结", "按期办结率", "期末未办结", "其中已逾期"),
           (16, 8, 8, 10, 10, 10, 10, 12, 12, 12),
           lambda r: [r["kind_zh"], r["filed"], r["decided"], r["upheld"], r["not_upheld"], r["decided_on_time"],
                      r["decided_late"], _pct(r["on_time_percent"]), r["open_at_end"], r["overdue_at_end"]]),
    Layout("repairs", "5 信用修复", "信用修复申请办理情况（按修复方式）",
           ("修复方式", "受理申请", "准予修复", "不予修复", "撤回", "期末未办结"), (16, 10, 10, 10, 8, 12),
           lambda r: [r["route_zh"], r["filed"], r["granted"], r["refused"], r["withdrawn"], r["open_at_end"]],
           lambda s: ["合计", s["filed"], s["granted"], s["refused"], s["withdrawn"], s["open_at_end"]]),
    Layout("ratings", "6 信用户村乡镇", "信用户、信用村、信用乡镇（期末生效评级，与上半年度末比较）",
           ("层级", "等级", "期末数", "上期末数", "增减"), (12, 10, 10, 10, 10),
           lambda r: [r["level_zh"], _grade_zh(r["level"], r["grade"]), r["count"], r["previous"], r["change"]]),
    Layout("bank_pulls", "7 银行查询", "金融机构查询评级情况（须经农户授权）", ("金融机构", "结果", "查询次数"), (28, 14, 10),
           lambda r: [r["bank"], r["outcome_zh"], r["pulls"]],
           lambda s: ["合计", "", s["pulls"]]),
    Layout("measures", "8 激励惩戒", "守信激励与失信惩戒措施实施情况（按措施清单）",
           ("措施代码", "版本", "类型", "措施名称", "名单数", "名单条目", "涉及农户"), (14, 6, 8, 30, 8, 10, 10),
           lambda r: [r["code"], r["version"], r["kind_zh"], r["name_zh"], r["lists"], r["entries"], r["households"]],
           lambda s: ["合计", "", "", "", s["lists"], s["entries"], ""]),
)


def _note(figures: dict) -> str:
    provisional = (f"临时报告：半年度至{figures['period_ends_on']}结束，本报告数据截至{figures['ends_on']}；"
                   if figures.get("provisional") else "")
    return (f"报告期：{figures['period_name_zh']}（{figures['starts_on']}至{figures['ends_on']}）；{provisional}"
            f"数据口径：{CUT_ZH}；仅统计汇总数，不含个人信息")


def _rows(layout: Layout, section: dict) -> list[list]:
    rows = [layout.row(r) for r in section["rows"]]
    if layout.total is not None:
        rows.append(layout.total(section["summary"]))
    return rows


def _workbook(figures: dict) -> bytes:
    office, note = office_name(figures), _note(figures)
    return report_workbook([
        Sheet(layout.sheet_title, f"{office}　{figures['period_name_zh']}{layout.title_zh}", note, layout.header,
              layout.widths, _rows(layout, figures["sections"][layout.key]))
        for layout in LAYOUTS])


async def workbook(figures: dict) -> bytes:
    return await asyncio.to_thread(_workbook, figures)


# --- the print page ------------------------------------------------------------------------------

CSS = """
body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif;
       color: #1A1A1A; margin: 24px auto; max-width: 960px; line-height: 1.5; }
h1 { font-size: 22px; text-align: center; margin: 0 0 4px; }
.office { text-align: center; font-size: 15px; margin: 0 0 4px; }
.note { font-size: 12px; color: #595959; margin: 0 0 16px; }
h2 { font-size: 17px; border-bottom: 2px solid #0072B2; padding-bottom: 2px; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-bottom: 8px; }
th, td { border: 1px solid #BDBDBD; padding: 3px 6px; text-align: left; }
th { background: #F0F4F8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
figure { margin: 8px 0; }
.fingerprint { font-size: 11px; color: #595959; word-break: break-all; margin-top: 24px; }
@media print {
  body { margin: 0; max-width: none; }
  section { break-inside: avoid-page; }
  h2 { break-after: avoid; }
  .noprint { display: none; }
  @page { size: A4; margin: 15mm; }
}
"""


def _cell(value: object) -> str:
    cls = ' class="n"' if isinstance(value, int) and not isinstance(value, bool) else ""
    return f"<td{cls}>{escape(str(value))}</td>"


def _table(layout: Layout, section: dict) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in layout.header)
    body = [f"<tr>{''.join(_cell(v) for v in layout.row(r))}</tr>" for r in section["rows"]]
    if layout.total is not None:
        body.append(f'<tr class="total">{"".join(_cell(v) for v in layout.total(section["summary"]))}</tr>')
    if not section["rows"]:
        body.insert(0, f'<tr><td colspan="{len(layout.header)}">本期无数据</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _permille(percent: str | None) -> int:
    return 0 if percent is None else int(percent.replace(".", ""))


def charts(figures: dict) -> dict[str, str]:
    """The page's charts: events by category, the on-time share per township, households by grade."""
    s = figures["sections"]
    by_category: dict[str, int] = {}
    for r in s["collection"]["rows"]:
        by_category[f"{r['category']}（{'正' if r['direction'] == 'positive' else '负'}）"] = r["events"]
    towns = [r for r in s["timeliness"]["rows"] if r["level"] == "township"]
    grades = {g: 0 for g in GRADE_ORDER}
    for r in s["ratings"]["rows"]:
        if r["level"] == "household":
            grades[r["grade"] if r["grade"] in GRADE_ORDER else "none"] += r["count"]
    return {
        "collection": bar_chart("信用信息归集：各类别事件数", list(by_category.items()), unit=" 件"),
        "timeliness": bar_chart("各乡镇按时录入率", [(r["name"], _permille(r["on_time_percent"])) for r in towns],
                                scale_max=1000, shown=[_pct(r["on_time_percent"]) for r in towns]),
        "ratings": grade_distribution_chart("期末信用户等级分布（生效评级）", [("全县", grades)] if sum(grades.values()) else []),
    }


def page(figures: dict, sha256: str) -> str:
    office = office_name(figures)
    title = f"{figures['county']['name']}{figures['period_name_zh']}社会信用体系建设工作情况报告"
    drawn = charts(figures)
    parts = []
    for layout in LAYOUTS:
        section = figures["sections"][layout.key]
        chart = f'<figure>{drawn[layout.key]}</figure>' if layout.key in drawn else ""
        parts.append(f"<section><h2>{escape(layout.sheet_title)}　{escape(layout.title_zh)}</h2>{chart}"
                     f"{_table(layout, section)}</section>")
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>"
            f'<p class="office">{escape(office)}</p><h1>{escape(title)}</h1>'
            f'<p class="note">{escape(_note(figures))}</p>'
            f"{''.join(parts)}"
            f'<p class="fingerprint">数据指纹（SHA-256）：{escape(sha256)}</p></body></html>')
