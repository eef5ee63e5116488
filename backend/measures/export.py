"""An eligibility list as an Excel workbook (openpyxl).

A title row (measure and day), the issuing office and legal basis, then one row per household
under a frozen header 序号/乡镇/村/户编号/户主/户主身份证号/等级/评定年度/公示起止. Every cell is
text (number format ``@``): household codes, masked ID numbers and even the 序号 keep their
leading zeros and are never turned into numbers or dates. ID numbers appear only masked.
"""

from __future__ import annotations

import asyncio
import io
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from backend.sheets import XLSX

MEDIA_TYPE = XLSX
HEADER = ["序号", "乡镇", "村", "户编号", "户主（脱敏）", "户主身份证号（脱敏）", "等级", "评定年度", "公示起止"]
WIDTHS = [8, 16, 16, 20, 14, 24, 10, 24, 26]
TEXT = "@"
HEADER_ROW = 4


def _grade(grade: str) -> str:
    if grade == "none":
        return "非信用户"
    return grade or "无评定"


def _publicity(entry: dict) -> str:
    starts, ends = entry["publicity_starts_on"], entry["publicity_ends_on"]
    if starts is None and ends is None:
        return ""
    return f"{starts.isoformat() if starts else ''}至{ends.isoformat() if ends else ''}"


def rows_of(entries: list[dict]) -> list[list[str]]:
    """The table body, every value a string."""
    return [[str(e["seq"]), e["township_name"], e["village_name"], e["household_code"], e["head_name_masked"],
             e["head_id_masked"], _grade(e["grade"]), e["period_name_zh"], _publicity(e)] for e in entries]


def build_workbook(measure: dict, listing: dict, entries: list[dict]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    last = get_column_letter(len(HEADER))
    lines = [
        (f"{measure['name_zh']}适用名单（{listing['as_of']:%Y年%m月%d日}）", Font(bold=True, size=14)),
        (f"实施单位：{measure['office_zh']}", Font(size=11)),
        (f"设定依据：{measure['legal_basis']}　措施编号：{measure['code']}（第{measure['version']}版）"
         f"　名单编号：{listing['id']}　积分目录：{listing['catalogue_version']}　共{len(entries)}户", Font(size=10)),
    ]
    for row, (text, font) in enumerate(lines, 1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font, cell.number_format = font, TEXT
        cell.alignment = Alignment(horizontal="center" if row == 1 else "left", vertical="center", wrap_text=row == 3)
        ws.merge_cells(f"A{row}:{last}{row}")
    ws.row_dimensions[1].height = 28
    ws.row_dimensions[3].height = 32
    for column, title in enumerate(HEADER, 1):
        cell = ws.cell(row=HEADER_ROW, column=column, value=title)
        cell.font, cell.number_format = Font(bold=True), TEXT
        cell.alignment = Alignment(horizontal="center")
    for offset, values in enumerate(rows_of(entries)):
        for column, value in enumerate(values, 1):
            cell = ws.cell(row=HEADER_ROW + 1 + offset, column=column, value=value)
            cell.number_format = TEXT  # text: Excel must not turn 0012 into 12 or a code into a number
    for column, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


async def workbook_bytes(measure: dict, listing: dict, entries: list[dict]) -> bytes:
    return await asyncio.to_thread(build_workbook, measure, listing, entries)


def file_name(measure: dict, listing: dict) -> str:
    return f"{measure['name_zh']}名单_{listing['as_of'].isoformat()}.xlsx"


def content_disposition(name: str, list_id: int) -> str:
    """An ASCII fallback name and the Chinese one (RFC 5987/6266 ``filename*``)."""
    return f"attachment; filename=\"eligibility-list-{list_id}.xlsx\"; filename*=UTF-8''{quote(name, safe='')}"
