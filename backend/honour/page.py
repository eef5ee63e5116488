"""The honour roll as a phone-readable Chinese page: one column, large text, no script, nothing
loaded from anywhere (inline style only, which the page CSP allows), links for the filters and
pages so it works in any browser, the WeChat one included."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from backend.honour.schemas import HonourRollOut

_STYLE = """*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#222;background:#fff8f6;
font-size:20px;line-height:1.6}header{background:#b3261e;color:#fff;padding:16px}header h1{margin:0;font-size:28px}
header p{margin:4px 0 0;font-size:16px}main{max-width:720px;margin:0 auto;padding:8px 12px 32px}
h2{font-size:22px;color:#b3261e;border-bottom:2px solid #b3261e;padding-bottom:4px;margin-top:24px}
ul{list-style:none;padding:0;margin:0}li.card{background:#fff;border:1px solid #f0c8c4;border-radius:10px;
padding:12px;margin:10px 0}.name{font-size:22px;font-weight:bold}.where{color:#666;font-size:17px}
.badge{display:inline-block;background:#b3261e;color:#fff;border-radius:6px;padding:0 8px;margin:4px 0;font-size:18px}
.deed{margin:4px 0 0 0}.deed small{color:#666}nav{margin:12px 0;font-size:18px}
nav a{display:inline-block;margin:4px 8px 4px 0;padding:6px 10px;border:1px solid #b3261e;border-radius:6px;
color:#b3261e;text-decoration:none}nav a.on{background:#b3261e;color:#fff}.pager a{font-size:20px}
footer{color:#666;font-size:15px;margin-top:24px}"""


def _href(county: str, township: str | None = None, village: str | None = None, offset: int = 0,
          limit: int | None = None) -> str:
    query = {"county": county}
    if township:
        query["township"] = township
    if village:
        query["village"] = village
    if offset:
        query["offset"] = str(offset)
    if limit:
        query["limit"] = str(limit)
    return escape("/honour-roll?" + urlencode(query))


def _nav(roll: HonourRollOut, townships: list[dict], villages: list[dict]) -> str:
    county = roll.county.code
    links = [f'<a href="{_href(county)}"{" class=on" if not roll.township_filter and not roll.village_filter else ""}>'
             f"全区</a>"]
    links += [f'<a href="{_href(county, t["code"])}"{" class=on" if roll.township_filter == t["code"] else ""}>'
              f'{escape(t["name"])}</a>' for t in townships]
    out = f'<nav aria-label="乡镇">{"".join(links)}</nav>'
    if roll.township_filter:
        township_id = next((t["id"] for t in townships if t["code"] == roll.township_filter), None)
        vlinks = [f'<a href="{_href(county, roll.township_filter, v["code"])}"'
                  f'{" class=on" if roll.village_filter == v["code"] else ""}>{escape(v["name"])}</a>'
                  for v in villages if v["township"] == township_id]
        out += f'<nav aria-label="村">{"".join(vlinks)}</nav>'
    return out


def render(roll: HonourRollOut, townships: list[dict], villages: list[dict]) -> str:
    """The page for one roll answer (the same data the API gives)."""
    county = escape(roll.county.name)
    sections = []
    if roll.credit_townships:
        items = "".join(f'<li class="card"><span class="name">{escape(t.name)}</span><br>'
                        f'<span class="badge">信用乡镇</span> <span class="where">{escape(t.period_name_zh)}</span></li>'
                        for t in roll.credit_townships)
        sections.append(f"<h2>信用乡镇</h2><ul>{items}</ul>")
    if roll.credit_villages:
        items = "".join(f'<li class="card"><span class="name">{escape(v.name)}</span> '
                        f'<span class="where">{escape(v.township_name or "")}</span><br>'
                        f'<span class="badge">信用村</span> <span class="where">{escape(v.period_name_zh)}</span></li>'
                        for v in roll.credit_villages)
        sections.append(f"<h2>信用村</h2><ul>{items}</ul>")
    cards = []
    for h in roll.honoured:
        parts = [f'<span class="name">{escape(h.name_zh)}</span> '
                 f'<span class="where">{escape(h.township.name)} {escape(h.village.name)}</span>']
        if h.credit_household is not None:
            parts.append(f'<br><span class="badge">{escape(h.credit_household.grade)} 信用户</span> '
                         f'<span class="where">{escape(h.credit_household.period_name_zh)}</span>')
        for line in h.honours:
            parts.append(f'<p class="deed">{escape(line.title_zh)} <small>{escape(line.detail_zh)}</small></p>')
        cards.append(f'<li class="card">{"".join(parts)}</li>')
    if cards:
        sections.append(f"<h2>信用户与好人好事（共{roll.total}）</h2><ul>{''.join(cards)}</ul>")
    if not sections:
        sections.append("<p>暂无公示内容。</p>")
    pager = []
    here = (roll.county.code, roll.township_filter, roll.village_filter)
    if roll.offset > 0:
        pager.append(f'<a href="{_href(*here, max(roll.offset - roll.limit, 0), roll.limit)}">上一页</a>')
    if roll.offset + roll.limit < roll.total:
        pager.append(f'<a href="{_href(*here, roll.offset + roll.limit, roll.limit)}">下一页</a>')
    pager_html = f'<nav class="pager">{"".join(pager)}</nav>' if pager else ""
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{county}信用红榜</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{county}信用红榜</h1><p>截至{roll.as_of.year}年{roll.as_of.month}月{roll.as_of.day}日</p></header>"
            f"<main>{_nav(roll, townships, villages)}{''.join(sections)}{pager_html}"
            "<footer>本榜仅公示正面信息。个人和家庭经本人（户主）同意后公示，撤回同意后即从本榜移除；"
            "信用村、信用乡镇依据已生效的评定结果公示。</footer></main></body></html>")


def render_counties(counties: list[dict]) -> str:
    """Several counties and none named: a list to choose from."""
    links = "".join(f'<a href="{_href(c["code"])}">{escape(c["name"])}</a>' for c in counties)
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>信用红榜</title><style>{_STYLE}</style></head><body><header><h1>信用红榜</h1></header>"
            f"<main><p>请选择区县：</p><nav>{links}</nav></main></body></html>")
