"""An office's feed file (.xlsx): a header row naming the columns (Chinese or the JSON field
names), one record per row — the same records the signed API takes. Also the report as .xlsx."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from backend.errors import InvalidInput
from backend.sheets import XLSX

HEADERS = {
    "记录编号": "record_id", "操作": "action", "类型": "type", "身份证号": "id_number", "统一社会信用代码": "uscc",
    "姓名": "name", "名称": "name", "日期": "occurred_on", "等级": "level", "数量": "quantity", "区划代码": "region_code",
    "备注": "note", "移出记录编号": "removes",
}
FIELDS = set(HEADERS.values())
MAX_BYTES = 8 * 1024 * 1024

XLSX_INVALID = InvalidInput("无法读取 Excel 文件（须为 .xlsx）", "Cannot read the Excel file (.xlsx expected)",
                            code="FEED_XLSX_INVALID")
HEADER_UNKNOWN = InvalidInput("表头含未知列", "The header row has unknown columns", code="FEED_XLSX_HEADER_UNKNOWN")
REPORT_TYPE = XLSX


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    text = str(value).strip()
    return text or None


def read_records(content: bytes) -> list[dict]:
    """Rows of the first sheet as records (blank rows skipped)."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
    except Exception:  # noqa: BLE001 - a zip/XML error of any kind is a bad file
        raise XLSX_INVALID from None
    if not header:
        raise XLSX_INVALID
    names = [_text(h) for h in header]
    columns = [HEADERS.get(n, n) if n else None for n in names]
    unknown = [n for n, c in zip(names, columns) if n and c not in FIELDS]
    if unknown:
        raise InvalidInput(HEADER_UNKNOWN.message_zh, HEADER_UNKNOWN.message_en, code=HEADER_UNKNOWN.code,
                           details={"columns": unknown})
    records = []
    try:
        for row in rows:
            record = {c: _text(v) for c, v in zip(columns, row) if c and _text(v) is not None}
            if record:
                records.append(record)
    except Exception:  # noqa: BLE001
        raise XLSX_INVALID from None
    return records


def report_workbook(report) -> bytes:
    """The per-record report as a sheet: 记录编号, 结果, 事件编号, 待匹配编号, 错误代码, 说明."""
    book = Workbook()
    sheet = book.active
    sheet.title = "接入结果"
    sheet.append(["记录编号", "结果", "事件编号", "待匹配编号", "错误代码", "说明"])
    for r in report.results:
        sheet.append([r.record_id, r.outcome, r.event_id, r.queue_id, r.error.code if r.error else None,
                      r.error.message_zh if r.error else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
