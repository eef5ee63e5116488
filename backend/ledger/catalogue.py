"""The catalogue in force: the shipped default (or CUNXIN_CATALOGUE_DIR) plus each county's own
published versions (``backend.catalogue``).

``catalogues(county_id)`` stays synchronous — pure-ish code calls it everywhere — and reads an
in-memory registry of the published county versions. The registry is loaded at start-up (app and
worker) and brought up to date by ``await refresh_catalogues()``, which costs one query
(``count(*)`` of published rows: a published row is never unpublished or deleted, so the count
changes exactly when something was published) and reloads only then. The app refreshes before
every request (``backend.catalogue.middleware``), the worker before every job (``on_job_start``),
so no process scores with a stale set after a publish. Reads (GET, HEAD, OPTIONS) may skip the
check for up to ``READ_MAX_AGE`` seconds after the last one: another process's publish reaches a
read at most that late, while every write still checks first (tested in
``tests/integration/catalogue/test_catalogue_refresh.py``). ``county_id=None`` is the shipped set.
"""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache
from pathlib import Path

from points_rules import CatalogueSet, CatalogueVersion, load_catalogue_dir
from points_rules.validation import check_version
from points_rules.yaml_source import parse_yaml

logger = logging.getLogger("cunxin.catalogue")


@lru_cache(maxsize=1)
def shipped() -> CatalogueSet:
    """The shipped default every county starts from."""
    configured = os.environ.get("CUNXIN_CATALOGUE_DIR")
    return load_catalogue_dir(Path(configured) if configured else None)


_published: dict[int, tuple[CatalogueVersion, ...]] = {}
_sets: dict[int, CatalogueSet] = {}
_marker: int | None = None
_checked_at: float | None = None  # time.monotonic() of the last count
READ_MAX_AGE = 1.0  # seconds a read may go on the last check (a write never does)


def _monotonic() -> float:
    return time.monotonic()


def catalogues(county_id: int | None = None) -> CatalogueSet:
    """The county's catalogue set: the shipped versions plus the county's published ones."""
    base = shipped()
    if county_id is None or county_id not in _published:
        return base
    found = _sets.get(county_id)
    if found is None:
        found = _sets[county_id] = CatalogueSet(base.versions + _published[county_id])
    return found


def version_of_row(row: dict) -> CatalogueVersion:
    """A stored upload's text as a version (it was checked at upload; a problem now is a bug)."""
    version, problems = check_version(parse_yaml(row["yaml"], f"county-{row['county']}/{row['version']}.yaml"))
    if version is None:
        raise RuntimeError(f"stored catalogue version {row['id']} no longer validates: {problems[:3]}")
    return version


async def refresh_catalogues(*, force: bool = False, max_age: float = 0.0) -> bool:
    """Reload the county versions if anything was published since the last load (True if reloaded).
    ``max_age``: skip the check altogether if the last one is younger than this (reads only)."""
    global _marker, _published, _sets, _checked_at
    from backend.db import fetch

    now = _monotonic()
    if max_age and not force and _checked_at is not None and now - _checked_at < max_age:
        return False
    count = (await fetch("SELECT count(*) AS n FROM county_catalogue_version WHERE status = 'published'"))[0]["n"]
    _checked_at = now
    if count == _marker and not force:
        return False
    rows = await fetch("SELECT id, county, version, yaml FROM county_catalogue_version WHERE status = 'published' "
                       "ORDER BY county, effective_from")
    published: dict[int, list[CatalogueVersion]] = {}
    for row in rows:
        published.setdefault(row["county"], []).append(version_of_row(row))
    _published = {county: tuple(vs) for county, vs in published.items()}
    _sets = {}
    _marker = count
    return True


async def county_of(kind: str, subject_id: int) -> int | None:
    """The county a subject belongs to (``backend.auth.scope.locate``), for ``catalogues(county_id)``."""
    from backend.auth import scope

    where = await scope.locate(kind, subject_id)
    if where is not None:
        return where.county_id
    from backend.db import fetch  # a person with no household now: where their events were recorded

    rows = await fetch("SELECT t.county FROM credit_event e JOIN township t ON t.id = e.township_id "
                       "WHERE e.subject_kind = {} AND e.subject_id = {} LIMIT 1", kind, subject_id)
    return rows[0]["county"] if rows else None


async def county_of_township(township_id: int) -> int | None:
    from backend.db import fetch

    rows = await fetch("SELECT county FROM township WHERE id = {}", township_id)
    return rows[0]["county"] if rows else None


def points_text(tenths: int, *, signed: bool = True) -> str:
    """Tenths of a point as the API shows them, always with one decimal: 25 → "+2.5", -100 → "-10.0"
    (points_rules.units.format_points is the human form that drops ".0" in explanations)."""
    sign = "-" if tenths < 0 else ("+" if signed and tenths > 0 else "")
    whole, tenth = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{tenth}"
