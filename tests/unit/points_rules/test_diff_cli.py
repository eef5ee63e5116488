"""Version diff and the ``cunxin rules`` commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from backend.rules_cli import rules
from points_rules import DEFAULT_CATALOGUE_DIR, diff_versions, load_catalogue_dir, load_version_file

CAT = load_catalogue_dir()
V1, V2 = CAT.version("2026.1"), CAT.version("2026.2")


def test_diff_of_the_shipped_versions():
    changes = diff_versions(V1, V2)
    assert [(c.kind, c.code, c.field, c.old, c.new) for c in changes] == [
        ("added", "ENV-WASTE-SORTING", None, None, "垃圾分类示范户"),
        ("changed", "GRID-CLEANUP", "cap_per_year", "12", "15"),
        ("changed", "GRID-CLEANUP", "points.took_part", "参加 +1", "参加 +2"),
        ("changed", "GRID-CLEANUP", "points.outstanding", "参加且表现突出 +3", "参加且表现突出 +4"),
        ("changed", "GRID-CLEANUP", "points.organised", "组织带领 +5", "组织带领 +6"),
    ]
    assert changes[0].text_zh == "新增事项 ENV-WASTE-SORTING（垃圾分类示范户，+1.5）"
    assert changes[1].text_zh == "事项 GRID-CLEANUP：年度上限 12 → 15"
    assert changes[1].text_en == "item GRID-CLEANUP: cap_per_year 12 → 15"
    backwards = diff_versions(V2, V1)
    assert backwards[0].kind == "removed" and backwards[0].code == "ENV-WASTE-SORTING"
    assert diff_versions(V1, V1) == []


def test_diff_reports_threshold_and_scoring_changes(tmp_path):
    text = (DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml").read_text(encoding="utf-8")
    text = text.replace("{grade: AA, min: 1030, max: 1049}", "{grade: AA, min: 1040, max: 1049}")
    text = text.replace("{grade: A, min: 960, max: 1029}", "{grade: A, min: 960, max: 1039}")
    text = text.replace("recording_window: {months: 1}", "recording_window: {days: 15}")
    (tmp_path / "2026-07-01.yaml").write_text(text, encoding="utf-8")
    changed = load_version_file(tmp_path / "2026-07-01.yaml")
    scoring = [(c.field, c.old, c.new) for c in diff_versions(V2, changed)]
    assert scoring == [("recording_window", "1个月", "15天"), ("grades.AA", "≥1030", "≥1040")]


def test_cli_check_ok():
    result = CliRunner().invoke(rules, ["check"])
    assert result.exit_code == 0, result.output
    assert "OK 3 个版本 (versions); 最新 (latest) 2026.2, 21 个事项 (items)" in result.output


def test_cli_check_prints_file_line_path_and_exits_1(tmp_path):
    d = tmp_path / "cat"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, d)
    path = d / "2026-01-01.yaml"
    text = path.read_text(encoding="utf-8")
    line = text[:text.index("direction: negative")].count("\n") + 1
    path.write_text(text.replace("direction: negative", "direction: sideways", 1), encoding="utf-8")
    result = CliRunner().invoke(rules, ["check", str(d)])
    assert result.exit_code == 1
    assert (f"{path}:{line}: items[2].direction: 取值“sideways”无效，应为：positive、negative "
            f"(invalid value 'sideways'; expected one of: positive, negative)") in result.output


def test_cli_diff_by_version_id_and_by_file():
    result = CliRunner().invoke(rules, ["diff", "2026.1", "2026.2"])
    assert result.exit_code == 0, result.output
    assert "2026.1（2026-01-01）→ 2026.2（2026-07-01）" in result.output
    assert "+ 新增事项 ENV-WASTE-SORTING" in result.output
    assert "~ 事项 GRID-CLEANUP：年度上限 12 → 15" in result.output
    assert "5 处变化 (changes)" in result.output
    by_file = CliRunner().invoke(rules, ["diff", str(DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml"), "2026.1"])
    assert by_file.exit_code == 0 and "- 新增事项" not in by_file.output and "删除事项 ENV-WASTE-SORTING" in by_file.output
    unknown = CliRunner().invoke(rules, ["diff", "2026.1", "2031.9"])
    assert unknown.exit_code == 2 and "RULES_UNKNOWN_VERSION" in unknown.output


def test_rules_cli_and_engine_import_no_database_or_web_layer():
    code = ("import sys, backend.rules_cli, points_rules; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'piccolo', 'asyncpg', 'litestar', 'redis', 'arq'}))"
            "; print(sorted(m for m in sys.modules if m.startswith('backend.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3]).stdout.splitlines()
    assert out == ["[]", "['backend.rules_cli']"]
