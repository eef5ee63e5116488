"""Names and notes refuse characters that hide or reorder text; rare characters are kept."""

from __future__ import annotations

import pytest

from backend.schemas import has_forbidden_character


@pytest.mark.parametrize("text", [
    "张三\x00", "备注\u202e反向", "王\u200b五", "李\u200d四", "\ufeff赵六", "注意\x1b[31m", "a\u2066b\u2069",
    "钱\x7f", "孙\x85", "周\u200f",
])
def test_hiding_and_reordering_characters_are_refused(text):
    assert has_forbidden_character(text)
    assert has_forbidden_character({"note": [text]})


@pytest.mark.parametrize("text", [
    "𠀀𪚥龘",            # 生僻字 outside the BMP
    "e\u0301 ñ",          # combining acute accent
    "第一行\n第二行\t制表",  # free text keeps newlines and tabs
    "欧阳·娜娜", "Ma Li",
])
def test_rare_characters_and_ordinary_text_are_kept(text):
    assert not has_forbidden_character(text)
