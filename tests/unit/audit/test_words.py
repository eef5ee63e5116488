"""The access-log vocabulary: every token the code logs has Chinese words, and nothing falls
through to a villager as an English token."""

from __future__ import annotations

import ast
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backend.audit import words

ROOT = Path(__file__).resolve().parents[3]
# Code that writes the log (the audit slice itself only reads it back).
SOURCES = [p for d in ("backend", "admin") for p in (ROOT / d).rglob("*.py") if "audit" not in p.parts]
LOGGING_CALLS = {"authorize_read", "log_reads", "AccessLog"}
ASCII_WORD = re.compile(r"[A-Za-z_]{2,}")


def _strings(node: ast.AST, scopes: list[dict[str, list[ast.AST]]], depth: int = 0) -> set[str]:
    """String constants in an expression; a name is followed to its assignment in the enclosing
    function or at module level (anywhere in the sources), two levels deep."""
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            out.add(sub.value)
        elif isinstance(sub, ast.JoinedStr):  # f"admin_ui:{method}" → "admin_ui:"
            head = sub.values[0]
            if isinstance(head, ast.Constant):
                out.add(head.value)
        elif isinstance(sub, ast.Name) and depth < 2:
            for scope in scopes:
                if sub.id in scope:
                    for value in scope[sub.id]:
                        out |= _strings(value, scopes, depth + 1)
                    break
    return out


def _assigns(body: list[ast.stmt], *, nested: bool) -> dict[str, list[ast.AST]]:
    found: dict[str, list[ast.AST]] = {}
    nodes = [n for stmt in body for n in ast.walk(stmt)] if nested else body
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
    return found


def _logged_tokens() -> tuple[set[str], set[str]]:
    """(fields, purposes) passed to the logging calls, and to helpers that forward ``purpose``."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in SOURCES]
    module_level: dict[str, list[ast.AST]] = {}
    forwarders: dict[str, int | None] = {}  # function with a ``purpose`` parameter → its position
    field_forwarders: set[str] = set()  # functions with a ``fields`` parameter
    for tree in trees:
        for name, values in _assigns(tree.body, nested=False).items():
            module_level.setdefault(name, []).extend(values)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                positional = [a.arg for a in node.args.args]
                if "fields" in positional + [a.arg for a in node.args.kwonlyargs]:
                    field_forwarders.add(node.name)
                if "purpose" in positional:
                    forwarders[node.name] = positional.index("purpose")
                elif "purpose" in [a.arg for a in node.args.kwonlyargs]:
                    forwarders[node.name] = None
    fields: set[str] = set()
    purposes: set[str] = set()
    for tree in trees:
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            scopes = [_assigns(function.body, nested=True), module_level]
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                for kw in node.keywords:
                    if kw.arg == "fields" and (name in LOGGING_CALLS or name in field_forwarders):
                        fields |= _strings(kw.value, scopes)
                    if kw.arg == "purpose" and (name in LOGGING_CALLS or name in forwarders):
                        purposes |= _strings(kw.value, scopes)
                position = forwarders.get(name)
                if name not in LOGGING_CALLS and position is not None and position < len(node.args) \
                        and isinstance(node.args[position], ast.Constant):
                    purposes |= _strings(node.args[position], [])
    # A forwarder passes its own ``purpose`` parameter on: that name is not a token.
    return fields - {""}, purposes - {""}


def test_the_scanner_finds_the_tokens_in_use():
    fields, purposes = _logged_tokens()
    assert {"points", "id_number_full", "credit_event", "rating", "admin_ui"} <= fields
    assert {"points_view", "event_review", "rating_approval", "evidence_view", "admin_ui:"} <= purposes
    assert len(fields) >= 20 and len(purposes) >= 15


def test_every_logged_token_has_words():
    fields, purposes = _logged_tokens()
    assert sorted(fields - set(words.FIELD_ZH)) == []
    assert sorted(p for p in purposes if words.why_zh(p) == words.UNKNOWN_PURPOSE_ZH) == []


def test_every_word_is_chinese():
    for table in (words.FIELD_ZH, words.PURPOSE_ZH, words.ROLE_ZH, words.GENERIC_ORG_ZH, words.ROLE_PURPOSE_ZH):
        for token, text in table.items():
            assert not ASCII_WORD.search(text), (token, text)


def test_unknown_tokens_never_reach_the_villager():
    assert words.what_zh(["brand_new_field"]) == [words.UNKNOWN_FIELD_ZH]
    assert words.what_zh([]) == [words.UNKNOWN_FIELD_ZH]
    assert words.why_zh("brand_new_purpose") == words.UNKNOWN_PURPOSE_ZH
    assert words.why_zh("consented_rating_pull", "bank") == "银行授信查询（经您同意）"
    assert words.why_zh("admin_ui:get") == words.PURPOSE_ZH["admin_ui"]
    assert words.role_zh("new_role") == words.UNKNOWN_ROLE_ZH
    assert words.org_zh("account", "new_role", "") == words.UNKNOWN_ORG_ZH
    assert words.org_zh("admin_user", "county_admin", "") == words.ADMIN_UI_ORG_ZH


def test_what_reads_like_a_list():
    assert words.what_zh(["points", "grade", "ledger_entries"]) == ["信用积分", "信用等级", "积分明细"]
    full = words.what_zh(["name", "id_number", "id_number_full", "phone", "phone_full", "household"])
    assert full == ["姓名", "身份证号（完整）", "手机号（完整）", "所在家庭（户）"]
    assert words.what_zh(["id_number"]) == ["身份证号（部分隐藏）"]
    assert words.what_zh(["odd_one", "other_odd"]) == [words.UNKNOWN_FIELD_ZH]


@pytest.mark.parametrize("name, kind, expected", [
    ("梁家墩镇", "镇", "梁家墩镇人民政府"),
    ("花寨", "乡", "花寨乡人民政府"),
    ("新墩街道", "街道", "新墩街道办事处"),
])
def test_township_organisation(name, kind, expected):
    assert words.township_org(name, kind) == expected


@pytest.mark.parametrize("name, kind, expected", [
    ("清凉寺村", "村", "清凉寺村村民委员会"),
    ("梁家墩社区", "社区", "梁家墩社区居民委员会"),
])
def test_village_organisation(name, kind, expected):
    assert words.village_org(name, kind) == expected


def test_when_is_beijing_time():
    # 01:30 UTC on 1 July is 09:30 in Beijing; 16:05 UTC on 31 Dec is already 1 January there.
    assert words.when_zh(datetime(2026, 7, 1, 1, 30, tzinfo=timezone.utc)) == "2026年7月1日 09:30"
    assert words.when_zh(datetime(2026, 12, 31, 16, 5, tzinfo=timezone.utc)) == "2027年1月1日 00:05"


def test_about_whom():
    assert words.about_zh("person", 7, 7, None) == "您本人"
    assert words.about_zh("person", 8, 7, "李芳") == "家庭成员 李芳"
    assert words.about_zh("household", None, 7, None) == "您家（全户）"
