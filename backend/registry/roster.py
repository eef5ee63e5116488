"""Village roster (花名册) import: read an .xlsx/.csv file, then validate every row.

Pure apart from reading the given file. Reading only maps columns; all judgement is in
``validate_roster``, which reports every problem (one error per failing field) so a village
clerk can fix the whole sheet in one pass. Error texts never contain a full ID number.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from backend.errors import InvalidInput
from backend.identity.idcard import parse_id_number
from backend.identity.phone import normalize_mobile

RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
HEAD = "户主"

# Wording found in 户口簿 exports and English templates → the canonical relation.
_RELATION_SYNONYMS = {
    **{w: "户主" for w in ("本人", "head")},
    **{w: "配偶" for w in ("妻", "妻子", "夫", "丈夫", "spouse")},
    **{w: "子女" for w in ("子", "女", "儿子", "女儿", "长子", "次子", "三子", "长女", "次女", "三女", "child")},
    **{w: "父母" for w in ("父亲", "母亲", "parent")},
    **{w: "孙子女" for w in ("孙子", "孙女", "grandchild")},
    **{w: "兄弟姐妹" for w in ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "sibling")},
    **{w: "其他" for w in ("other",)},
}

_TRUE = frozenset({"是", "y", "yes", "1", "true", "t", "党员", "中共党员"})
_FALSE = frozenset({"否", "n", "no", "0", "false", "f", "非党员", "群众", ""})


@dataclass(frozen=True)
class _Column:
    key: str
    label: str  # Chinese header, also used in messages
    required: bool
    aliases: tuple[str, ...]  # further accepted headers (lower-case)


COLUMNS: tuple[_Column, ...] = (
    _Column("household_code", "户号", True, ("户编号", "household_code")),
    _Column("name", "姓名", True, ("name",)),
    _Column("id_number", "身份证号", True, ("身份证号码", "公民身份号码", "id_number")),
    _Column("relation", "与户主关系", True, ("与户主的关系", "关系", "relation")),
    _Column("phone", "手机号", False, ("手机号码", "联系电话", "phone")),
    _Column("grid_code", "网格", True, ("网格编号", "网格代码", "grid_code")),
    _Column("party_member", "是否党员", False, ("党员", "party_member")),
    _Column("address", "住址", False, ("地址", "家庭住址", "address")),
)
_BY_KEY = {c.key: c for c in COLUMNS}
_HEADER_TO_KEY = {alias: c.key for c in COLUMNS for alias in (c.label, *c.aliases)}
_FIELD_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}
_HEADER_SEARCH_ROWS = 10  # a title row ("XX村花名册") may precede the header


# ── data ──────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RosterRow:
    """One data row as read; all text stripped, "" when empty. ``row_number`` is the Excel row (header = 1)."""

    row_number: int
    household_code: str
    name: str
    id_number: str
    relation: str
    phone: str
    grid_code: str
    party_member: bool
    address: str
    party_member_raw: str = ""  # the cell text, so validation can reject what it cannot read


@dataclass(frozen=True)
class ValidRosterRow:
    row_number: int
    household_code: str
    name: str
    id_number: str  # normalised (uppercase X)
    birth_date: date
    sex: str  # "M" / "F", from the ID number
    relation: str  # canonical, one of RELATIONS
    phone: str | None  # 11 digits
    grid_code: str
    party_member: bool
    address: str


@dataclass(frozen=True)
class RosterError:
    row_number: int
    field: str  # a COLUMNS key, e.g. "id_number"
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class RosterReport:
    valid: list[ValidRosterRow]
    errors: list[RosterError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row_number for e in self.errors})

    @property
    def rows_read(self) -> int:
        return len(self.valid) + len(self.bad_rows)

    def format_text(self) -> str:
        """Summary line, then one line per error: ``第 5 行 身份证号: 身份证号校验位错误``."""
        lines = [
            f"共读取 {self.rows_read} 行：有效 {len(self.valid)} 行，有误 {len(self.bad_rows)} 行"
            f"（共 {len(self.errors)} 处错误）"
        ]
        for e in self.errors:
            lines.append(f"第 {e.row_number} 行 {_BY_KEY[e.field].label}: {_mask_ids(e.message_zh)}")
        return "\n".join(lines)


# ── reading ───────────────────────────────────────────────────────────────────────────────────


def _format_error(message_zh: str, message_en: str) -> InvalidInput:
    return InvalidInput(message_zh, message_en, code="ROSTER_FORMAT")


def _cell_text(value: Any) -> str:
    """Cell → text. Whole-number floats lose their ".0" (Excel stores 户号/手机号 typed as numbers so)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _header_key(text: str) -> str | None:
    """Match a header cell: "身份证号", "身份证号*", "id_number", "户号 [household_code]", "户号（必填）"."""
    text = "".join(text.split()).replace("*", "").lower()
    head, *rest = re.split(r"[\[\](（）【】]", text)
    for candidate in (text, head, *rest):
        if candidate in _HEADER_TO_KEY:
            return _HEADER_TO_KEY[candidate]
    return None


def _iter_xlsx(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # imported here: only needed for .xlsx

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException for bad files
        raise _format_error("无法读取 Excel 文件，请确认是 .xlsx 格式", f"Cannot read the Excel file: {exc}") from exc
    try:
        if not workbook.worksheets:
            return
        for row in workbook.worksheets[0].iter_rows(min_row=1, values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        workbook.close()


def _iter_csv(path: Path) -> Iterator[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
        except UnicodeDecodeError as exc:
            raise _format_error("CSV 文件编码无法识别，请保存为 UTF-8", "CSV encoding not recognised; save as UTF-8") from exc
    for row in csv.reader(io.StringIO(text, newline="")):
        yield [cell.strip() for cell in row]


def read_roster(path: Path) -> list[RosterRow]:
    """Read the first sheet of an .xlsx, or a .csv (UTF-8 with/without BOM, else GB18030).

    Raises InvalidInput(ROSTER_FORMAT) for another file type, an unreadable file or missing
    required columns. Blank rows are skipped; row numbers stay those the user sees in Excel.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows: Iterable[list[str]] = _iter_xlsx(path)
    elif suffix == ".csv":
        rows = _iter_csv(path)
    else:
        raise _format_error(
            f"不支持的文件类型“{path.suffix or '无扩展名'}”，请上传 .xlsx 或 .csv 文件",
            f"Unsupported file type {path.suffix!r}; upload an .xlsx or .csv file",
        )

    columns: dict[str, int] | None = None
    first_guess: dict[str, int] | None = None  # recognised columns of the first non-blank row
    nonblank_seen = 0
    result: list[RosterRow] = []
    for row_number, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        if columns is None:
            found = _recognise_header(cells)
            first_guess = found if first_guess is None else first_guess
            nonblank_seen += 1
            if len(found) >= 2:
                columns = found
                _check_columns(columns)
            elif nonblank_seen >= _HEADER_SEARCH_ROWS:
                break
            continue
        result.append(_to_row(row_number, cells, columns))
    if columns is None:
        if first_guess is None:
            raise _format_error("文件为空", "The file is empty")
        _check_columns(first_guess)
    return result


def _recognise_header(cells: Sequence[str]) -> dict[str, int]:
    """Column key → index for the cells that are known headers (first occurrence wins)."""
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = _header_key(cell)
        if key is not None:
            found.setdefault(key, i)
    return found


def _check_columns(columns: dict[str, int]) -> None:
    missing = [c for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        raise InvalidInput(
            "花名册缺少必填列：" + "、".join(c.label for c in missing),
            "Roster is missing required columns: " + ", ".join(c.key for c in missing),
            code="ROSTER_FORMAT",
            details={"missing_columns": [c.key for c in missing]},
        )


def _to_row(row_number: int, cells: Sequence[str], columns: dict[str, int]) -> RosterRow:
    def get(key: str) -> str:
        i = columns.get(key)
        return cells[i] if i is not None and i < len(cells) else ""

    party_raw = get("party_member")
    return RosterRow(
        row_number=row_number,
        household_code=get("household_code"),
        name=get("name"),
        id_number=get("id_number"),
        relation=get("relation"),
        phone=get("phone"),
        grid_code=get("grid_code"),
        party_member=_party_flag(party_raw) is True,
        address=get("address"),
        party_member_raw=party_raw,
    )


def _party_flag(raw: str) -> bool | None:
    """是/否/Y/N/1/0/true/false (any case); empty = no; None when not understood."""
    text = raw.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def canonical_relation(raw: str) -> str | None:
    """The relation in RELATIONS that ``raw`` means, or None."""
    text = "".join(raw.split())
    return text if text in RELATIONS else _RELATION_SYNONYMS.get(text.lower())


# ── validation ────────────────────────────────────────────────────────────────────────────────

_Reporter = Callable[[RosterRow, str, str, str, str], None]  # (row, field, code, zh, en)
# Exactly 15 (first generation) or 18 characters: a 16-digit 户号 (village code + 4) is not an ID.
_ID_RUN = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})(?:[0-9]{8}|[0-9]{5})([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def _mask_ids(text: str) -> str:
    """Mask anything shaped like a 15- or 18-character ID number: ``620702********1234``."""
    return _ID_RUN.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


def validate_roster(
    rows: Sequence[RosterRow],
    *,
    known_grid_codes: set[str],
    existing_household_heads: set[str],
    today: date,
) -> RosterReport:
    """Check every row and return the valid ones plus every error, sorted by row and column.

    ``existing_household_heads`` holds household codes that already have a head in the database,
    so a file may add members to them without repeating the 户主 row. (A 户主 row for such a
    household is not flagged here: it may be a re-import of the same head, which the importer
    can tell by ID number.) Relations are accepted in 户口簿 wording too (妻, 长子, 孙女 …) and
    returned canonical.
    """
    errors: list[RosterError] = []

    def err(row: RosterRow, field: str, code: str, zh: str, en: str) -> None:
        errors.append(RosterError(row.row_number, field, code, _mask_ids(zh), _mask_ids(en)))

    first_row_of_id: dict[str, int] = {}
    parsed: dict[int, tuple[str, date, str]] = {}  # row_number → (id number, birth date, sex)
    relations: dict[int, str] = {}
    for row in rows:
        for column in COLUMNS:
            if column.required and not getattr(row, column.key):
                err(row, column.key, "ROSTER_MISSING_FIELD", f"{column.label}不能为空", f"{column.key} is required")

        if row.id_number:
            try:
                resident = parse_id_number(row.id_number, today=today)
            except InvalidInput as exc:
                err(row, "id_number", exc.code, exc.message_zh, exc.message_en)
            else:
                first = first_row_of_id.setdefault(resident.number, row.row_number)
                if first != row.row_number:
                    err(
                        row, "id_number", "ROSTER_DUPLICATE_ID",
                        f"身份证号与第 {first} 行重复", f"ID number duplicates row {first}",
                    )
                else:
                    parsed[row.row_number] = (resident.number, resident.birth_date, resident.sex)

        if row.relation:
            relation = canonical_relation(row.relation)
            if relation is None:
                err(
                    row, "relation", "ROSTER_RELATION",
                    f"与户主关系“{row.relation}”无效，应为：" + "、".join(RELATIONS),
                    f"Relation {row.relation!r} is not one of: " + ", ".join(RELATIONS),
                )
            else:
                relations[row.row_number] = relation

        if row.phone:
            try:
                normalize_mobile(row.phone)
            except InvalidInput as exc:
                err(row, "phone", exc.code, exc.message_zh, exc.message_en)

        if row.grid_code and row.grid_code not in known_grid_codes:
            err(
                row, "grid_code", "ROSTER_UNKNOWN_GRID",
                f"网格“{row.grid_code}”不存在或不在您的管辖范围内", f"Unknown grid {row.grid_code!r}",
            )

        if _party_flag(row.party_member_raw) is None:
            err(
                row, "party_member", "ROSTER_PARTY_FLAG",
                f"是否党员“{row.party_member_raw}”无法识别，请填写“是”或“否”",
                f"Party member flag {row.party_member_raw!r} not understood; use 是/否 (yes/no)",
            )

    _check_heads(rows, relations, existing_household_heads, err)

    bad = {e.row_number for e in errors}
    valid = [
        ValidRosterRow(
            row_number=row.row_number,
            household_code=row.household_code,
            name=row.name,
            id_number=parsed[row.row_number][0],
            birth_date=parsed[row.row_number][1],
            sex=parsed[row.row_number][2],
            relation=relations[row.row_number],
            phone=normalize_mobile(row.phone) if row.phone else None,
            grid_code=row.grid_code,
            party_member=row.party_member,
            address=row.address,
        )
        for row in rows
        if row.row_number not in bad
    ]
    errors.sort(key=lambda e: (e.row_number, _FIELD_ORDER[e.field]))
    return RosterReport(valid=valid, errors=errors)


def _check_heads(
    rows: Sequence[RosterRow],
    relations: dict[int, str],
    existing_household_heads: set[str],
    err: _Reporter,
) -> None:
    """Each household needs exactly one 户主: in the file, or already in the database."""
    by_household: dict[str, list[RosterRow]] = defaultdict(list)
    for row in rows:
        if row.household_code:
            by_household[row.household_code].append(row)
    for code, members in by_household.items():
        heads = [r for r in members if relations.get(r.row_number) == HEAD]
        if not heads and code not in existing_household_heads:
            for r in members:
                err(
                    r, "household_code", "ROSTER_UNKNOWN_HEAD",
                    f"户号“{code}”在文件中没有户主，系统中也没有该户的户主",
                    f"Household {code!r} has no head (户主) in the file or in the registry",
                )
        elif len(heads) > 1:
            numbers = "、".join(str(r.row_number) for r in heads)
            for r in heads:
                err(
                    r, "relation", "ROSTER_MULTIPLE_HEADS",
                    f"户号“{code}”有多个户主（第 {numbers} 行）",
                    f"Household {code!r} has more than one head (rows {numbers.replace('、', ', ')})",
                )
