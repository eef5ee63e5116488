"""A history file (.xlsx or .csv): reading its rows and checking each one on its own.

Pure apart from reading the given bytes: no database, no clock (``today`` and the catalogue are
arguments). Every problem of every row is reported (one error per failing column, a stable code
and a Chinese reason), so a county clerk fixes the whole sheet in one pass; error texts never hold
a full ID number. The checks that need the database (is this person, this household, in the
county?) are :mod:`backend.history.services`'.

A row's identity is its content, not its position: :func:`row_key` hashes the normalised cells
(ID number, 户号, item, level, quantity, date, source document, note), so the same rows in another
order, with other spacing or another date format, have the same keys — which is what makes a
re-import change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.errors import CunxinError, InvalidInput
from backend.identity.idcard import parse_id_number
from backend.identity.masking import mask_id_number
from backend.schemas import has_forbidden_character
from points_rules import Event, RuleError, score_event
from points_rules.model import CatalogueSet

MAX_ROWS = 50_000
MAX_SOURCE_DOCUMENT = 200
MAX_NOTE = 250
IMPORTER_ROLE = "county_admin"


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    aliases: tuple[str, ...]


COLUMNS: tuple[_Column, ...] = (
    _Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "id_number", "id number")),
    _Column("household_code", "户号", ("户编号", "household_code", "household")),
    _Column("name", "姓名", ("name",)),
    _Column("item_code", "事项代码", ("事项编码", "事项", "item_code", "item")),
    _Column("level", "等级", ("level",)),
    _Column("quantity", "数量", ("quantity",)),
    _Column("occurred_on", "发生日期", ("日期", "事件日期", "occurred_on", "date")),
    _Column("source_document", "来源文书", ("来源文件", "依据文书", "source_document", "source document", "source")),
    _Column("note", "备注", ("note",)),
)
LABELS = {c.key: c.label for c in COLUMNS}
_HEADER_TO_KEY = {alias.lower(): c.key for c in COLUMNS for alias in (c.label, *c.aliases)}
_HEADER_SEARCH_ROWS = 10  # a title row ("XX县历史信用事件") may precede the header
TEMPLATE_HEADERS = ["身份证号", "户号", "姓名", "事项代码", "等级", "数量", "发生日期", "来源文书", "备注"]


def _format_error(zh: str, en: str, **details: Any) -> InvalidInput:
    return InvalidInput(zh, en, code="HISTORY_FILE_FORMAT", details=details)


@dataclass(frozen=True)
class RawRow:
    """One data row as read: text cells ("" when empty); ``row_number`` is the row the user sees."""

    row_number: int
    cells: dict[str, str]

    def get(self, key: str) -> str:
        return self.cells.get(key, "")


@dataclass(frozen=True)
class RowError:
    row_number: int
    field: str          # a COLUMNS key, or "row"
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict:
        return {"row": self.row_number, "field": self.field, "column": LABELS.get(self.field, "整行"),
                "code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


@dataclass(frozen=True)
class HistoryRow:
    """A row the file itself accepts: normalised, with its content key."""

    row_number: int
    key: str                    # hex SHA-256 of the normalised content
    subject_kind: str           # person | household
    id_number: str              # normalised (uppercase X), "" for a household row
    household_code: str
    item_code: str
    level: str | None
    quantity: Decimal | None
    occurred_on: date
    source_document: str
    note: str
    catalogue_version: str

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number) if self.id_number else ""


# ── reading ──────────────────────────────────────────────────────────────────────────────────


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _iter_xlsx(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zip/XML errors of any kind: not an .xlsx
        raise _format_error("无法读取 Excel 文件，请确认是 .xlsx 格式", "Cannot read the Excel file (.xlsx expected)") from None
    try:
        if not book.worksheets:
            return
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    except Exception:  # noqa: BLE001
        raise _format_error("Excel 文件已损坏", "The Excel file is damaged") from None
    finally:
        book.close()


def _iter_csv(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
        except UnicodeDecodeError:
            raise _format_error("CSV 文件编码无法识别，请保存为 UTF-8", "CSV encoding not recognised; save as UTF-8") from None
    for row in csv.reader(io.StringIO(text, newline="")):
        yield [cell.strip() for cell in row]


def _header_key(text: str) -> str | None:
    """"身份证号", "身份证号*", "item_code", "事项代码（必填）" …"""
    text = "".join(text.split()).replace("*", "").lower()
    head, *rest = re.split(r"[\[\](（）【】]", text)
    for candidate in (text, head, *rest):
        if candidate in _HEADER_TO_KEY:
            return _HEADER_TO_KEY[candidate]
    return None


def file_kind(name: str, content: bytes) -> str:
    """"xlsx" or "csv", by the name's suffix, else by the bytes (an .xlsx is a zip)."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return "xlsx"
    if lower.endswith(".csv"):
        return "csv"
    if lower and "." in lower.rsplit("/", 1)[-1]:
        raise _format_error(f"不支持的文件类型“{name.rsplit('.', 1)[-1]}”，请上传 .xlsx 或 .csv 文件",
                            "Unsupported file type; upload an .xlsx or .csv file")
    return "xlsx" if content[:2] == b"PK" else "csv"


def check_header(content: bytes, kind: str) -> None:
    """What an upload is refused for at once (HISTORY_FILE_FORMAT): an unreadable file, no header
    row, missing required columns. Reads only up to the header; the rows are the run's."""
    read_rows(content, kind, header_only=True)


def read_rows(content: bytes, kind: str, *, header_only: bool = False) -> list[RawRow]:
    """The data rows of the first sheet (or the CSV), blank rows skipped, row numbers as the user
    sees them. HISTORY_FILE_FORMAT for an unreadable file, no header or missing required columns."""
    source: Iterable[list[str]] = _iter_xlsx(content) if kind == "xlsx" else _iter_csv(content)
    columns: dict[str, int] | None = None
    seen = 0
    out: list[RawRow] = []
    for row_number, cells in enumerate(source, start=1):
        if not any(cells):
            continue
        if columns is None:
            seen += 1
            found: dict[str, int] = {}
            for i, cell in enumerate(cells):
                key = _header_key(cell)
                if key is not None:
                    found.setdefault(key, i)
            if len(found) >= 2:
                columns = found
                _check_columns(columns)
                if header_only:
                    break
            elif seen >= _HEADER_SEARCH_ROWS:
                break
            continue
        out.append(RawRow(row_number, {k: cells[i] if i < len(cells) else "" for k, i in columns.items()}))
        if len(out) > MAX_ROWS:
            raise _format_error(f"一个文件最多 {MAX_ROWS} 行", f"At most {MAX_ROWS} rows per file")
    if columns is None:
        raise _format_error("未找到表头（身份证号、事项代码、发生日期、来源文书 …）",
                            "No header row found (身份证号, 事项代码, 发生日期, 来源文书 …)")
    return out


def _check_columns(columns: dict[str, int]) -> None:
    missing = [k for k in ("item_code", "occurred_on", "source_document") if k not in columns]
    if "id_number" not in columns and "household_code" not in columns:
        missing.insert(0, "id_number")
    if missing:
        raise _format_error("文件缺少必填列：" + "、".join(LABELS[k] for k in missing),
                            "Missing required columns: " + ", ".join(missing), missing_columns=missing)


# ── validation ───────────────────────────────────────────────────────────────────────────────

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(text: str) -> date | None:
    text = text.strip()
    if " " in text:  # "2023-05-01 00:00:00" from a spreadsheet's date-time cell
        text = text.split(" ", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_quantity(text: str) -> Decimal | None:
    """A positive decimal with at most two places; None if it is not one."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > 10000 or value.as_tuple().exponent < -2:
        return None
    return value.normalize()


def row_key(*, subject_kind: str, id_number: str, household_code: str, item_code: str, level: str | None,
            quantity: Decimal | None, occurred_on: date, source_document: str, note: str) -> str:
    """The content key of a row: the same whatever its position in the file or the file's format."""
    body = {"subject_kind": subject_kind, "id_number": id_number, "household_code": household_code,
            "item_code": item_code, "level": level or None,
            "quantity": None if quantity is None else format(quantity.normalize(), "f"),
            "occurred_on": occurred_on.isoformat(), "source_document": source_document, "note": note}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _squash(text: str) -> str:
    return " ".join(text.split())


def validate_rows(rows: Sequence[RawRow], catalogue: CatalogueSet, today: date
                  ) -> tuple[list[HistoryRow], list[RowError]]:
    """Every row checked on its own, then duplicates across rows: (accepted rows, errors sorted by row)."""
    errors: list[RowError] = []
    accepted: list[HistoryRow] = []
    first_of: dict[str, int] = {}
    for raw in rows:
        row, row_errors = _validate_one(raw, catalogue, today)
        if row is not None and row.key in first_of:
            row_errors.append(RowError(raw.row_number, "row", "HISTORY_ROW_DUPLICATE",
                                       f"与第 {first_of[row.key]} 行内容完全相同（同一事件只能导入一次）",
                                       f"Same content as row {first_of[row.key]} (an event is imported once)"))
            row = None
        if row_errors:
            errors.extend(row_errors)
        elif row is not None:
            first_of[row.key] = raw.row_number
            accepted.append(row)
    return accepted, sorted(errors, key=lambda e: (e.row_number, e.field))


def _validate_one(raw: RawRow, catalogue: CatalogueSet, today: date) -> tuple[HistoryRow | None, list[RowError]]:
    errs: list[RowError] = []

    def err(field: str, code: str, zh: str, en: str) -> None:
        errs.append(RowError(raw.row_number, field, code, zh, en))

    if any(has_forbidden_character(v) for v in raw.cells.values()):
        err("row", "HISTORY_TEXT_INVALID", "含有不允许的控制字符", "Contains a control character")
        return None, errs
    id_raw, household_code = raw.get("id_number"), raw.get("household_code")
    item_code = raw.get("item_code").upper()
    level_raw, quantity_raw = raw.get("level"), raw.get("quantity")
    source_document, note = _squash(raw.get("source_document")), _squash(raw.get("note"))

    id_number = ""
    if id_raw:
        try:
            id_number = parse_id_number(id_raw, today=today).number
        except CunxinError as exc:
            err("id_number", exc.code, f"身份证号无效：{exc.message_zh}", f"ID number invalid: {exc.message_en}")
    elif not household_code:
        err("id_number", "HISTORY_SUBJECT_MISSING", "身份证号与户号不能都为空", "Give an ID number (or, for a household item, 户号)")
    if len(household_code) > 24:
        err("household_code", "HISTORY_HOUSEHOLD_UNKNOWN", "户号不存在", "Unknown household code")
    occurred_on = None
    if not raw.get("occurred_on"):
        err("occurred_on", "HISTORY_FIELD_MISSING", "发生日期不能为空", "occurred_on is required")
    else:
        occurred_on = parse_date(raw.get("occurred_on"))
        if occurred_on is None:
            err("occurred_on", "HISTORY_DATE_INVALID", "发生日期无法识别（格式如 2023-05-01）",
                "Date not understood (e.g. 2023-05-01)")
        elif occurred_on > today:
            err("occurred_on", "HISTORY_DATE_FUTURE", "发生日期不能晚于今天", "occurred_on is in the future")
            occurred_on = None
    if not source_document:
        err("source_document", "HISTORY_FIELD_MISSING", "来源文书不能为空（历史事件须注明依据的文书）",
            "source_document is required")
    elif len(source_document) > MAX_SOURCE_DOCUMENT:
        err("source_document", "HISTORY_TEXT_TOO_LONG", f"来源文书不能超过 {MAX_SOURCE_DOCUMENT} 字",
            f"source_document longer than {MAX_SOURCE_DOCUMENT}")
    if len(note) > MAX_NOTE:
        err("note", "HISTORY_TEXT_TOO_LONG", f"备注不能超过 {MAX_NOTE} 字", f"note longer than {MAX_NOTE}")
    quantity = None
    if quantity_raw:
        quantity = parse_quantity(quantity_raw)
        if quantity is None:
            err("quantity", "HISTORY_QUANTITY_INVALID", "数量须为大于0、最多两位小数的数字", "quantity must be a positive number, ≤ 2 decimals")
    level = level_raw or None
    if not item_code:
        err("item_code", "HISTORY_FIELD_MISSING", "事项代码不能为空", "item_code is required")
    if errs or occurred_on is None:
        return None, errs

    try:
        version = catalogue.version_on(occurred_on)
        item = version.item(item_code)
    except RuleError as exc:
        err("occurred_on" if exc.code == "RULES_NO_CATALOGUE" else "item_code", exc.code, exc.message_zh, exc.message_en)
        return None, errs
    kinds = set(item.subject_kinds)
    if id_number and "person" in kinds:
        subject_kind = "person"
    elif "household" in kinds and household_code and not id_number:
        subject_kind = "household"
    else:
        who = "、".join({"person": "个人", "household": "户", "organisation": "组织"}[k] for k in item.subject_kinds)
        need = "户号（且不填身份证号）" if "person" not in kinds and "household" in kinds else "身份证号"
        err("item_code", "HISTORY_SUBJECT_KIND", f"「{item.name_zh}」的对象是{who}，本行须填{need}",
            f"{item_code} applies to {', '.join(item.subject_kinds)}")
        return None, errs
    if IMPORTER_ROLE not in item.logged_by:
        err("item_code", "HISTORY_ITEM_NOT_ALLOWED", f"「{item.name_zh}」不能由县级管理员导入",
            f"{item_code} may not be recorded by a county admin")
        return None, errs
    try:
        score_event(catalogue, Event(event_id=0, item_code=item_code, subject_kind=subject_kind, occurred_on=occurred_on,
                                     recorded_on=today, quantity=quantity, level=level), [])
    except RuleError as exc:
        field = {"RULES_LEVEL": "level", "RULES_QUANTITY": "quantity"}.get(exc.code, "item_code")
        err(field, exc.code, exc.message_zh, exc.message_en)
        return None, errs
    household = household_code if subject_kind == "household" else ""
    key = row_key(subject_kind=subject_kind, id_number=id_number, household_code=household, item_code=item_code,
                  level=level, quantity=quantity, occurred_on=occurred_on, source_document=source_document, note=note)
    return HistoryRow(row_number=raw.row_number, key=key, subject_kind=subject_kind, id_number=id_number,
                      household_code=household, item_code=item_code, level=level, quantity=quantity,
                      occurred_on=occurred_on, source_document=source_document, note=note,
                      catalogue_version=version.version), errs


def event_note(row: HistoryRow) -> str:
    """What the event's note says: that it is history, and the document it rests on."""
    text = f"历史导入；来源文书：{row.source_document}"
    return (text + (f"；{row.note}" if row.note else ""))[:500]


def template_workbook() -> bytes:
    """An empty history file with the header row and one example row (.xlsx)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "历史信用事件"
    sheet.append(TEMPLATE_HEADERS)
    sheet.append(["620702199001011234", "", "（可不填）", "BLOOD-DONATION", "", "", "2023-05-01",
                  "县中心血站献血证 2023-0501", "示例行，导入前请删除"])
    for column, width in zip("ABCDEFGHI", (22, 18, 12, 20, 12, 8, 12, 32, 24)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
