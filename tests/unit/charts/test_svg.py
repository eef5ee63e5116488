"""SVG charts: well-formed, accessible, escaped, geometrically honest, deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.charts.svg import (
    BAR_WIDTH,
    GRADE_COLOURS,
    GRADE_LABELS,
    GRADE_ORDER,
    grade_distribution_chart,
    trend_chart,
)

NS = {"s": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>&"'


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return root


def all_text(root: ET.Element) -> str:
    return "".join(root.itertext())


def rows_of(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//s:g[@class='row']", NS)


def segments(row: ET.Element) -> list[ET.Element]:
    return row.findall("s:rect[@class='segment']", NS)


def widths(row: ET.Element) -> dict[str, float]:
    return {seg.get("data-grade"): float(seg.get("width")) for seg in segments(row)}


def series_groups(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//s:g[@class='series']", NS)


def path_points(group: ET.Element) -> list[tuple[float, float]]:
    paths = group.findall("s:path", NS)
    assert len(paths) == 1
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", paths[0].get("d"))]


def markers(group: ET.Element) -> list[ET.Element]:
    return [el for el in group if el.get("class") == "marker"]


# --- document basics ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: grade_distribution_chart("清溪镇等级分布", [("东岙村", {"AAA": 1, "AA": 2, "A": 3, "none": 4})]),
    lambda: grade_distribution_chart("清溪镇等级分布", []),
    lambda: trend_chart("清溪镇等级分布", ["2024", "2025"], {"东岙村": [10, 20]}),
    lambda: trend_chart("清溪镇等级分布", [], {}),
])
def test_document_has_title_viewbox_size_and_cjk_fonts(make):
    text = make()
    root = parse(text)
    title = root.find("s:title", NS)
    assert root[0] is title and title.text == "清溪镇等级分布"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 0 and height > 0
    assert "Noto Sans CJK SC" in root.get("font-family")
    assert root.get("font-family").rstrip().endswith("sans-serif")
    assert text == make()  # deterministic


def test_grade_constants():
    assert GRADE_ORDER == ("AAA", "AA", "A", "none")
    assert set(GRADE_COLOURS) == set(GRADE_ORDER) == set(GRADE_LABELS)
    assert GRADE_LABELS["none"] == "非信用户"
    assert len(set(GRADE_COLOURS.values())) == 4


# --- distribution ------------------------------------------------------------------------------

def test_one_row_group_per_village_with_proportional_segments():
    root = parse(grade_distribution_chart("分布", [
        ("甲村", {"AAA": 1, "AA": 1, "A": 2, "none": 0}),
        ("乙村", {"AAA": 1, "none": 2}),
        ("丙村", {"AAA": 1, "AA": 1, "A": 1}),
    ]))
    rows = rows_of(root)
    assert [r.get("data-label") for r in rows] == ["甲村", "乙村", "丙村"]
    assert widths(rows[0]) == {"AAA": BAR_WIDTH / 4, "AA": BAR_WIDTH / 4, "A": BAR_WIDTH / 2}
    assert widths(rows[1]) == {"AAA": pytest.approx(BAR_WIDTH / 3, abs=0.01),
                               "none": pytest.approx(2 * BAR_WIDTH / 3, abs=0.01)}
    assert sum(widths(rows[2]).values()) == pytest.approx(BAR_WIDTH, abs=1e-9)
    # segments in grade order, each starting where the previous one ends
    segs = segments(rows[0])
    assert [s.get("data-grade") for s in segs] == ["AAA", "AA", "A"]
    for a, b in zip(segs, segs[1:]):
        assert float(a.get("x")) + float(a.get("width")) == pytest.approx(float(b.get("x")))
    assert [s.get("fill") for s in segs] == [GRADE_COLOURS[g] for g in ("AAA", "AA", "A")]
    # totals at the right
    totals = [r.find("s:text[@class='row-total']", NS).text for r in rows]
    assert totals == ["4 户", "3 户", "3 户"]


def test_percent_labels_add_up_to_100_and_counts_mode_shows_counts():
    rows = [("丙村", {"AAA": 1, "AA": 1, "A": 1})]
    root = parse(grade_distribution_chart("分布", rows))
    labels = [t.text for t in root.findall(".//s:text[@class='segment-label']", NS)]
    assert labels == ["34%", "33%", "33%"]
    root = parse(grade_distribution_chart("分布", rows, percent=False))
    labels = [t.text for t in root.findall(".//s:text[@class='segment-label']", NS)]
    assert labels == ["1", "1", "1"]


def test_narrow_segments_are_not_labelled_but_keep_a_tooltip():
    root = parse(grade_distribution_chart("分布", [("丁村", {"AAA": 1, "none": 999})]))
    (row,) = rows_of(root)
    labels = [t.text for t in row.findall("s:text[@class='segment-label']", NS)]
    assert labels == ["100%"]  # 0.1% rounds away; only the wide segment is labelled
    aaa = next(s for s in segments(row) if s.get("data-grade") == "AAA")
    assert "1 户" in aaa.find("s:title", NS).text


def test_row_without_households_is_drawn_empty():
    root = parse(grade_distribution_chart("分布", [("新村", {}), ("旧村", {"AAA": 0, "none": 0})]))
    rows = rows_of(root)
    assert len(rows) == 2
    for row in rows:
        assert segments(row) == []
        assert row.get("data-total") == "0"
        assert "无农户" in all_text(row)
        assert row.find("s:text[@class='row-total']", NS).text == "0 户"


def test_no_rows_shows_empty_state():
    root = parse(grade_distribution_chart("分布", []))
    assert rows_of(root) == []
    assert root.find(".//s:text[@class='empty']", NS).text == "暂无数据"


def test_labels_and_title_are_escaped():
    text = grade_distribution_chart(f"标题 {NASTY}", [(NASTY, {"AAA": 3, "none": 1})])
    assert "<script>" not in text
    root = parse(text)
    assert root.find("s:title", NS).text == f"标题 {NASTY}"
    (row,) = rows_of(root)
    assert row.get("data-label") == NASTY
    assert row.find("s:text[@class='row-label']", NS).text == NASTY


def test_control_characters_and_long_labels_do_not_break_the_document():
    long = "上塘村委会第三经济合作社" * 5
    root = parse(grade_distribution_chart("a\x00b\x1f", [("x\x0by\nz", {"A": 1}), (long, {"AA": 2})]))
    assert root.find("s:title", NS).text == "ab"
    first, second = rows_of(root)
    assert first.get("data-label") == "xy z"
    shown = second.find("s:text[@class='row-label']", NS).text
    assert shown.endswith("…") and len(shown) < len(long)
    assert second.get("data-label") == long  # full name kept for tooltips/tests


@pytest.mark.parametrize("dist", [{"B": 1}, {"AAA": -1}, {"AA": 1.5}, {"A": True}])
def test_invalid_distribution_rejected(dist):
    with pytest.raises(ValueError):
        grade_distribution_chart("分布", [("村", dist)])


labels = st.text(max_size=30)
distributions = st.dictionaries(st.sampled_from(GRADE_ORDER), st.integers(0, 10**6))


@settings(max_examples=150, deadline=None)
@given(title=labels, rows=st.lists(st.tuples(labels, distributions), max_size=8), percent=st.booleans())
def test_random_distributions_are_valid_and_widths_add_up(title, rows, percent):
    root = parse(grade_distribution_chart(title, rows, percent=percent))
    drawn = rows_of(root)
    assert len(drawn) == len(rows)
    for row, (_, dist) in zip(drawn, rows):
        total = sum(dist.values())
        assert row.get("data-total") == str(total)
        got = widths(row)
        if total == 0:
            assert got == {}
            continue
        assert sum(got.values()) == pytest.approx(BAR_WIDTH, abs=0.01)
        for grade, width in got.items():
            assert width == pytest.approx(dist[grade] / total * BAR_WIDTH, abs=0.011)
        assert set(got) == {g for g, c in dist.items() if c}
        texts = [t.text for t in row.findall("s:text[@class='segment-label']", NS)]
        if not percent:
            assert all(int(t) in dist.values() for t in texts)
        elif len(texts) == len(got):
            assert sum(int(t.removesuffix("%")) for t in texts) == 100


# --- trend -------------------------------------------------------------------------------------

def test_one_line_per_series_with_a_point_per_value():
    periods = ["2024", "2025", "2026"]
    series = {"东岙村": [40, 52, 61], "西岭村": [12, None, 25], "大溪村": [None, None, 70]}
    root = parse(trend_chart("趋势", periods, series))
    groups = series_groups(root)
    assert [g.get("data-name") for g in groups] == list(series)
    for group, values in zip(groups, series.values()):
        present = [v for v in values if v is not None]
        assert len(path_points(group)) == len(present)
        assert len(markers(group)) == len(present)
    # a gap starts a new sub-path instead of bridging it
    gap_d = groups[1].find("s:path", NS).get("d")
    assert gap_d.count("M") == 2 and "L" not in gap_d
    # x positions shared across series, increasing with the period
    xs = [x for x, _ in path_points(groups[0])]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert [x for x, _ in path_points(groups[1])] == [xs[0], xs[2]]


def test_y_axis_ticks_gridlines_and_scale():
    root = parse(trend_chart("趋势", ["2025", "2026"], {"村": [0, 50]}, y_max=100))
    axis = root.find(".//s:g[@class='y-axis']", NS)
    tick_labels = [t.text for t in axis.findall("s:text", NS)]
    assert tick_labels == ["0", "20", "40", "60", "80", "100"]
    grid_y = [float(line.get("y1")) for line in axis.findall("s:line", NS)]
    (group,) = series_groups(root)
    (_, y0), (_, y50) = path_points(group)
    assert y0 == pytest.approx(grid_y[0])
    assert y50 == pytest.approx((grid_y[0] + grid_y[-1]) / 2)
    assert "信用户占比 (%)" in all_text(root)


def test_auto_y_max_covers_the_data():
    root = parse(trend_chart("户数", ["2025", "2026"], {"AAA": [12, 137]}, y_label="户数", y_max=None))
    ticks = [int(t.text) for t in root.findall(".//s:g[@class='y-axis']/s:text", NS)]
    assert ticks[0] == 0 and ticks[-1] >= 137 and len(ticks) <= 7
    # grade-named series use grade colours and names
    (group,) = series_groups(root)
    assert group.get("data-name") == "AAA"
    assert group.find("s:path", NS).get("stroke") == GRADE_COLOURS["AAA"]
    root = parse(trend_chart("户数", ["2026"], {"none": [3]}, y_max=None))
    assert series_groups(root)[0].get("data-name") == "非信用户"


def test_single_period():
    root = parse(trend_chart("单期", ["2026"], {"甲": [30], "乙": [None]}))
    first, second = series_groups(root)
    assert len(path_points(first)) == 1 and len(markers(first)) == 1
    assert path_points(second) == [] and markers(second) == []
    assert "2026" in all_text(root.find(".//s:g[@class='x-axis']", NS))


@pytest.mark.parametrize("periods, series", [
    ([], {}),
    (["2025"], {}),
    ([], {"甲": []}),
    (["2025", "2026"], {"甲": [None, None]}),
])
def test_trend_empty_state(periods, series):
    root = parse(trend_chart("趋势", periods, series))
    assert series_groups(root) == []
    assert root.find(".//s:text[@class='empty']", NS).text == "暂无数据"


@pytest.mark.parametrize("series", [{"甲": [1]}, {"甲": [1, 2, 3]}, {"甲": [1, -2]}])
def test_trend_invalid_series_rejected(series):
    with pytest.raises(ValueError):
        trend_chart("趋势", ["2025", "2026"], series)


def test_trend_escapes_names_periods_and_labels():
    text = trend_chart(NASTY, [NASTY, "2026"], {NASTY: [1, 2]}, y_label=NASTY)
    assert "<script>" not in text
    root = parse(text)
    assert root.find("s:title", NS).text == NASTY
    assert series_groups(root)[0].get("data-name") == NASTY


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(0, 12), y_max=st.one_of(st.none(), st.integers(1, 1000)))
def test_random_trends_are_valid(data, n, y_max):
    periods = data.draw(st.lists(labels, min_size=n, max_size=n))
    series = data.draw(st.dictionaries(
        labels, st.lists(st.one_of(st.none(), st.integers(0, 10**6)), min_size=n, max_size=n), max_size=6))
    root = parse(trend_chart(data.draw(labels), periods, series, y_max=y_max))
    groups = series_groups(root)
    if not groups:
        assert "暂无数据" in all_text(root)
        return
    assert len(groups) == len(series)
    plot_top = min(float(t.get("y1")) for t in root.findall(".//s:g[@class='y-axis']/s:line", NS))
    for group, values in zip(groups, series.values()):
        points = path_points(group)
        assert len(points) == sum(v is not None for v in values)
        assert all(y >= plot_top - 0.01 for _, y in points)
