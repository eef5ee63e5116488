"""Hand-written SVG for township/county dashboards: grade distributions and their trends.

Pure functions, no I/O, no dependencies: each returns one ``<svg>`` document as text, ready
to serve as ``image/svg+xml`` or to inline into HTML. All caller text (titles, village
names, period names) is sanitised (characters XML cannot carry are dropped, whitespace is
collapsed) and escaped, so a village named ``<script>`` is just a village name.

Output is deterministic — the same input gives the identical string — because coordinates
are formatted with at most two decimals and nothing depends on time, randomness or set
order (dicts are read in insertion order).

Text widths are estimated (CJK characters one em wide, others ~0.62 em); the estimate is
used to size the label column, to decide whether a segment is wide enough to hold its
label, to wrap the legend and to tilt crowded period labels.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "BAR_WIDTH",
    "FONT_FAMILY",
    "GRADE_COLOURS",
    "GRADE_LABELS",
    "GRADE_ORDER",
    "SERIES_COLOURS",
    "bar_chart",
    "grade_distribution_chart",
    "trend_chart",
]

GRADE_ORDER = ("AAA", "AA", "A", "none")
GRADE_LABELS = {"AAA": "AAA", "AA": "AA", "A": "A", "none": "非信用户"}
# Ordinal single-hue scale (ColorBrewer Blues, readable under every colour-vision
# deficiency because the steps differ in lightness), "none" in neutral grey.
GRADE_COLOURS = {"AAA": "#08306B", "AA": "#2171B5", "A": "#6BAED6", "none": "#BDBDBD"}
# Okabe–Ito colours (yellow left out: invisible as a line on white). Lines also get
# different marker shapes, so even a colour repeated after seven series stays distinct.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
FONT_FAMILY = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', "
               "'PingFang SC', sans-serif")

EMPTY_TEXT = "暂无数据"
NO_HOUSEHOLDS_TEXT = "无农户"

TEXT_DARK = "#1A1A1A"
TEXT_MUTED = "#595959"
GRID = "#E3E3E3"
AXIS = "#8C8C8C"

# --- distribution chart geometry ---
BAR_WIDTH = 480          # every bar is this wide, whatever the label column needs
_MARGIN = 16
_GAP = 10
_LABEL_MIN, _LABEL_MAX = 40, 180
_TOTAL_W = 76
_ROW_H = 30
_BAR_H = 20
_TITLE_SIZE = 16
_FONT_SIZE = 13
_SMALL_SIZE = 11

# --- trend chart geometry ---
_TREND_WIDTH = 800
_PLOT_H = 260
_X_PAD = 28              # keeps the first and last points off the axis
_MARKER_R = 4.5

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# helpers


def _clean(text: object) -> str:
    """Caller text → one line XML 1.0 can carry (still to be escaped)."""
    return _SPACES.sub(" ", _NOT_XML.sub("", str(text))).strip()


def _t(text: str) -> str:
    return escape(text)


def _a(text: str) -> str:
    return quoteattr(text)


def _n(value: float) -> str:
    """Coordinate → at most two decimals, no trailing zeros, never ``-0``."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _char_em(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if unicodedata.combining(ch):
        return 0.0
    if ch in "il.,:;'|!ı":
        return 0.3
    if ch == " ":
        return 0.3
    if ch.isupper() or ch in "mwMW%@&":
        return 0.72
    return 0.6


def _text_width(text: str, size: float) -> float:
    return sum(_char_em(ch) for ch in text) * size


def _fit(text: str, width: float, size: float) -> str:
    """Cut ``text`` with an ellipsis so its estimated width fits ``width``."""
    if _text_width(text, size) <= width:
        return text
    out = ""
    budget = width - _text_width("…", size)
    used = 0.0
    for ch in text:
        used += _char_em(ch) * size
        if used > budget:
            break
        out += ch
    return out.rstrip() + "…"


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _ink_on(fill: str) -> str:
    """White or near-black text, whichever contrasts more with ``fill``."""
    lum = _luminance(fill)
    white = 1.05 / (lum + 0.05)
    dark = (lum + 0.05) / (_luminance(TEXT_DARK) + 0.05)
    return "#FFFFFF" if white >= dark else TEXT_DARK


def _document(title: str, width: float, height: float, body: list[str]) -> str:
    w, h = _n(width), _n(height)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family={_a(FONT_FAMILY)} font-size="{_FONT_SIZE}">'
    )
    return "\n".join([
        head,
        f"<title>{_t(title)}</title>",
        f'<rect class="background" x="0" y="0" width="{w}" height="{h}" fill="#FFFFFF"/>',
        *body,
        "</svg>",
    ]) + "\n"


def _title_text(title: str, x: float, width: float) -> str:
    """The visible heading, cut to the image width (``<title>`` keeps the whole text)."""
    shown = _fit(title, width - 2 * x, _TITLE_SIZE * 1.05)  # bold runs a little wider
    return (f'<text class="chart-title" x="{_n(x)}" y="28" font-size="{_TITLE_SIZE}" '
            f'font-weight="bold" fill="{TEXT_DARK}">{_t(shown)}</text>')


def _empty_state(title: str, width: float) -> str:
    height = 140
    body = [
        _title_text(title, _MARGIN, width),
        f'<rect x="{_MARGIN}" y="48" width="{_n(width - 2 * _MARGIN)}" height="{height - 64}" '
        f'fill="#FAFAFA" stroke="{GRID}" rx="4"/>',
        f'<text class="empty" x="{_n(width / 2)}" y="{_n(48 + (height - 64) / 2 + 5)}" '
        f'text-anchor="middle" font-size="14" fill="{TEXT_MUTED}">{_t(EMPTY_TEXT)}</text>',
    ]
    return _document(title, width, height, body)


def _percentages(counts: Sequence[int], total: int) -> list[int]:
    """Whole percentages that add up to exactly 100 (largest remainder; ties by order)."""
    floors = [c * 100 // total for c in counts]
    remainders = [c * 100 % total for c in counts]
    short = 100 - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors


# ---------------------------------------------------------------------------------------------
# grade distribution


def grade_distribution_chart(
    title: str,
    rows: Sequence[tuple[str, dict[str, int]]],
    *,
    percent: bool = True,
) -> str:
    """Horizontal 100%-stacked bars, one per village: ``rows`` is ``(label, {grade: count})``.

    Grades are drawn in ``GRADE_ORDER`` (missing grades count 0). A segment is labelled
    with its share (``percent=True``; whole percentages per row adding up to 100) or its
    count, if the label fits; every segment carries a tooltip with both. The household
    total is written right of each bar. A row with no households gets an outlined empty
    bar marked 无农户; no rows at all give a small chart saying 暂无数据.

    Raises ``ValueError`` for an unknown grade or a negative/non-integer count.
    """
    title = _clean(title)
    prepared: list[tuple[str, list[int]]] = []
    for label, dist in rows:
        unknown = set(dist) - set(GRADE_ORDER)
        if unknown:
            raise ValueError(f"unknown grade(s) {sorted(map(str, unknown))}; expected {GRADE_ORDER}")
        counts = []
        for grade in GRADE_ORDER:
            count = dist.get(grade, 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"count for {grade!r} must be a non-negative integer, got {count!r}")
            counts.append(count)
        prepared.append((_clean(label), counts))

    label_w = max((_text_width(label, _FONT_SIZE) for label, _ in prepared), default=0)
    label_w = min(max(label_w, _LABEL_MIN), _LABEL_MAX)
    bar_x = _MARGIN + label_w + _GAP
    total_x = bar_x + BAR_WIDTH + _GAP
    width = total_x + _TOTAL_W + _MARGIN
    legend_w = sum(12 + 6 + _text_width(GRADE_LABELS[g], 12) + 18 for g in GRADE_ORDER)
    width = max(width, _MARGIN * 2 + legend_w)

    if not prepared:
        return _empty_state(title, max(width, 400))

    body = [_title_text(title, _MARGIN, width)]

    # legend, in grade order, left-aligned over the bars
    body.append('<g class="legend">')
    x = bar_x
    for grade in GRADE_ORDER:
        name = GRADE_LABELS[grade]
        body.append(
            f'<rect x="{_n(x)}" y="42" width="12" height="12" rx="2" '
            f'fill="{GRADE_COLOURS[grade]}"/>'
            f'<text x="{_n(x + 18)}" y="52.5" font-size="12" fill="{TEXT_DARK}">{_t(name)}</text>'
        )
        x += 12 + 6 + _text_width(name, 12) + 18
    body.append("</g>")

    top = 68
    body.append(
        f'<text class="total-heading" x="{_n(total_x + _TOTAL_W)}" y="{top - 4}" '
        f'text-anchor="end" font-size="{_SMALL_SIZE}" fill="{TEXT_MUTED}">户数</text>'
    )
    for index, (label, counts) in enumerate(prepared):
        y = top + index * _ROW_H
        bar_y = y + (_ROW_H - _BAR_H) / 2
        text_y = bar_y + _BAR_H / 2 + 4.5
        total = sum(counts)
        body.append(f'<g class="row" data-label={_a(label)} data-total="{total}">')
        body.append(f"<title>{_t(label)}：{total} 户</title>")
        body.append(
            f'<text class="row-label" x="{_n(bar_x - _GAP)}" y="{_n(text_y)}" '
            f'text-anchor="end" fill="{TEXT_DARK}">{_t(_fit(label, label_w, _FONT_SIZE))}</text>'
        )
        if total == 0:
            body.append(
                f'<rect class="bar-empty" x="{_n(bar_x)}" y="{_n(bar_y)}" width="{BAR_WIDTH}" '
                f'height="{_BAR_H}" fill="#FAFAFA" stroke="{AXIS}" stroke-dasharray="4 3"/>'
                f'<text x="{_n(bar_x + BAR_WIDTH / 2)}" y="{_n(text_y)}" text-anchor="middle" '
                f'font-size="{_SMALL_SIZE}" fill="{TEXT_MUTED}">{_t(NO_HOUSEHOLDS_TEXT)}</text>'
            )
        else:
            shares = _percentages(counts, total)
            # Edges are rounded cumulatively, so the rounded widths always add up to BAR_WIDTH.
            cumulative = 0
            left = 0.0
            for grade, count, share in zip(GRADE_ORDER, counts, shares):
                cumulative += count
                right = round(cumulative * BAR_WIDTH / total, 2)
                seg_w = round(right - left, 2)
                seg_x = bar_x + left
                left = right
                if count == 0:
                    continue
                fill = GRADE_COLOURS[grade]
                tip = f"{label} · {GRADE_LABELS[grade]}：{count} 户（{share}%）"
                body.append(
                    f'<rect class="segment" data-grade="{grade}" data-count="{count}" '
                    f'x="{_n(seg_x)}" y="{_n(bar_y)}" width="{_n(seg_w)}" height="{_BAR_H}" '
                    f'fill="{fill}"><title>{_t(tip)}</title></rect>'
                )
                text = f"{share}%" if percent else str(count)
                if _text_width(text, _SMALL_SIZE) + 8 <= seg_w:
                    body.append(
                        f'<text class="segment-label" x="{_n(seg_x + seg_w / 2)}" '
                        f'y="{_n(text_y - 0.5)}" text-anchor="middle" font-size="{_SMALL_SIZE}" '
                        f'fill="{_ink_on(fill)}">{_t(text)}</text>'
                    )
            # thin white separators between segments (drawn over, widths stay exact)
            edge = 0
            for count in counts[:-1]:
                edge += count
                if 0 < edge < total and count:
                    sx = bar_x + round(edge * BAR_WIDTH / total, 2)
                    body.append(
                        f'<line x1="{_n(sx)}" y1="{_n(bar_y)}" x2="{_n(sx)}" '
                        f'y2="{_n(bar_y + _BAR_H)}" stroke="#FFFFFF" stroke-width="1"/>'
                    )
        body.append(
            f'<text class="row-total" x="{_n(total_x + _TOTAL_W)}" y="{_n(text_y)}" '
            f'text-anchor="end" fill="{TEXT_DARK}">{total} 户</text>'
        )
        body.append("</g>")

    # 0–100% scale under the bars
    axis_y = top + len(prepared) * _ROW_H + 4
    body.append('<g class="axis">')
    body.append(
        f'<line x1="{_n(bar_x)}" y1="{_n(axis_y)}" x2="{_n(bar_x + BAR_WIDTH)}" '
        f'y2="{_n(axis_y)}" stroke="{AXIS}"/>'
    )
    for pct in (0, 25, 50, 75, 100):
        tx = bar_x + BAR_WIDTH * pct / 100
        body.append(
            f'<line x1="{_n(tx)}" y1="{_n(axis_y)}" x2="{_n(tx)}" y2="{_n(axis_y + 4)}" '
            f'stroke="{AXIS}"/><text x="{_n(tx)}" y="{_n(axis_y + 17)}" text-anchor="middle" '
            f'font-size="{_SMALL_SIZE}" fill="{TEXT_MUTED}">{pct}%</text>'
        )
    body.append("</g>")
    height = axis_y + 17 + 12
    return _document(title, width, height, body)


# ---------------------------------------------------------------------------------------------
# plain bars


def bar_chart(title: str, rows: Sequence[tuple[str, int]], *, unit: str = "", scale_max: int | None = None,
              shown: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per row: ``rows`` is ``(label, value)`` with whole, non-negative values.

    Bars are scaled to ``scale_max`` (e.g. 1000 for permille) or to the largest value; each
    bar's text is ``shown[i]`` when given (e.g. ``"66.7%"``), else the value and ``unit``. No rows
    gives a small chart saying 暂无数据. Raises ``ValueError`` for a negative/non-integer value.
    """
    title = _clean(title)
    prepared = []
    for index, (label, value) in enumerate(rows):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"value for {label!r} must be a non-negative integer, got {value!r}")
        text = _clean(shown[index]) if shown is not None else f"{value}{_clean(unit)}"
        prepared.append((_clean(label), value, text))
    label_w = min(max(max((_text_width(lb, _FONT_SIZE) for lb, _, _ in prepared), default=0), _LABEL_MIN), _LABEL_MAX)
    bar_x = _MARGIN + label_w + _GAP
    width = bar_x + BAR_WIDTH + _GAP + _TOTAL_W + _MARGIN
    if not prepared:
        return _empty_state(title, max(width, 400))
    top = max(scale_max or 0, max(v for _, v, _ in prepared)) or 1
    body = [_title_text(title, _MARGIN, width)]
    first = 48
    for index, (label, value, text) in enumerate(prepared):
        y = first + index * _ROW_H
        bar_y = y + (_ROW_H - _BAR_H) / 2
        text_y = bar_y + _BAR_H / 2 + 4.5
        bar_w = round(value * BAR_WIDTH / top, 2)
        body.append(f'<g class="row" data-label={_a(label)} data-value="{value}">')
        body.append(f"<title>{_t(label)}：{_t(text)}</title>")
        body.append(f'<text class="row-label" x="{_n(bar_x - _GAP)}" y="{_n(text_y)}" text-anchor="end" '
                    f'fill="{TEXT_DARK}">{_t(_fit(label, label_w, _FONT_SIZE))}</text>')
        body.append(f'<rect x="{_n(bar_x)}" y="{_n(bar_y)}" width="{BAR_WIDTH}" height="{_BAR_H}" fill="#FAFAFA" '
                    f'stroke="{GRID}"/>')
        if bar_w > 0:
            body.append(f'<rect class="bar" x="{_n(bar_x)}" y="{_n(bar_y)}" width="{_n(bar_w)}" height="{_BAR_H}" '
                        f'fill="{SERIES_COLOURS[0]}"/>')
        body.append(f'<text class="row-value" x="{_n(bar_x + BAR_WIDTH + _GAP)}" y="{_n(text_y)}" '
                    f'fill="{TEXT_DARK}">{_t(text)}</text>')
        body.append("</g>")
    height = first + len(prepared) * _ROW_H + _MARGIN
    return _document(title, width, height, body)


# ---------------------------------------------------------------------------------------------
# trend


def _nice_step(raw: float) -> int:
    """Smallest 1/2/5 × 10^k (at least 1) not below ``raw``."""
    if raw <= 1:
        return 1
    exponent = math.floor(math.log10(raw))
    for base in (1, 2, 5, 10):
        step = base * 10 ** exponent
        if step >= raw:
            return int(step)
    return int(10 ** (exponent + 1))  # pragma: no cover - loop always returns


def _marker(shape: int, cx: float, cy: float, colour: str, tip: str, cls: str = "marker") -> str:
    r = _MARKER_R
    common = f'class="{cls}" fill="{colour}" stroke="#FFFFFF" stroke-width="1"'
    tip_el = f"<title>{_t(tip)}</title>"
    if shape == 0:
        return f'<circle {common} cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}">{tip_el}</circle>'
    if shape == 1:
        s = r * 0.9
        return (f'<rect {common} x="{_n(cx - s)}" y="{_n(cy - s)}" width="{_n(2 * s)}" '
                f'height="{_n(2 * s)}">{tip_el}</rect>')
    if shape == 2:
        s = r * 1.25
        pts = [(cx, cy - s), (cx + s, cy), (cx, cy + s), (cx - s, cy)]
    else:
        s = r * 1.3
        pts = [(cx, cy - s), (cx + s * 0.87, cy + s * 0.5), (cx - s * 0.87, cy + s * 0.5)]
    points = " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
    return f'<polygon {common} points="{points}">{tip_el}</polygon>'


def trend_chart(
    title: str,
    periods: Sequence[str],
    series: dict[str, Sequence[int | None]],
    *,
    y_label: str = "信用户占比 (%)",
    y_max: int | None = 100,
) -> str:
    """Line chart over rating periods: one line with markers per entry of ``series``.

    Each series has one value per period; ``None`` leaves a gap (the line is broken there,
    a lone value still shows as a marker). The y axis starts at 0 and runs to ``y_max``
    (raised to a round number if the data goes higher) or, with ``y_max=None``, to a round
    number above the data. Series named like grades (``"AAA"`` … ``"none"``) use the grade
    colours and names. No periods, no series or no values at all give 暂无数据.

    Raises ``ValueError`` if a series' length differs from ``periods`` or a value is negative.
    """
    title = _clean(title)
    y_label = _clean(y_label)
    period_names = [_clean(p) for p in periods]
    n = len(period_names)
    lines: list[tuple[str, str, list[float | None]]] = []
    grade_named = bool(series) and all(name in GRADE_COLOURS for name in series)
    for index, (name, values) in enumerate(series.items()):
        values = list(values)
        if len(values) != n:
            raise ValueError(f"series {name!r} has {len(values)} values for {n} periods")
        clean_values: list[float | None] = []
        for v in values:
            if v is None:
                clean_values.append(None)
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"series {name!r}: values must be non-negative numbers or None, got {v!r}")
            clean_values.append(float(v))
        if grade_named:
            display, colour = GRADE_LABELS[name], GRADE_COLOURS[name]
        else:
            display, colour = _clean(name), SERIES_COLOURS[index % len(SERIES_COLOURS)]
        lines.append((display, colour, clean_values))

    width = _TREND_WIDTH
    present = [v for _, _, vals in lines for v in vals if v is not None]
    if not n or not lines or not present:
        return _empty_state(title, width)

    # y scale: 0 … top, about five gridlines
    data_max = max(present)
    wanted = max(data_max, y_max if y_max is not None else 0, 1)
    step = _nice_step(wanted / 5)
    top_value = math.ceil(wanted / step) * step
    ticks = list(range(0, top_value + 1, step))

    tick_w = max(_text_width(str(t), _SMALL_SIZE) for t in ticks)
    plot_left = _MARGIN + tick_w + 8
    plot_right = width - 24
    plot_top = 72
    plot_bottom = plot_top + _PLOT_H
    plot_w = plot_right - plot_left

    def y_of(v: float) -> float:
        return plot_bottom - v / top_value * _PLOT_H

    # x labels: level if they fit between neighbours, otherwise tilted by 40°; a tilted
    # first label reaches left of its point, so the plot moves right to make room for it.
    label_widths = [_text_width(p, _SMALL_SIZE) for p in period_names]
    tilted = n > 1 and max(label_widths) > (plot_w - 2 * _X_PAD) / (n - 1) - 6
    if tilted:
        first_w = _text_width(_fit(period_names[0], 110, _SMALL_SIZE), _SMALL_SIZE)
        plot_left = max(plot_left, _MARGIN / 2 + first_w * math.cos(math.radians(40)) - _X_PAD)
        plot_w = plot_right - plot_left
    if n == 1:
        xs = [plot_left + plot_w / 2]
        spacing = plot_w
    else:
        spacing = (plot_w - 2 * _X_PAD) / (n - 1)
        xs = [plot_left + _X_PAD + i * spacing for i in range(n)]

    body = [_title_text(title, _MARGIN, width)]
    if y_label:
        body.append(
            f'<text class="y-label" x="{_MARGIN}" y="{plot_top - 16}" font-size="12" '
            f'fill="{TEXT_MUTED}">{_t(_fit(y_label, width - 2 * _MARGIN, 12))}</text>'
        )

    # gridlines and y tick labels
    body.append('<g class="y-axis">')
    for t in ticks:
        gy = y_of(t)
        body.append(
            f'<line x1="{_n(plot_left)}" y1="{_n(gy)}" x2="{_n(plot_right)}" y2="{_n(gy)}" '
            f'stroke="{AXIS if t == 0 else GRID}"/>'
            f'<text x="{_n(plot_left - 6)}" y="{_n(gy + 4)}" text-anchor="end" '
            f'font-size="{_SMALL_SIZE}" fill="{TEXT_MUTED}">{t}</text>'
        )
    body.append("</g>")

    body.append('<g class="x-axis">')
    for x, name in zip(xs, period_names):
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(plot_bottom)}" x2="{_n(x)}" y2="{_n(plot_bottom + 4)}" '
            f'stroke="{AXIS}"/>'
        )
        if tilted:
            lx, ly = x, plot_bottom + 14
            shown = _fit(name, 110, _SMALL_SIZE)
            body.append(
                f'<text x="{_n(lx)}" y="{_n(ly)}" text-anchor="end" font-size="{_SMALL_SIZE}" '
                f'fill="{TEXT_DARK}" transform="rotate(-40 {_n(lx)} {_n(ly)})">{_t(shown)}</text>'
            )
        else:
            shown = _fit(name, max(spacing - 6, 24) if n > 1 else plot_w, _SMALL_SIZE)
            body.append(
                f'<text x="{_n(x)}" y="{_n(plot_bottom + 18)}" text-anchor="middle" '
                f'font-size="{_SMALL_SIZE}" fill="{TEXT_DARK}">{_t(shown)}</text>'
            )
    body.append("</g>")
    x_labels_h = (max(_text_width(_fit(p, 110, _SMALL_SIZE), _SMALL_SIZE) for p in period_names)
                  * math.sin(math.radians(40)) + 20) if tilted else 24

    # lines, then markers on top
    for index, (name, colour, values) in enumerate(lines):
        parts: list[str] = []
        pen_down = False
        for x, v in zip(xs, values):
            if v is None:
                pen_down = False
                continue
            parts.append(f"{'L' if pen_down else 'M'}{_n(x)},{_n(y_of(v))}")
            pen_down = True
        body.append(f'<g class="series" data-name={_a(name)}>')
        body.append(
            f'<path class="line" d="{" ".join(parts)}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>'
        )
        for x, v, period in zip(xs, values, period_names):
            if v is not None:
                body.append(_marker(index % 4, x, y_of(v), colour, f"{name} · {period}：{_n(v)}"))
        body.append("</g>")

    # legend below, flowing onto as many rows as needed
    legend_top = plot_bottom + x_labels_h + 14
    body.append('<g class="legend">')
    x, row = _MARGIN, 0
    for index, (name, colour, _) in enumerate(lines):
        shown = _fit(name, 200, 12)
        item_w = 26 + 6 + _text_width(shown, 12) + 18
        if x > _MARGIN and x + item_w > width - _MARGIN:
            x, row = _MARGIN, row + 1
        ly = legend_top + row * 22
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(ly)}" x2="{_n(x + 26)}" y2="{_n(ly)}" stroke="{colour}" '
            f'stroke-width="2.5"/>'
            + _marker(index % 4, x + 13, ly, colour, name, "legend-marker")
            + f'<text x="{_n(x + 32)}" y="{_n(ly + 4.5)}" font-size="12" '
            f'fill="{TEXT_DARK}">{_t(shown)}</text>'
        )
        x += item_w
    body.append("</g>")
    height = legend_top + row * 22 + 18
    return _document(title, width, height, body)
