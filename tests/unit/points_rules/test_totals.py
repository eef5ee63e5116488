"""standing_from_totals (the county-wide recompute's path) grades exactly like standing()."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import EntryView, load_catalogue_dir, standing
from points_rules.totals import standing_from_totals

CATALOGUES = load_catalogue_dir()
AS_OF = date(2026, 9, 1)
GRADES = ("B", "C", "D")

entries = st.lists(
    st.builds(
        lambda i, points, start, length, override, counts: EntryView(
            entry_id=i, points=0 if override else points, valid_from=AS_OF - timedelta(days=start),
            valid_until=AS_OF - timedelta(days=start) + timedelta(days=length), grade_override=override,
            counts=counts),
        st.integers(1, 10_000), st.integers(-600, 600), st.integers(0, 800), st.integers(1, 1500),
        st.one_of(st.none(), st.sampled_from(GRADES)), st.booleans()),
    max_size=25, unique_by=lambda e: e.entry_id)


@settings(max_examples=300)
@given(entries)
def test_totals_path_matches_per_entry_standing(views):
    full = standing(CATALOGUES, views, AS_OF)
    live = [v for v in views if v.counts and v.valid_from <= AS_OF < v.valid_until]
    totals = standing_from_totals(CATALOGUES, AS_OF, sum(v.points for v in live),
                                  [(v.grade_override, v.valid_until) for v in live if v.grade_override])
    assert (totals.score, totals.grade, totals.grade_override, totals.override_until) == \
        (full.score, full.grade, full.grade_override, full.override_until)
