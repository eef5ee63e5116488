"""The catalogue as a plain HTML page (public): what each behaviour is worth, for how long, and
its art. 32 attributes — linked from the admin's sidebar, readable by anyone it applies to."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from backend.catalogue.schemas import ItemOut, VersionOut
from backend.catalogue.services import get_version, list_versions

_STYLE = """body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #ccc;padding:4px 6px;
vertical-align:top}th{background:#f3f6fa}caption{text-align:left;font-weight:bold;margin:8px 0}
.neg{color:#b00}.pos{color:#060}nav a{margin-right:12px}"""


def _points(item: ItemOut) -> str:
    if item.scoring_kind == "fixed":
        return escape(item.points or "")
    if item.scoring_kind == "by_level":
        return "<br>".join(f"{escape(lv.name_zh)} {escape(lv.points)}" for lv in item.levels)
    if item.scoring_kind == "tiered":
        return "<br>".join(f"累计{escape(t.at)}{escape(item.unit_zh or '')} 共{escape(t.total_points)}" for t in item.tiers)
    return f"直接判定为{escape(item.direct_grade or '')}级"


def render(version_id: str | None = None, county_id: int | None = None, county_code: str | None = None) -> str:
    versions = list_versions(county_id)
    chosen: VersionOut = get_version(version_id or versions[-1].version, county_id)
    county_q = f"&amp;county={quote(county_code)}" if county_code else ""
    nav = " ".join(f'<a href="/catalogue?version={escape(v.version)}{county_q}">{escape(v.version)}（{v.effective_from}起）</a>'
                   for v in versions)
    grades = "、".join(f"{escape(g.grade)} ≥ {escape(g.min_score)}" if g.min_score else escape(g.grade)
                      for g in chosen.grades)
    rows = "".join(
        f"<tr><td>{escape(i.code)}</td><td>{escape(i.name_zh)}<br><small>{escape(i.behaviour_zh)}</small></td>"
        f"<td>{escape(i.category)}</td><td class=\"{'pos' if i.direction == 'positive' else 'neg'}\">{_points(i)}</td>"
        f"<td>{i.validity_years or '按规则'}</td><td>{'是' if i.needs_review else '否'}</td>"
        f"<td>{escape(i.publicity)}</td><td>{escape(i.sharing_scope)}</td><td>{escape(i.source)}</td>"
        f"<td>{escape(i.update_frequency)}</td><td>{escape(i.legal_basis)}</td></tr>"
        for i in chosen.catalogue)
    return (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>积分目录 {escape(chosen.version)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{escape(chosen.title_zh)}</h1><nav>{nav}</nav>"
            f"<p>自 {chosen.effective_from} 起施行。基础分 {escape(chosen.base)}；等级：{grades}。"
            f"事件按发生当日施行的目录版本计分。</p><table><caption>事项（{len(chosen.catalogue)}项）</caption>"
            "<tr><th>代码</th><th>事项</th><th>类别</th><th>分值</th><th>有效期（年）</th><th>需审核</th>"
            "<th>公开属性</th><th>共享范围</th><th>来源</th><th>更新频次</th><th>依据</th></tr>"
            f"{rows}</table></body></html>")
