"""Ratings benchmark: ``full_recompute()`` of a synthetic county, against one hand-written SQL
aggregate over the same data measured in the same run (so the ratio means something on any machine).

Steps: create a throw-away database ``cunxin_bench_<hex>`` on the server in DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), migrate it with the real CLI
(``python -m backend.cli migrate``), fill it with ``INSERT … SELECT … generate_series`` (a county of
townships, villages, grids, households, people, memberships and ledger entries with realistic
distributions: mostly small positive and negative points valid today, some expired, a few large
deductions and family-charge items, very few direct grades, some household-level entries, some
reversals), then time

* the baseline: one SQL statement that rates every household (members' in-force point sums,
  the adults' mean, family charges, disqualifications), rolls them up to villages (share of
  credit households, serious-dishonesty limit) and to townships — the same rules, hard-coded;
* ``backend.ratings.recompute.full_recompute()`` in-process with a Piccolo pool: compute, drift
  report and storing every standing row (person, household, village, township); with the peak
  resident memory of this process while it runs (``VmHWM``, reset just before it).

The baseline runs twice, with the server's settings and with the session settings the recompute
gives its own transaction (``STREAM_SETTINGS``: no JIT, more work_mem, …); the ratio is taken
against the faster of the two.

Both must agree on the number of credit households and credit villages (checked; exit code 1 if
not). The database is dropped at the end. Ledger rows carry dummy, distinct hashes (the chain is not what
is measured) and people dummy identifiers.

    scripts/bench_ratings.py [--households 150000] [--people 500000] [--entries 5000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from backend import clock
from backend.dbadmin import server_sql, with_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CHUNK = 250_000
console = Console(width=None if sys.stdout.isatty() else 120)


def migrate(env: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cunxin migrate failed:\n{done.stdout}\n{done.stderr}")


# --- generating the county ------------------------------------------------------------------------------------


async def generate(conn: asyncpg.Connection, args: argparse.Namespace, today: date, progress: Progress) -> dict:
    """A county 'BENCH' of the given size, beside whatever the database holds (the reads bench grows the demo
    database with it); ids are looked up within the new county."""
    H, P, E = args.households, args.people, args.entries
    V = max(1, H // args.households_per_village)
    T = max(1, V // args.villages_per_township)
    G = V * 4
    structure = progress.add_task("registry 登记", total=6)
    people_task = progress.add_task("people 居民", total=P)
    ledger_task = progress.add_task("ledger 积分记录", total=E)
    index_task = progress.add_task("indexes 索引", total=1)

    await conn.execute("SELECT setseed(0.2026)")
    county = await conn.fetchval("INSERT INTO county (code, name) VALUES ('BENCH', '基准区') RETURNING id")
    await conn.execute("""INSERT INTO township (code, name, kind, county)
                          SELECT 'BT' || g, '基准镇' || g, '镇', $1 FROM generate_series(1, $2) g""", county, T)
    tmin = await conn.fetchval("SELECT min(id) FROM township WHERE county = $1", county)
    progress.advance(structure)
    await conn.execute("""INSERT INTO village (county_id, code, name, kind, township)
                          SELECT $4, 'BV' || g, '基准村' || g, '村', $1 + (g - 1) % $2 FROM generate_series(1, $3) g""",
                       tmin, T, V, county)
    vmin = await conn.fetchval("SELECT min(id) FROM village WHERE county_id = $1", county)
    progress.advance(structure)
    await conn.execute("""INSERT INTO grid (county_id, code, name, village)
                          SELECT $3, 'BG' || g, '网格' || g, $1 + (g - 1) / 4 FROM generate_series(1, $2) g""", vmin, G,
                       county)
    gmin = await conn.fetchval("SELECT min(id) FROM grid WHERE county_id = $1", county)
    progress.advance(structure)
    # households spread over the grids (and so the villages) evenly
    await conn.execute("""INSERT INTO household (county_id, code, village, grid, address, created_at)
                          SELECT $5, 'BH' || g, $1 + ((g - 1) % $3) / 4, $2 + (g - 1) % $3, '', now()
                          FROM generate_series(1, $4) g""", vmin, gmin, G, H, county)
    hmin = await conn.fetchval("SELECT min(id) FROM household WHERE county_id = $1", county)
    progress.advance(structure)

    # people: the first H are the heads (adults, 25–85); the rest join a random household (so sizes vary,
    # 1 + Poisson), aged 0–90 (about one in five is a child)
    for start in range(1, P + 1, CHUNK):
        end = min(P, start + CHUNK - 1)
        await conn.execute(
            """INSERT INTO person (county_id, name, id_number_cipher, id_number_hash, id_number_masked, sex,
                                   birth_date, is_party_member, created_at)
               SELECT $5, '居民' || g, 'bench', 'bench-' || g, '620702********' || lpad((g % 10000)::text, 4, '0'),
                      CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END,
                      $3::date - (CASE WHEN g <= $4 THEN 25 + floor(random() * 60) ELSE floor(random() * 90) END
                                  * 365.25 + floor(random() * 365))::int,
                      false, now()
               FROM generate_series($1::int, $2::int) g""", start, end, today, H, county)
        progress.update(people_task, completed=end)
    pmin = await conn.fetchval("SELECT min(id) FROM person WHERE county_id = $1", county)
    await conn.execute(
        """INSERT INTO household_membership (county_id, person, household, relation, valid_from, valid_to, reason,
                                         recorded_at)
           SELECT $5, $1 + g - 1,
                  CASE WHEN g <= $3 THEN $2 + g - 1 ELSE $2 + floor(random() * $3)::int END,
                  CASE WHEN g <= $3 THEN '户主' WHEN random() < 0.4 THEN '配偶' ELSE '子女' END,
                  DATE '2020-01-01', NULL, '', now()
           FROM generate_series(1, $4) g""", pmin, hmin, H, P, county)
    progress.advance(structure)
    await conn.execute("""INSERT INTO standing_household (county_id, household_id, village_id, township_id, grid_id, score,
                                                           grade, is_credit, serious_dishonesty, catalogue_version,
                                                           as_of, explanation_zh, computed_at)
                          SELECT county_id, id, village, 0, grid, 650, 'A', true, false, '', $1, '', now() FROM household
                          WHERE county_id = $2 AND id % 997 = 0""", today, county)  # a few stale rows: the drift report has work to do
    progress.advance(structure)

    # ledger entries: the bulk load skips triggers (the chain and the reversal check are not measured)
    # and rebuilds the ledger's secondary indexes afterwards
    await conn.execute("SET session_replication_role = replica")
    indexes = await conn.fetch("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entry'
                                  AND indexname NOT IN (SELECT conname FROM pg_constraint
                                                        WHERE conrelid = 'ledger_entry'::regclass)""")
    for ix in indexes:
        await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
    for start in range(1, E + 1, CHUNK):
        end = min(E, start + CHUNK - 1)
        await conn.execute(LEDGER_SQL, start, end, today, hmin, H, pmin, P, county)
        progress.update(ledger_task, completed=end)
    # reversals (corrections) of about one entry in 200; they and the entries they reverse stop counting
    reversals = await conn.execute(
        """INSERT INTO ledger_entry (county_id, event, subject_kind, subject_id, person_id, household_id, item_code,
                                     catalogue_version, points, valid_from, valid_until, grade_override, quantity,
                                     act_id, reverses_entry, reason, explanation_zh, explanation, created_by,
                                     created_at, prev_hash, hash)
           SELECT county_id, NULL, subject_kind, subject_id, person_id, household_id, item_code, catalogue_version, -points,
                  valid_from, valid_until, NULL, NULL, NULL, id, '冲正', '', '{}', NULL, now(), 'pr-' || id, 'r-' || id
           FROM ledger_entry WHERE county_id = $1 AND id % 200 = 0 AND grade_override IS NULL""", county)
    await conn.execute("RESET session_replication_role")
    for ix in indexes:
        await conn.execute(ix["indexdef"])
    await conn.execute("ANALYZE")
    progress.advance(index_task)
    return {"townships": T, "villages": V, "grids": G, "households": H, "people": P, "entries": E,
            "reversals": int(reversals.split()[-1])}


# What an entry is: (share of entries, item, subject kind, points in tenths — one picked at random —, direct grade).
# Mostly small positive items; small deductions; a few large deductions (2-year validity above 40 points)
# and family-charge items; very few direct grades (5-year term); 15 % household-level.
ENTRY_MIX = [
    (0.240, "VOL-HOURS", "person", [20, 30, 50, 50], None),
    (0.200, "GRID-CLEANUP", "person", [20, 20, 40, 60], None),
    (0.120, "COMMITMENT-KEPT", "person", [20], None),
    (0.070, "GRID-MEDIATION", "person", [10, 10, 30, 50], None),
    (0.070, "HONOUR", "person", [10, 30, 50, 50, 100, 200], None),
    (0.080, "ENV-DUMPING", "person", [-20, -20, -40], None),
    (0.013, "WAGE-ARREARS", "person", [-100], None),
    (0.004, "WAGE-ARREARS", "person", [-300, -500], None),
    (0.0015, "COMMITMENT-BROKEN", "person", [-200], None),
    (0.0010, "FILIAL-NEGLECT", "person", [-200], None),
    (0.0004, "DOMESTIC-VIOLENCE", "person", [-300], None),
    (0.0001, "JUDGMENT-DEFAULTER", "person", [0], "D"),
    (0.110, "ENV-COURTYARD", "household", [10, 10, 30], None),
    (0.030, "ENV-DUMPING", "household", [-20], None),
]
ENTRY_MIX.append((1 - sum(m[0] for m in ENTRY_MIX), "COMMITMENT-KEPT", "person", [20], None))  # the rest


def _mix_values() -> str:
    rows, low = [], 0.0
    for share, item, kind, points, grade in ENTRY_MIX:
        high = 1.0 if (share, item) == (ENTRY_MIX[-1][0], ENTRY_MIX[-1][1]) else low + share
        rows.append(f"({round(low, 6)!r}::float8, {round(high, 6)!r}::float8, '{item}', '{kind}', ARRAY{points}::int[], "
                    f"{'NULL' if grade is None else repr(grade)}::text)")
        low = high
    return ",\n    ".join(rows)


# Per row: r1 picks the kind of entry, r2 the subject, r3 the points, r4 the event date (0–500 days ago:
# with 1-year validity about 3 in 4 are in force today).
LEDGER_SQL = f"""
WITH mix (low, high, item, kind, points, grade) AS (VALUES
    {_mix_values()}
)
INSERT INTO ledger_entry (county_id, event, subject_kind, subject_id, person_id, household_id, item_code,
                          catalogue_version, points, valid_from, valid_until, grade_override, quantity, act_id,
                          reverses_entry, reason, explanation_zh, explanation, created_by, created_at, prev_hash, hash)
SELECT $8::int, NULL, kind, subject, CASE WHEN kind = 'person' THEN subject END, CASE WHEN kind = 'household' THEN subject END,
       item, '2026.2', points, valid_from,
       (valid_from + make_interval(years => CASE WHEN grade IS NOT NULL THEN 5 WHEN abs(points) > 400 THEN 2
                                                 ELSE 1 END))::date,
       grade, NULL, NULL, NULL, '', '', '{{}}', NULL, now(), 'pb-' || g, 'b-' || g
FROM (
  SELECT r.g, m.kind, m.item, m.grade,
         CASE WHEN m.kind = 'household' THEN $4 + floor(r.r2 * $5)::int ELSE $6 + floor(r.r2 * $7)::int END AS subject,
         m.points[1 + floor(r.r3 * cardinality(m.points))::int] AS points,
         $3::date - floor(r.r4 * 500)::int AS valid_from
  FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4
        FROM generate_series($1::int, $2::int) g) r
  JOIN mix m ON r.r1 >= m.low AND r.r1 < m.high
) t
"""


# --- the baseline: one SQL statement ---------------------------------------------------------------------------

BASELINE_SQL = """
WITH live AS (
  SELECT e.subject_kind, e.subject_id, e.points, e.item_code, e.grade_override
  FROM ledger_entry e
  WHERE e.valid_from <= $1 AND e.valid_until > $1 AND e.reverses_entry IS NULL
    AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
), totals AS (
  SELECT subject_kind, subject_id, sum(points) AS points,
         coalesce(sum(points) FILTER (WHERE item_code IN ('FILIAL-NEGLECT', 'DOMESTIC-VIOLENCE')), 0) AS family,
         bool_or(item_code = 'JUDGMENT-DEFAULTER') AS serious,
         bool_or(grade_override IS NOT NULL) AS overridden,
         bool_or(grade_override = 'D') AS override_d
  FROM live GROUP BY subject_kind, subject_id
), members AS (
  SELECT m.household, coalesce(t.points, 0) AS points, coalesce(t.family, 0) AS family,
         {worth} AS worth,
         coalesce(t.serious, false) AS serious, coalesce(t.overridden, false) AS overridden,
         p.birth_date + interval '18 years' <= $1 AS adult,
         10000 + coalesce(t.points, 0) < 6000 OR coalesce(t.override_d, false) AS grade_d
  FROM household_membership m JOIN person p ON p.id = m.person
  LEFT JOIN totals t ON t.subject_kind = 'person' AND t.subject_id = m.person
  WHERE m.valid_from <= $1 AND (m.valid_to IS NULL OR m.valid_to >= $1)
), hh AS (
  SELECT h.id, h.village, count(m.household) AS n, count(*) FILTER (WHERE m.adult) AS adults,
         coalesce(sum(m.worth) FILTER (WHERE m.adult), 0) AS s_adults,
         coalesce(sum(m.worth), 0) AS s_all, coalesce(sum(m.family), 0) AS family,
         coalesce(bool_or(m.grade_d OR m.overridden OR m.serious), false) AS disqualified,
         coalesce(bool_or(m.serious), false) AS serious
  FROM household h LEFT JOIN members m ON m.household = h.id GROUP BY h.id, h.village
), scored AS (
  -- mean(scale(personal − family)) + family + own, in tenths, half up. worth is scale × L (an integer, L the
  -- lcm of the scale's segment widths), so: floor((2(S + cL(family + own)) + cL) / 2cL), exact.
  SELECT hh.id, hh.village, hh.serious, hh.disqualified,
         least(greatest(CASE WHEN hh.c = 0 THEN {empty} + coalesce(o.points, 0)
                             ELSE floor((2 * (hh.s + hh.c * {L} * (hh.family + coalesce(o.points, 0))) + hh.c * {L})
                                        / (2 * hh.c * {L}))
                        END, 0), {max_score}) AS score
  FROM (SELECT hh.*, CASE WHEN adults > 0 THEN adults ELSE n END AS c,
               CASE WHEN adults > 0 THEN s_adults ELSE s_all END AS s FROM hh) hh
  LEFT JOIN totals o ON o.subject_kind = 'household' AND o.subject_id = hh.id
), villages AS (
  SELECT v.id, v.township, count(s.id) AS n,
         count(*) FILTER (WHERE NOT s.disqualified AND s.score >= {credit_min}) AS credit,
         count(*) FILTER (WHERE s.serious) AS serious
  FROM village v LEFT JOIN scored s ON s.village = v.id GROUP BY v.id, v.township
), rated AS (
  SELECT township, n, credit, n > 0 AND credit * 100 >= 70 * n AND serious <= 3 AS is_credit FROM villages
)
SELECT township, count(*) AS villages, count(*) FILTER (WHERE is_credit) AS credit_villages,
       sum(n)::bigint AS households, sum(credit)::bigint AS credit_households,
       count(*) FILTER (WHERE is_credit) * 100 >= 50 * count(*) AS is_credit_township
FROM rated GROUP BY township
"""


def baseline_sql(as_of: date) -> str:
    """BASELINE_SQL with the household member scale of the catalogue version in force on ``as_of``
    written out as one CASE of integer lines (scale × L), so the SQL rates exactly like the Python."""
    from math import lcm

    from points_rules import load_catalogue_dir

    h = load_catalogue_dir().version_on(as_of).rating_rules().household
    points = h.member_scale  # best first
    widths = [a.personal - b.personal for a, b in zip(points, points[1:])]
    L = lcm(*widths) if widths else 1
    x = "(10000 + coalesce(t.points, 0) - coalesce(t.family, 0))"
    cases = [f"WHEN {x} >= {points[0].personal} THEN {points[0].household * L}"]
    for a, b in zip(points, points[1:]):
        # between b and a: b.h·L + (x − b.p)·(a.h − b.h)·(L / (a.p − b.p))
        cases.append(f"WHEN {x} >= {b.personal} THEN {b.household * L} + ({x} - {b.personal}) * "
                     f"{(a.household - b.household) * (L // (a.personal - b.personal))}")
    worth = f"(CASE {' '.join(cases)} ELSE {points[-1].household * L} END)::numeric"
    empty = h.scale(10000)  # no members: as one member at the personal base
    assert empty.denominator == 1
    return BASELINE_SQL.format(worth=worth, L=L, empty=int(empty), max_score=h.max_score,
                               credit_min=h.lowest_credit_min)


# --- memory -----------------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> int:
    """Bytes resident now; the kernel's peak (VmHWM) is reset to it where Linux allows (clear_refs 5),
    so that ``_peak_rss`` afterwards is the peak of what ran in between."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    rss = _status_kib("VmRSS")
    return (rss or 0) * 1024


def _peak_rss() -> int:
    """Bytes: the process's peak resident set (since ``_reset_peak_rss`` where it could reset it)."""
    peak = _status_kib("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return peak * 1024


# --- main -------------------------------------------------------------------------------------------------------


FULL_SIZE = {"households": 150_000, "people": 500_000, "entries": 5_000_000}   # the synthetic county at scale 1


def size_args(scale: float) -> argparse.Namespace:
    """The generator's arguments for the synthetic county at ``scale`` (what ``--scale`` sets)."""
    return argparse.Namespace(**{k: max(1, round(v * scale)) for k, v in FULL_SIZE.items()},
                              households_per_village=300, villages_per_township=20)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, help="the synthetic county at this scale of the full one "
                                                    f"({FULL_SIZE['households']:,} households, {FULL_SIZE['people']:,} "
                                                    f"people, {FULL_SIZE['entries']:,} entries); sets the next three")
    parser.add_argument("--households", type=int, default=FULL_SIZE["households"])
    parser.add_argument("--people", type=int, default=FULL_SIZE["people"])
    parser.add_argument("--entries", type=int, default=FULL_SIZE["entries"])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--households-per-village", type=int, default=300)
    parser.add_argument("--villages-per-township", type=int, default=20)
    args = parser.parse_args()
    if args.scale is not None:
        if args.scale <= 0:
            parser.error("--scale must be positive")
        vars(args).update({k: v for k, v in vars(size_args(args.scale)).items() if k in FULL_SIZE})
    if args.people < args.households:
        parser.error("--people must be at least --households (every household has a head)")
    return args


async def run(args: argparse.Namespace) -> int:
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    name = f"cunxin_bench_{secrets.token_hex(4)}"
    database_url = with_database(server, name)
    today = clock.today()
    await server_sql(server, f'CREATE DATABASE "{name}"')
    engine = None
    try:
        env = {**os.environ, "DATABASE_URL": database_url,
               "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"}
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"migrate {name}", total=1)
            await asyncio.to_thread(migrate, env)
            progress.advance(task)
            conn = await asyncpg.connect(database_url)
            try:
                started = time.perf_counter()
                sizes = await generate(conn, args, today, progress)
                generated_in = time.perf_counter() - started
            finally:
                await conn.close()
        console.print(f"generated in {generated_in:.1f} s: {sizes['townships']} townships, {sizes['villages']:,} "
                      f"villages, {sizes['households']:,} households, {sizes['people']:,} people, "
                      f"{sizes['entries'] + sizes['reversals']:,} ledger entries "
                      f"({sizes['reversals']:,} of them reversals)")

        # the application, in this process, on the bench database
        os.environ.update(DATABASE_URL=database_url, REDIS_URL=env["REDIS_URL"])
        sys.path.insert(0, str(ROOT))
        from piccolo.engine import engine_finder

        from backend.ratings.recompute import full_recompute

        engine = engine_finder()
        await engine.start_connection_pool(min_size=1, max_size=4)

        from backend.ratings.compute import STREAM_SETTINGS

        # The baseline twice: with the server's settings, and with the session settings the recompute
        # gives its own transaction (no JIT, more work_mem, …) — the ratio is taken against the faster.
        conn = await asyncpg.connect(database_url)
        try:
            await conn.fetchval("SELECT count(*) FROM ledger_entry")  # warm the cache for both contenders
            started = time.perf_counter()
            baseline = await conn.fetch(baseline_sql(today), today)
            baseline_default_seconds = time.perf_counter() - started
            async with conn.transaction():
                for setting, value in STREAM_SETTINGS.items():
                    await conn.execute("SELECT set_config($1, $2, true)", setting, value)
                started = time.perf_counter()
                tuned = await conn.fetch(baseline_sql(today), today)
                baseline_tuned_seconds = time.perf_counter() - started
            assert [tuple(r) for r in tuned] == [tuple(r) for r in baseline]
        finally:
            await conn.close()
        baseline_seconds = min(baseline_default_seconds, baseline_tuned_seconds)

        stages: list[tuple[str, float]] = []
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("full_recompute(): computing households", total=None)
            started = time.perf_counter()

            def step(stage: str) -> None:
                stages.append((stage, time.perf_counter() - started))
                progress.update(task, description=f"full_recompute(): {stage} done")

            rss_before = _reset_peak_rss()
            report = await full_recompute(as_of=today, progress=step)
            recompute_seconds = time.perf_counter() - started
            peak_rss = _peak_rss()

        from backend.db import fetch

        stored = (await fetch(
            """SELECT (SELECT count(*) FROM standing_household WHERE is_credit) AS credit_households,
                      (SELECT count(*) FROM standing_village WHERE is_credit) AS credit_villages,
                      (SELECT count(*) FROM standing_township WHERE is_credit) AS credit_townships"""))[0]
        grades = {r["grade"]: r["n"] for r in await fetch(
            "SELECT grade, count(*) AS n FROM standing_household GROUP BY grade ORDER BY grade")}
    finally:
        if engine is not None:
            await engine.close_connection_pool()
        await server_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    sql_credit_households = sum(r["credit_households"] for r in baseline)
    sql_credit_villages = sum(r["credit_villages"] for r in baseline)
    sql_credit_townships = sum(r["is_credit_township"] for r in baseline)
    table = Table(title=f"ratings: full recompute of {sizes['households']:,} households, {sizes['people']:,} people, "
                        f"{sizes['entries'] + sizes['reversals']:,} ledger entries")
    table.add_column("")
    table.add_column("seconds", justify="right")
    table.add_column("credit households", justify="right")
    table.add_column("credit villages", justify="right")
    table.add_column("credit townships", justify="right")
    table.add_row("SQL baseline (one statement), server settings", f"{baseline_default_seconds:.2f}",
                  f"{sql_credit_households:,}", f"{sql_credit_villages:,}", f"{sql_credit_townships}")
    table.add_row("SQL baseline, the recompute's session settings", f"{baseline_tuned_seconds:.2f}",
                  f"{sql_credit_households:,}", f"{sql_credit_villages:,}", f"{sql_credit_townships}")
    table.add_row("full_recompute()", f"{recompute_seconds:.2f}",
                  f"{stored['credit_households']:,}", f"{stored['credit_villages']:,}",
                  f"{stored['credit_townships']}")
    console.print(table)
    console.print("household grades: " + ", ".join(f"{g} {n:,}" for g, n in sorted(grades.items())))
    marks = [0.0] + [at for _, at in stages]
    console.print("full_recompute() stages: " + ", ".join(
        f"{stage} {marks[i + 1] - marks[i]:.2f} s" for i, (stage, _) in enumerate(stages)))
    console.print(f"drift report: {report.households:,} households, {len(report.drifted_households):,} drifted, "
                  f"{report.missing_households:,} without a stored standing; {report.persons:,} persons stored")
    console.print(f"peak memory of this process during full_recompute(): {peak_rss / 2**20:.0f} MiB "
                  f"(resident before it: {rss_before / 2**20:.0f} MiB)")
    console.print(f"[bold]ratio full_recompute / SQL baseline (the faster): "
                  f"{recompute_seconds / baseline_seconds:.2f}×[/bold]")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "sizes": sizes, "baseline_seconds": baseline_seconds, "recompute_seconds": recompute_seconds,
            "ratio": recompute_seconds / baseline_seconds, "peak_mib": peak_rss / 2**20}, indent=2))
    agree = (stored["credit_households"], stored["credit_villages"], stored["credit_townships"]) == \
        (sql_credit_households, sql_credit_villages, sql_credit_townships)
    if not agree:
        console.print("[red]the SQL baseline and full_recompute() disagree on the credit counts[/red]")
        return 1
    console.print("[green]the SQL baseline and full_recompute() agree on every credit count[/green]")
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == "__main__":
    main()
