"""``bar_chart``: well-formed, escaped, bars proportional to their values, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.charts.svg import BAR_WIDTH, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


@given(st.lists(st.tuples(st.text(max_size=12), st.integers(0, 10**6)), min_size=1, max_size=12))
def test_bars_are_proportional_and_the_output_deterministic(rows):
    text = bar_chart("标题", rows)
    assert text == bar_chart("标题", rows)
    root = ET.fromstring(text)
    top = max(v for _, v in rows) or 1
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "row"]
    assert len(groups) == len(rows)
    for g in groups:
        value = int(g.get("data-value"))
        filled = [r for r in g.iter(f"{SVG}rect") if r.get("class") == "bar"]
        width = float(filled[0].get("width")) if filled else 0.0
        assert abs(width - value * BAR_WIDTH / top) <= 0.01


def test_labels_are_escaped_and_shown_text_used():
    text = bar_chart('<script>&"', [('<b>', 500)], scale_max=1000, shown=["50.0%"])
    assert "<script>" not in text and "<b>" not in text
    root = ET.fromstring(text)
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "row-value"]
    assert values == ["50.0%"]
    bar = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar")
    assert float(bar.get("width")) == BAR_WIDTH / 2


def test_empty_and_bad_values():
    assert "暂无数据" in bar_chart("空", [])
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            bar_chart("坏", [("x", bad)])
