from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from backend.errors import InvalidInput
from backend.identity.idcard import compute_check_digit
from backend.registry.roster import RosterReport, RosterRow, read_roster, validate_roster

TODAY = date(2026, 5, 1)
GRIDS = {"62070210020101", "62070210020102"}
HEADER = ["户号", "姓名", "身份证号", "与户主关系", "手机号", "网格", "是否党员", "住址"]


def make_id(birth: str, seq: int) -> str:
    first17 = f"620702{birth}{seq:03d}"
    return first17 + compute_check_digit(first17)


def with_wrong_check(id_number: str) -> str:
    wrong = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + wrong


HEAD_A = make_id("19700312", 111)
WIFE_A = make_id("19720508", 222)
SON_A = make_id("19980101", 331)
HEAD_B = make_id("19651120", 441)
KID_B = make_id("19930701", 552)

CLEAN_ROWS: list[list[Any]] = [
    ["H001", "王建国", HEAD_A, "户主", "13800001111", "62070210020101", "是", "清凉寺村1社3号"],
    ["H001", "李秀兰", WIFE_A.lower(), "配偶", "138-0000-2222", "62070210020101", "否", "清凉寺村1社3号"],
    ["H001", "王鑫", SON_A, "子女", "", "62070210020101", "", "清凉寺村1社3号"],
    ["H002", "张福生", HEAD_B, "户主", "13900003333", "62070210020102", "1", ""],
    ["H002", "张丽", KID_B, "子女", None, "62070210020102", "N", None],
]


def write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str, header: list[str] = HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def validate(rows: list[RosterRow], existing: set[str] | None = None) -> RosterReport:
    return validate_roster(rows, known_grid_codes=GRIDS, existing_household_heads=existing or set(), today=TODAY)


def codes_by_row(report: RosterReport) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for e in report.errors:
        out.setdefault(e.row_number, set()).add(e.code)
    return out


# --- clean files -------------------------------------------------------------------------------


def test_clean_xlsx(tmp_path: Path) -> None:
    rows = read_roster(write_xlsx(tmp_path / "花名册.xlsx", CLEAN_ROWS))
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    report = validate(rows)
    assert report.ok and report.errors == []
    assert len(report.valid) == 5
    head, wife, son, head_b, kid_b = report.valid
    assert head.birth_date == date(1970, 3, 12) and head.sex == "M" and head.party_member
    assert wife.id_number == WIFE_A  # lower-case x normalised
    assert wife.phone == "13800002222" and wife.sex == "F" and not wife.party_member
    assert son.phone is None and son.relation == "子女"
    assert head_b.party_member and head_b.address == ""
    assert kid_b.party_member is False
    assert report.format_text().startswith("共读取 5 行：有效 5 行，有误 0 行")


def test_clean_csv_utf8_and_bom(tmp_path: Path) -> None:
    for encoding in ("utf-8", "utf-8-sig"):
        path = write_csv(tmp_path / f"{encoding}.csv", CLEAN_ROWS, encoding)
        if encoding == "utf-8-sig":
            assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        rows = read_roster(path)
        assert rows[0].household_code == "H001"  # the BOM is not part of the first header
        assert validate(rows).ok


def test_gb18030_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", CLEAN_ROWS, "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    rows = read_roster(path)
    assert rows[0].name == "王建国" and rows[0].address == "清凉寺村1社3号"
    assert validate(rows).ok


def test_english_headers_title_row_blank_rows_and_numeric_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["清凉寺村花名册"])
    ws.append(["household_code", "name", "id_number", "relation", "phone", "grid_code"])
    ws.append([1001, "王建国", HEAD_A, "户主", 13800001111, int("62070210020101")])
    ws.append([])
    ws.append([1001, "李秀兰", WIFE_A, "妻", 13800002222.0, "62070210020101"])
    wb.save(tmp_path / "en.xlsx")
    rows = read_roster(tmp_path / "en.xlsx")
    assert [r.row_number for r in rows] == [3, 5]
    assert rows[0].household_code == "1001" and rows[1].phone == "13800002222"
    report = validate(rows)
    assert report.ok, report.format_text()
    assert report.valid[1].relation == "配偶"  # 户口簿 wording accepted


# --- the three bad rows ------------------------------------------------------------------------


def test_exactly_three_bad_rows(tmp_path: Path) -> None:
    rows = [
        *CLEAN_ROWS,
        ["H003", "赵刚", with_wrong_check(make_id("19800202", 661)), "户主", "", "62070210020101", "否", ""],  # row 7
        ["H003", "赵敏", SON_A, "子女", "", "62070210020101", "否", ""],  # row 8: duplicate of row 4
        ["H004", "孙明", make_id("20000303", 771), "子女", "", "62070210020102", "否", ""],  # row 9: no head
        ["H009", "周红", make_id("19990909", 882), "配偶", "", "62070210020102", "否", ""],  # existing household
    ]
    for path in (write_xlsx(tmp_path / "bad.xlsx", rows), write_csv(tmp_path / "bad.csv", rows, "utf-8")):
        report = validate(read_roster(path), existing={"H009"})
        assert codes_by_row(report) == {
            7: {"ID_NUMBER_CHECK_DIGIT"},
            8: {"ROSTER_DUPLICATE_ID"},
            9: {"ROSTER_UNKNOWN_HEAD"},
        }
        assert not report.ok and report.bad_rows == [7, 8, 9]
        assert len(report.valid) == 6 and report.rows_read == 9
        dup = next(e for e in report.errors if e.code == "ROSTER_DUPLICATE_ID")
        assert dup.field == "id_number" and "第 4 行" in dup.message_zh
        assert next(e for e in report.errors if e.row_number == 9).field == "household_code"

        text = report.format_text()
        assert "第 7 行 身份证号: 身份证号校验位错误" in text
        assert "有效 6 行，有误 3 行" in text.splitlines()[0]
        assert len(text.splitlines()) == 4
        assert not re.search(r"[0-9]{17}[0-9X]", text), "full ID numbers must not appear"


def test_unknown_head_reported_on_every_row_of_the_household(tmp_path: Path) -> None:
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", [
        ["H005", "甲", make_id("19900101", 11), "配偶", "", "62070210020101", "", ""],
        ["H005", "乙", make_id("20100101", 21), "子女", "", "62070210020101", "", ""],
    ]))
    report = validate(rows)
    assert [(e.row_number, e.code) for e in report.errors] == [(2, "ROSTER_UNKNOWN_HEAD"), (3, "ROSTER_UNKNOWN_HEAD")]


# --- every other check -------------------------------------------------------------------------


def test_every_problem_is_reported(tmp_path: Path) -> None:
    rows = [
        ["H010", "", "", "户主", "12345", "99999999999999", "也许", ""],  # 2: name, id missing; phone, grid, party
        ["H011", "钱一", make_id("19700101", 31), "户主", "", "62070210020101", "", ""],  # 3
        ["H011", "钱二", make_id("19720101", 41), "户主", "", "62070210020101", "", ""],  # 4: second head
        ["H011", "钱三", make_id("19950101", 51), "儿媳妇", "", "62070210020101", "", ""],  # 5: relation
        ["", "钱四", make_id("19960101", 61), "子女", "", "", "", ""],  # 6: household + grid missing
        ["H011", "钱五", "62070219960101123", "子女", "", "62070210020101", "", ""],  # 7: 17 chars
        ["H011", "钱六", make_id("20990101", 71)[:-1] + "0", "子女", "", "62070210020101", "", ""],  # 8: future
        ["H011", "钱七", "990702199601011234", "子女", "", "62070210020101", "", ""],  # 9: region
    ]
    report = validate(read_roster(write_xlsx(tmp_path / "all.xlsx", rows)))
    got = [(e.row_number, e.field, e.code) for e in report.errors]
    assert got == [
        (2, "name", "ROSTER_MISSING_FIELD"),
        (2, "id_number", "ROSTER_MISSING_FIELD"),
        (2, "phone", "PHONE_FORMAT"),
        (2, "grid_code", "ROSTER_UNKNOWN_GRID"),
        (2, "party_member", "ROSTER_PARTY_FLAG"),
        (3, "relation", "ROSTER_MULTIPLE_HEADS"),
        (4, "relation", "ROSTER_MULTIPLE_HEADS"),
        (5, "relation", "ROSTER_RELATION"),
        (6, "household_code", "ROSTER_MISSING_FIELD"),
        (6, "grid_code", "ROSTER_MISSING_FIELD"),
        (7, "id_number", "ID_NUMBER_FORMAT"),
        (8, "id_number", "ID_NUMBER_BIRTH_DATE"),
        (9, "id_number", "ID_NUMBER_REGION"),
    ]
    assert report.valid == []
    multiple = next(e for e in report.errors if e.code == "ROSTER_MULTIPLE_HEADS")
    assert "第 3、4 行" in multiple.message_zh
    assert all(e.message_zh and e.message_en for e in report.errors)


def test_party_flags(tmp_path: Path) -> None:
    flags = ["是", "否", "Y", "n", "1", "0", "TRUE", "false", ""]
    rows = [
        [f"H{i}", "某人", make_id("19800101", 100 + i), "户主", "", "62070210020101", flag, ""]
        for i, flag in enumerate(flags)
    ]
    report = validate(read_roster(write_csv(tmp_path / "p.csv", rows, "utf-8")))
    assert report.ok
    assert [r.party_member for r in report.valid] == [True, False, True, False, True, False, True, False, False]


def test_messages_mask_id_numbers(tmp_path: Path) -> None:
    # An ID typed into the relation column is echoed in the error, but masked.
    rows = [["H001", "王建国", HEAD_A, HEAD_A, "", "62070210020101", "", ""]]
    report = validate(read_roster(write_xlsx(tmp_path / "m.xlsx", rows)))
    assert HEAD_A not in report.format_text()
    assert all(HEAD_A not in e.message_zh + e.message_en for e in report.errors)
    assert f"{HEAD_A[:6]}********{HEAD_A[-4:]}" in report.format_text()


# --- format errors -----------------------------------------------------------------------------


def test_missing_columns(tmp_path: Path) -> None:
    header = ["户号", "姓名", "身份证号", "手机号"]
    for path in (write_xlsx(tmp_path / "m.xlsx", [], header), write_csv(tmp_path / "m.csv", [], "utf-8", header)):
        with pytest.raises(InvalidInput) as exc_info:
            read_roster(path)
        assert exc_info.value.code == "ROSTER_FORMAT"
        assert "与户主关系" in exc_info.value.message_zh and "网格" in exc_info.value.message_zh
        assert "姓名" not in exc_info.value.message_zh


@pytest.mark.parametrize("name", ["roster.xls", "roster.txt", "roster"])
def test_unsupported_file_type(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("户号,姓名\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc_info:
        read_roster(path)
    assert exc_info.value.code == "ROSTER_FORMAT"


def test_corrupt_xlsx_and_empty_csv(tmp_path: Path) -> None:
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    (tmp_path / "empty.csv").write_bytes(b"\xef\xbb\xbf\n\n")
    for name in ("bad.xlsx", "empty.csv"):
        with pytest.raises(InvalidInput) as exc_info:
            read_roster(tmp_path / name)
        assert exc_info.value.code == "ROSTER_FORMAT"


def test_bilingual_and_annotated_headers(tmp_path: Path) -> None:
    header = ["户号 [household_code]", "姓名*", "身份证号（必填）", "与户主关系", "网格编号", "联系电话"]
    rows = [["H001", "王建国", HEAD_A, "户主", "62070210020101", "13800001111"]]
    parsed = read_roster(write_xlsx(tmp_path / "h.xlsx", rows, header))
    assert parsed[0].household_code == "H001" and parsed[0].phone == "13800001111"
    assert validate(parsed).ok
