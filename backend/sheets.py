"""The one layout of the report sheets offices open in Excel: a bold title row and a smaller note
row across the table, a bold centred header on row 3, text cells stored as text (codes keep their
leading zeros and never turn into numbers or dates), fixed column widths, the header frozen."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

TEXT = "@"
HEADER_ROW = 3


def report_sheet(*, sheet_title: str, title: str, note: str, header: Sequence[str], widths: Sequence[int],
                 rows: Iterable[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title
    last = get_column_letter(len(header))
    for row, (text, font) in enumerate(((title, Font(bold=True, size=14)), (note, Font(size=10))), 1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font, cell.number_format = font, TEXT
        cell.alignment = Alignment(horizontal="center" if row == 1 else "left", vertical="center")
        ws.merge_cells(f"A{row}:{last}{row}")
    for column, name in enumerate(header, 1):
        cell = ws.cell(row=HEADER_ROW, column=column, value=name)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center")
    for offset, values in enumerate(rows, 1):
        for column, value in enumerate(values, 1):
            cell = ws.cell(row=HEADER_ROW + offset, column=column, value=value)
            if isinstance(value, str):
                cell.number_format = TEXT
    for column, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
