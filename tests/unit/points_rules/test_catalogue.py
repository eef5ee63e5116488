"""Loading, validation (with file and line), and the shipped catalogue's content."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from points_rules import (
    DEFAULT_CATALOGUE_DIR, POINT_UNIT, CatalogueError, RuleError, check_catalogue_dir, load_catalogue_dir,
    load_version_file, tier_points,
)
from points_rules.model import CATEGORIES, PUBLICITY, DirectGrade, FixedPoints, LevelPoints, TieredPoints
from .catalogue_copies import copy_catalogue, edit

CAT = load_catalogue_dir()
V1 = CAT.version("2026.1")


def test_shipped_catalogue_is_valid():
    assert check_catalogue_dir() == []
    assert [(v.version, v.effective_from) for v in CAT.versions] == [
        ("2020.1", date(2020, 1, 1)), ("2026.1", date(2026, 1, 1)), ("2026.2", date(2026, 7, 1))]


def test_shipped_scoring_matches_the_reference_numbers():
    s = V1.scoring
    assert POINT_UNIT == 10
    assert s.base == 10000
    assert [(b.grade, b.min) for b in s.grades] == [
        ("AAA", 10500), ("AA", 10300), ("A", 9600), ("B", 8500), ("C", 6000), ("D", None)]
    assert (s.default_grade, s.grade_after_repair) == ("A", "A")
    assert s.direct_downgrade_years == {"B": 2, "C": 3, "D": 5}
    assert s.recording_window.deadline(date(2026, 3, 15)) == date(2026, 4, 15)
    assert [(r.up_to, r.years) for r in s.deduction_years] == [(400, 1), (None, 2)]
    assert s.honour_years == {"national": 5, "provincial": 3, "city": 2, "county": 1, "township": 1, "village": 1}


def test_shipped_items_match_the_reference_numbers():
    vol = V1.item("VOL-HOURS").points
    assert isinstance(vol, TieredPoints)
    assert [(t.at, t.total) for t in vol.tiers] == [
        (Decimal(h), p * 10) for h, p in ((10, 2), (20, 5), (50, 10), (80, 15), (100, 20), (150, 25),
                                          (200, 30), (250, 40), (300, 50))]
    assert tier_points(vol, Decimal("9.9")) == 0 and tier_points(vol, Decimal(120)) == 200
    assert tier_points(vol, Decimal(1000)) == 500

    def levels(code):
        rule = V1.item(code).points
        assert isinstance(rule, LevelPoints)
        return {lv.key: lv.points for lv in rule.levels}

    assert levels("WAGE-ARREARS") == {"up_to_2_months": -100, "months_2_to_6": -300,
                                      "over_6_months_or_malicious": -500}
    assert V1.item("WAGE-ARREARS").subject_kinds == ("person", "organisation")
    assert list(levels("GRID-MEDIATION").values()) == [10, 30, 50, 100]
    assert list(levels("GRID-CLEANUP").values()) == [10, 30, 50]
    assert list(CAT.version("2026.2").item("GRID-CLEANUP").points.levels[i].points for i in range(3)) == [20, 40, 60]
    assert levels("HONOUR") == {"national": 300, "provincial": 200, "city": 100, "county": 50,
                                "township": 30, "village": 10}
    assert V1.item("GRID-FAKE-ENTRY").points == FixedPoints(-500)
    assert V1.item("JUDGMENT-DEFAULTER").points == DirectGrade("D")


def test_every_item_has_the_article_32_fields_and_negative_items_need_review():
    for version in CAT.versions:
        for item in version.items:
            assert item.category in CATEGORIES
            assert item.disclosure.publicity in PUBLICITY
            assert item.behaviour_zh and item.disclosure.legal_basis and item.disclosure.source
            if item.direction == "negative":
                assert item.needs_review, item.code
    categories = {i.category for i in V1.items}
    assert {"志愿服务", "孝老爱亲", "环境卫生", "网格治理", "拖欠农民工工资", "失信被执行人", "表彰奖励",
            "信用承诺", "公益慈善"} <= categories


def test_item_lookup():
    assert V1.item("HONOUR").name_zh == "表彰奖励"
    with pytest.raises(RuleError) as err:
        V1.item("ENV-WASTE-SORTING")
    assert err.value.code == "RULES_UNKNOWN_ITEM"


# --- broken copies: every problem, with its file and line --------------------------------------------




def _line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    return text[:text.index(needle)].count("\n") + 1


def test_check_reports_each_injected_error_at_its_file_and_line(tmp_path):
    d = copy_catalogue(tmp_path)
    v1, v2 = d / "2026-01-01.yaml", d / "2026-07-01.yaml"
    overlap = edit(v1, "{grade: AA, min: 1030, max: 1049}", "{grade: AA, min: 1030, max: 1050}")
    tier = edit(v1, "{at: 80, total: 15}", "{at: 40, total: 15}")
    sign = edit(v1, "    direction: positive\n    points: 2\n", "    direction: positive\n    points: -2\n") + 1
    unknown = edit(v1, "  - code: BLOOD-DONATION\n", "  - code: BLOOD-DONATION\n    colour: red\n") + 1
    decimals = edit(v2, "points: 1.5", "points: 1.25")
    duplicate = edit(v2, "code: CUSTOMS-REFORM", "code: BLOOD-DONATION")
    review = edit(v2, "    points: -20\n    subject_kinds: [person]\n    validity: by_rule\n"
                       "    logged_by: [grid_worker, township_admin, county_admin]\n    evidence: required\n"
                       "    needs_review: true",
                   "    points: -20\n    subject_kinds: [person]\n    validity: by_rule\n"
                   "    logged_by: [grid_worker, township_admin, county_admin]\n    evidence: required\n"
                   "    needs_review: false") + 5
    enum = edit(v2, "publicity: 依申请公开", "publicity: 全部公开")

    problems = check_catalogue_dir(d)
    found = {(Path(p.file).name, p.line, p.path) for p in problems}
    expected = {
        ("2026-01-01.yaml", overlap, "scoring.grades[1].max"),
        ("2026-01-01.yaml", tier, "items[0].points.tiered.tiers[3].at"),
        ("2026-01-01.yaml", sign, "items[1].points"),
        ("2026-01-01.yaml", unknown, "items[18].colour"),
        ("2026-07-01.yaml", decimals, "items[5].points"),
        ("2026-07-01.yaml", duplicate, "items[20].code"),
        ("2026-07-01.yaml", review, "items[2].needs_review"),
        ("2026-07-01.yaml", enum, "items[0].disclosure.publicity"),
    }
    assert expected <= found, sorted(found)
    assert len(problems) == len(expected), [str(p) for p in problems]
    by_path = {p.path: p for p in problems}
    assert "重叠" in by_path["scoring.grades[1].max"].message_zh
    assert "overlaps" in by_path["scoring.grades[1].max"].message_en
    assert "严格递增" in by_path["items[0].points.tiered.tiers[3].at"].message_zh
    assert "负数" not in by_path["items[1].points"].message_zh and "正数" in by_path["items[1].points"].message_zh
    assert "colour" in by_path["items[18].colour"].message_en
    assert "BLOOD-DONATION" in by_path["items[20].code"].message_zh

    with pytest.raises(CatalogueError) as err:
        load_catalogue_dir(d)
    assert len(err.value.problems) == len(problems)


def test_check_reports_missing_fields_gaps_yaml_errors_and_duplicate_versions(tmp_path):
    d = copy_catalogue(tmp_path)
    v1, v2 = d / "2026-01-01.yaml", d / "2026-07-01.yaml"
    gap = edit(v1, "{grade: B, min: 850, max: 959}", "{grade: B, min: 850, max: 949}")
    item_line = _line_of(v1, "  - code: HONOUR")
    edit(v1, "    evidence: required\n    needs_review: false\n    disclosure:\n      publicity: 依申请公开\n"
              "      sharing_scope: 县信用信息共享平台；经本人同意后可在红榜公开\n      source: 表彰决定机关",
          "    needs_review: false\n    disclosure:\n      publicity: 依申请公开\n"
          "      sharing_scope: 县信用信息共享平台；经本人同意后可在红榜公开\n      source: 表彰决定机关")
    version_line = edit(v2, 'version: "2026.2"', 'version: "2026.1"')
    dup_key = edit(v2, "    category: 志愿服务\n", "    category: 志愿服务\n    category: 志愿服务\n") + 1
    (d / "2027-01-01.yaml").write_text('version: "2027.1"\neffective_from: 2027-01-01\nitems: [\n  {code: X\n',
                                       encoding="utf-8")

    problems = check_catalogue_dir(d)
    found = {(Path(p.file).name, p.line, p.path) for p in problems}
    assert ("2026-01-01.yaml", gap, "scoring.grades[3].max") in found
    assert ("2026-01-01.yaml", item_line, "items[14]") in found                 # missing evidence: the item's line
    assert ("2026-07-01.yaml", version_line, "version") in found
    assert ("2026-07-01.yaml", dup_key, "items[0].category") in found
    broken = [p for p in problems if p.file.endswith("2027-01-01.yaml")]
    assert len(broken) == 1 and broken[0].line == 5 and "YAML" in broken[0].message_en
    messages = {p.path: p.message_zh for p in problems}
    assert "空档" in messages["scoring.grades[3].max"]
    assert "evidence" in messages["items[14]"]
    assert "重复" in messages["version"]


def test_check_catches_thresholds_out_of_order(tmp_path):
    d = copy_catalogue(tmp_path)
    order = edit(d / "2026-01-01.yaml", "{grade: C, min: 600, max: 849}", "{grade: C, min: 900}")
    problems = check_catalogue_dir(d)
    # C's min 900 is above B's 850 (order), and D's max 599 now leaves 600–899 uncovered (gap).
    assert [(p.line, p.path) for p in problems] == [(order, "scoring.grades[4].min"), (order + 1, "scoring.grades[5].max")]


def test_check_wants_files_named_after_their_effective_date(tmp_path):
    d = copy_catalogue(tmp_path)
    (d / "2026-07-01.yaml").rename(d / "2026-08-01.yaml")
    problems = check_catalogue_dir(d)
    assert [(Path(p.file).name, p.path) for p in problems] == [("2026-08-01.yaml", "effective_from")]
    assert "2026-07-01.yaml" in problems[0].message_zh


def test_empty_or_missing_directory(tmp_path):
    assert check_catalogue_dir(tmp_path)[0].message_en.startswith("the directory holds no")
    assert check_catalogue_dir(tmp_path / "nope")[0].message_en == "no such directory"


def test_load_version_file_and_no_floats_in_the_model():
    version = load_version_file(DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml")
    assert version.version == "2026.2"
    assert version.item("ENV-WASTE-SORTING").points == FixedPoints(15)

    def walk(value):
        assert not isinstance(value, float)
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k), walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(CAT)
