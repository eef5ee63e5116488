"""Ingest benchmark: POST /api/v1/events:batch end to end over real HTTP, as a ratio of a raw
COPY of the very same rows measured in the same run (so the figure means something on any machine).

Steps: create a throw-away database ``cunxin_bench_<hex>`` on the server in DATABASE_URL, migrate
and seed the demo county (and its demo history) with the real CLI, start the real app with uvicorn
on a free 127.0.0.1 port, log N events in batches of 200 as the demo grid worker, then COPY the
credit_event and ledger_entry rows the run produced into scratch tables with the same columns and
indexes (no triggers, no application), and print both rates and their ratio. Everything created
is removed at the end: the database, the server process, the temporary var dir, and the jobs this
run queued.

The item is COMMITMENT-KEPT (信用承诺履约): the catalogue's only item that is scored at once (no
review) and whose photo is optional. Volunteer and grid items require one photo *per event*
(a photo attaches to one event only), which would benchmark photo uploads, not the batch path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis
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
DEMO_PASSWORD = "Cunxin@2026"
ITEM = "COMMITMENT-KEPT"
BATCH = 200
ARQ_QUEUE = "arq:queue"
console = Console(width=None if sys.stdout.isatty() else 150)


# --- set-up ------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "dev", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cunxin {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.asgi:app", "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


async def wait_ready(base_url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the HTTP run --------------------------------------------------------------------------------------

async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def worker_subjects(client: httpx.AsyncClient, headers: dict, database_url: str) -> list[tuple[str, int]]:
    """Every person and household in the grid worker's grids."""
    grids = sorted((await client.get("/api/v1/auth/me", headers=headers)).json()["grid_ids"])
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT m.person, h.id AS household FROM household h
               JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
               WHERE h.grid = ANY($1::int[]) ORDER BY h.id, m.person""", grids)
    finally:
        await conn.close()
    persons = sorted({r["person"] for r in rows})
    households = sorted({r["household"] for r in rows})
    return [("person", p) for p in persons] + [("household", h) for h in households]


def make_events(n: int, subjects: list[tuple[str, int]], dates: str = "mixed") -> list[dict]:
    """``mixed``: each subject's events arrive out of date order (the worst case: every late one re-scores
    the subject's history); ``ascending``: in date order, as phones send what happened today (each
    subject's new events come after its old ones, so a batch is written set-based)."""
    run = uuid.uuid4().hex[:8]
    today = clock.today()

    def day(i: int) -> int:
        return i % 28 if dates == "mixed" else (n - 1 - i) * 28 // n

    return [
        {"idempotency_key": f"bench-{run}-{i:08d}", "item_code": ITEM, "subject_kind": kind, "subject_id": subject_id,
         "occurred_on": (today - timedelta(days=day(i))).isoformat(), "note": "bench"}
        for i, (kind, subject_id) in ((i, subjects[i % len(subjects)]) for i in range(n))
    ]


async def ingest(base_url: str, events: list[dict], concurrency: int, progress: Progress) -> float:
    """Send every batch (``concurrency`` phones at once, each with its own share of the subjects, as
    grid workers each log their own grid: two phones never wait for each other's subject locks);
    returns seconds from first send to last answer."""
    shares: list[list[dict]] = [[] for _ in range(concurrency)]
    for event in events:
        shares[hash((event["subject_kind"], event["subject_id"])) % concurrency].append(event)
    queues = [[share[i:i + BATCH] for i in range(0, len(share), BATCH)] for share in shares]
    task = progress.add_task(f"HTTP {sum(map(len, queues))} batches × ≤{BATCH}", total=len(events))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=600, limits=limits) as client:
        headers = await login(client, "grid_worker")

        async def phone(batches: list[list[dict]]) -> None:
            for batch in batches:
                response = await client.post("/api/v1/events:batch", json={"events": batch}, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"batch refused: {response.status_code} {response.text[:500]}")
                out = response.json()
                if out["created"] != len(batch):
                    errors = [r["error"] for r in out["results"] if r["error"]][:3]
                    raise RuntimeError(f"only {out['created']} of {len(batch)} created: {errors}")
                progress.advance(task, len(batch))

        started = time.perf_counter()
        await asyncio.gather(*(phone(batches) for batches in queues))
        return time.perf_counter() - started


# --- the COPY baseline -----------------------------------------------------------------------------------

async def last_ids(database_url: str) -> dict[str, int]:
    """The highest id in each ledger table (the demo history's rows are not the run's)."""
    conn = await asyncpg.connect(database_url)
    try:
        return {table: await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")
                for table in ("credit_event", "ledger_entry")}
    finally:
        await conn.close()


async def copy_baseline(database_url: str, after: dict[str, int], rounds: int,
                        progress: Progress) -> tuple[int, int, float]:
    """COPY the credit_event and ledger_entry rows the run wrote (ids above ``after``) into
    look-alike scratch tables; best of ``rounds`` (the floor the database itself sets).
    Returns (events, entries, seconds)."""
    conn = await asyncpg.connect(database_url)
    task = progress.add_task(f"COPY baseline ({rounds} rounds)", total=rounds)
    try:
        tables = {}
        for table in ("credit_event", "ledger_entry"):
            scratch = f"bench_copy_{table}"
            await conn.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                               "INCLUDING INDEXES)")
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE id > $1 ORDER BY id", after[table])
            tables[scratch] = (list(rows[0].keys()), [tuple(r) for r in rows])
        timings = []
        for _ in range(rounds):
            for scratch in tables:
                await conn.execute(f"TRUNCATE {scratch}")
            started = time.perf_counter()
            for scratch, (columns, records) in tables.items():
                await conn.copy_records_to_table(scratch, records=records, columns=columns)
            timings.append(time.perf_counter() - started)
            progress.advance(task)
        events = len(tables["bench_copy_credit_event"][1])
        entries = len(tables["bench_copy_ledger_entry"][1])
        return events, entries, min(timings)
    finally:
        await conn.close()


# --- jobs this run queued --------------------------------------------------------------------------------

async def queued_jobs(redis_url: str) -> set[bytes]:
    redis = Redis.from_url(redis_url)
    try:
        return set(await redis.zrange(ARQ_QUEUE, 0, -1))
    finally:
        await redis.aclose()


async def drop_jobs(redis_url: str, job_ids: set[bytes]) -> None:
    """Nobody will run them (no worker; their database is gone)."""
    if not job_ids:
        return
    redis = Redis.from_url(redis_url)
    try:
        await redis.zrem(ARQ_QUEUE, *job_ids)
        await redis.delete(*(b"arq:job:" + j for j in job_ids))
    finally:
        await redis.aclose()


# --- history import (cunxin import-events) ----------------------------------------------------------------

HISTORY_FILE_SCRIPT = """
import asyncio, csv, random, sys
from datetime import date, timedelta
import asyncpg
from backend.registry import protection

async def main(url, out, n):
    conn = await asyncpg.connect(url)
    rows = await conn.fetch("SELECT id_number_cipher FROM person p WHERE NOT EXISTS "
                            "(SELECT 1 FROM credit_event e WHERE e.person_id = p.id) ORDER BY id LIMIT 500")
    await conn.close()
    numbers = [protection.reveal_id_number(r["id_number_cipher"]) for r in rows]
    rnd = random.Random(n)
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["身份证号", "事项代码", "等级", "数量", "发生日期", "来源文书"])
        for i in range(n):
            day = (date(2023, 1, 1) + timedelta(days=rnd.randrange(3 * 365))).isoformat()
            item, level, qty = [("BLOOD-DONATION", "", ""), ("VOL-HOURS", "", rnd.choice(["4", "8", "12.5"])),
                                ("HONOUR", rnd.choice(["county", "village"]), ""),
                                ("GRID-CLEANUP", "took_part", "")][i % 4]
            w.writerow([numbers[i % len(numbers)], item, level, qty, day, f"bench 台账 {i}"])

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def history_import(env: dict, database_url: str, rows: int, rounds: int,
                         progress: Progress) -> tuple[int, float, float, float]:
    """``cunxin import-events`` of a CSV of ``rows`` events over 2023–2025 for up to 500 demo people
    nobody has recorded anything about, timed by the run itself (started_at → finished_at, so not the
    process start-up); then the same file again (nothing written); then a COPY of the rows it wrote.
    Returns (events written, import seconds, re-import seconds, COPY seconds)."""
    path = Path(env["CUNXIN_VAR_DIR"]) / "history-bench.csv"
    task = progress.add_task(f"history import ({rows:,} rows, twice)", total=3)
    done = subprocess.run([sys.executable, "-c", HISTORY_FILE_SCRIPT, database_url, str(path), str(rows)], env=env,
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"writing the history file failed:\n{done.stderr}")
    progress.advance(task)
    conn = await asyncpg.connect(database_url)
    try:   # the ingest figure's scratch tables: copy_baseline makes them afresh
        await conn.execute("DROP TABLE IF EXISTS bench_copy_credit_event, bench_copy_ledger_entry")
    finally:
        await conn.close()
    before = await last_ids(database_url)
    seconds = []
    for _ in range(2):
        await asyncio.to_thread(cli, env, "import-events", str(path))
        conn = await asyncpg.connect(database_url)
        try:
            run = await conn.fetchrow("SELECT status, rows_imported, extract(epoch FROM finished_at - started_at) AS s "
                                      "FROM history_import ORDER BY id DESC LIMIT 1")
        finally:
            await conn.close()
        if run["status"] != "done":
            raise RuntimeError(f"history import ended {run['status']}")
        seconds.append(float(run["s"]))
        progress.advance(task)
    events, _, copy_seconds = await copy_baseline(database_url, before, rounds, progress)
    if events != rows:
        raise RuntimeError(f"expected {rows} imported events, found {events}")
    return events, seconds[0], seconds[1], copy_seconds


# --- main ------------------------------------------------------------------------------------------------

async def bench(args: argparse.Namespace) -> dict:
    """The ingest figure (and the history import's, with ``--history-rows``); returns the ingest figures."""
    name = f"cunxin_bench_{secrets.token_hex(4)}"
    database_url = with_database(args.database_url, name)
    var_dir = Path(tempfile.mkdtemp(prefix="cunxin-bench-"))
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "CUNXIN_VAR_DIR": str(var_dir)}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = None
    jobs_before = await queued_jobs(args.redis_url)
    await server_sql(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        columns = (SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            setup = progress.add_task(f"set-up: {name}", total=3)
            await asyncio.to_thread(cli, env, "migrate")
            progress.advance(setup)
            await asyncio.to_thread(cli, env, "seed-demo")
            progress.advance(setup)
            if getattr(args, "county_scale", 0):
                sys.path.insert(0, str(ROOT))
                from scripts.bench_reads import grow

                await grow(database_url, args.county_scale)
            server = start_server(env, port, var_dir / "server.log")
            await wait_ready(base_url, server, var_dir / "server.log")
            progress.advance(setup)

            async with httpx.AsyncClient(base_url=base_url) as client:
                subjects = await worker_subjects(client, await login(client, "grid_worker"), database_url)
            events = make_events(args.events, subjects, args.dates)
            before = await last_ids(database_url)
            http_seconds = await ingest(base_url, events, args.concurrency, progress)
            copied_events, copied_entries, copy_seconds = await copy_baseline(database_url, before,
                                                                               args.copy_rounds, progress)
        if copied_events != len(events):
            raise RuntimeError(f"expected {len(events)} events in the database, found {copied_events}")

        http_rate = len(events) / http_seconds
        copy_rate = copied_events / copy_seconds
        console.print(f"{len(events):,} {ITEM} events for {len(subjects)} subjects ({args.dates} dates), "
                      f"{args.concurrency} concurrent clients, batches of {BATCH}; {copied_entries:,} ledger entries; "
                      f"the COPY baseline copies {copied_events + copied_entries:,} rows")
        console.print(f"HTTP: {http_seconds:.2f} s · COPY (best of {args.copy_rounds}, events + entries): "
                      f"{copy_seconds:.3f} s")
        console.print(f"[bold]ingest: {http_rate:,.0f} events/s over HTTP; COPY baseline: {copy_rate:,.0f} events/s "
                      f"(with their entries); ratio: {http_rate / copy_rate:.4f}[/bold] "
                      f"(1 : {copy_rate / http_rate:,.0f})")
        if args.history_rows:
            with Progress(*columns, console=console) as progress:
                imported, import_s, again_s, hist_copy_s = await history_import(env, database_url, args.history_rows,
                                                                                args.copy_rounds, progress)
            import_rate, hist_copy_rate = imported / import_s, imported / hist_copy_s
            console.print(f"[bold]history import: {imported:,} rows in {import_s:.2f} s ({import_rate:,.0f} rows/s; "
                          f"again: {again_s:.2f} s, nothing written); COPY of the same rows: {hist_copy_rate:,.0f} "
                          f"rows/s; ratio: {import_rate / hist_copy_rate:.4f}[/bold] "
                          f"(1 : {hist_copy_rate / import_rate:,.0f})")
        return {"events": len(events), "subjects": len(subjects), "entries": copied_entries, "http_rate": http_rate,
                "copy_rate": copy_rate, "ratio": http_rate / copy_rate, "copied_rows": copied_events + copied_entries}
    finally:
        if server is not None:
            stop_server(server)
        await server_sql(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await drop_jobs(args.redis_url, await queued_jobs(args.redis_url) - jobs_before)
        shutil.rmtree(var_dir, ignore_errors=True)


# --- how cost grows: every figure at three sizes -----------------------------------------------------------

INGEST_AT_FULL = 50_000   # events logged at scale 1: the COPY baseline then copies ≥ 100,000 rows (events + entries)


def _sub_bench(script: str, *args: str) -> dict:
    """Run another bench script (its own throw-away database) and read the figures it writes."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args, "--json", out.name], cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{script} {' '.join(args)} failed ({done.returncode})")
        return json.loads(Path(out.name).read_text())


async def sized(args: argparse.Namespace) -> None:
    """Ingest, recompute and reads at each scale of the synthetic county (1 = 150,000 households,
    500,000 people, 5,000,000 entries): the ingest runs in a demo database grown by that county and logs
    ``scale × 50,000`` events; the recompute is ``bench_ratings.py --scale``; the reads are
    ``bench_reads.py --county-scale``. One table at the end: each figure, its ratio to its baseline, and
    how it grew from the smallest scale to the largest against the data's own growth."""
    rows: dict[str, dict[float, str]] = {}
    raw: dict[str, dict[float, float]] = {}

    def put(label: str, scale: float, value: float, fmt: str) -> None:
        rows.setdefault(label, {})[scale] = format(value, fmt)
        raw.setdefault(label, {})[scale] = value

    for scale in args.sizes:
        console.rule(f"scale ×{scale:g}")
        ingest_args = argparse.Namespace(**{**vars(args), "events": max(BATCH, round(scale * INGEST_AT_FULL)),
                                            "history_rows": 0, "county_scale": scale})
        got = await bench(ingest_args)
        put("ingest: events logged", scale, got["events"], ",.0f")
        put("ingest: events/s over HTTP", scale, got["http_rate"], ",.0f")
        put("ingest: COPY events/s (with entries)", scale, got["copy_rate"], ",.0f")
        put("ingest: HTTP / COPY", scale, got["ratio"], ".4f")
        rec = await asyncio.to_thread(_sub_bench, "bench_ratings.py", "--scale", str(scale))
        put("recompute: entries", scale, rec["sizes"]["entries"] + rec["sizes"]["reversals"], ",.0f")
        put("recompute: full_recompute s", scale, rec["recompute_seconds"], ".2f")
        put("recompute: SQL aggregate s", scale, rec["baseline_seconds"], ".2f")
        put("recompute: ratio (target ≤ 2)", scale, rec["ratio"], ".2f")
        put("recompute: peak MiB", scale, rec["peak_mib"], ",.0f")
        reads = await asyncio.to_thread(_sub_bench, "bench_reads.py", "--county-scale", str(scale),
                                        "--seconds", str(args.read_seconds), "--connections", str(args.read_connections))
        results = reads["results"]
        base = results["GET /healthz"]["p99"]
        put("reads: /healthz p99 ms", scale, base, ".1f")
        for label, r in results.items():
            if "/auth/me" in label:  # the floor any authenticated request pays: one statement, no personal read
                put("reads: /auth/me p99 / healthz (the authenticated floor)", scale, r["p99"] / base, ".1f")
            if label == "GET /healthz" or "/auth/me" in label:
                continue
            short = label.split(" (")[0].replace("/api/v1", "")
            put(f"reads: {short} p99 ms", scale, r["p99"], ".1f")
            put(f"reads: {short} p99 / healthz (target ≤ 3)", scale, r["p99"] / base, ".1f")
    table = Table(title="How cost grows with the county (synthetic county at each scale; ratios are against a "
                        "baseline measured in the same run)")
    table.add_column("figure")
    for scale in args.sizes:
        table.add_column(f"×{scale:g}", justify="right")
    lo, hi = min(args.sizes), max(args.sizes)
    table.add_column(f"×{hi:g} / ×{lo:g} (data ×{hi / lo:.3g})", justify="right")
    for label, by_scale in rows.items():
        growth = raw[label][hi] / raw[label][lo] if raw[label].get(lo) else None
        table.add_row(label, *(by_scale.get(s, "") for s in args.sizes), "" if growth is None else f"{growth:.2f}×")
    console.print(table)
    console.print(f"on {os.cpu_count()} CPUs shared by the app, PostgreSQL and the load generator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events to log (default 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight at once (default 4)")
    parser.add_argument("--dates", choices=("mixed", "ascending"), default="mixed",
                        help="each subject's events out of date order (default: the worst case) or in date order")
    parser.add_argument("--copy-rounds", type=int, default=3, help="COPY repetitions, best kept (default 3)")
    parser.add_argument("--history-rows", type=int, default=5000,
                        help="rows of the history import figure (cunxin import-events; 0: skip; default 5000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="server to create the bench database on (its database name is ignored)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--sizes", type=lambda v: sorted(float(x) for x in v.split(",")),
                        help="every figure at these scales of the synthetic county, one table (e.g. 0.1,0.3,1)")
    parser.add_argument("--read-seconds", type=float, default=15, help="with --sizes: counted seconds per read endpoint")
    parser.add_argument("--read-connections", type=int, default=50, help="with --sizes: concurrent read connections")
    args = parser.parse_args()
    if args.sizes:
        if any(s <= 0 for s in args.sizes):
            parser.error("--sizes must be positive")
        asyncio.run(sized(args))
        return
    if args.events < 1 or args.concurrency < 1 or args.copy_rounds < 1:
        parser.error("--events, --concurrency and --copy-rounds must be positive")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
