"""How the report prints a rating's grade at each level (the figures keep the codes)."""

from backend.reports.render import _grade_zh


def test_grades_are_printed_in_words():
    assert _grade_zh("household", "AAA") == "AAA级"
    assert _grade_zh("household", "none") == "非信用户"
    assert _grade_zh("village", "credit") == "信用村" and _grade_zh("village", "none") == "未达标"
    assert _grade_zh("township", "credit") == "信用乡镇" and _grade_zh("township", "none") == "未达标"
