"""The one layout of the report sheets offices open in Excel: a bold title row and a smaller note
row across the table, a bold centred header on row 3, text cells stored as text (codes keep their
leading zeros and never turn into numbers or dates), fixed column widths, the header frozen."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # the media type of every workbook the platform hands out
TEXT = "@"
HEADER_ROW = 3


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook in the one layout."""

    sheet_title: str
    title: str
    note: str
    header: Sequence[str]
    widths: Sequence[int]
    rows: Iterable[Sequence[object]]


def _lay_out(ws, sheet: Sheet) -> None:
    ws.title = sheet.sheet_title
    last = get_column_letter(len(sheet.header))
    for row, (text, font) in enumerate(((sheet.title, Font(bold=True, size=14)), (sheet.note, Font(size=10))), 1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font, cell.number_format = font, TEXT
        cell.alignment = Alignment(horizontal="center" if row == 1 else "left", vertical="center")
        ws.merge_cells(f"A{row}:{last}{row}")
    for column, name in enumerate(sheet.header, 1):
        cell = ws.cell(row=HEADER_ROW, column=column, value=name)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center")
    for offset, values in enumerate(sheet.rows, 1):
        for column, value in enumerate(values, 1):
            cell = ws.cell(row=HEADER_ROW + offset, column=column, value=value)
            if isinstance(value, str):
                cell.number_format = TEXT
    for column, width in enumerate(sheet.widths, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"


def report_workbook(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of several sheets, each in the one layout, in the order given."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        _lay_out(wb.create_sheet(), sheet)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def report_sheet(*, sheet_title: str, title: str, note: str, header: Sequence[str], widths: Sequence[int],
                 rows: Iterable[Sequence[object]]) -> bytes:
    return report_workbook([Sheet(sheet_title, title, note, header, widths, rows)])
