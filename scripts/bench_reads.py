"""Reads under load: "my points", the household rating and the bank pull, each hit by N concurrent
connections for D seconds from a second process, reported as p50/p99 against GET /healthz of the
same app in the same run (target: p99 ≤ 3× /healthz's p99).

Steps: create a throw-away database ``cunxin_bench_<hex>`` on the server in DATABASE_URL, migrate
and seed the demo county with the real CLI, start the real app with uvicorn on a free 127.0.0.1
port, log in as the demo villager, a township admin and the demo bank client (client credentials),
then run the load generator — a separate Python process (this file with ``--load``: asyncio +
uvloop, a minimal HTTP/1.1 keep-alive client, one connection per simulated client, closed loop) —
once per endpoint, after a short warm-up that is not counted. Everything is removed at the end:
the database, the server, the temporary var dir, the jobs this run queued (``--keep`` leaves the
database for EXPLAIN ANALYZE).

The endpoints:

* ``GET /healthz`` — the baseline: no database, no authentication;
* ``GET /api/v1/auth/me`` — the villager's session: the floor any authenticated request pays (the
  token, the session and account rows, the middleware) with no personal read — for reading the
  figures, not a target;
* ``GET /api/v1/me/points`` — the demo villager's own points (an access-log row per request);
* ``GET /api/v1/households/{id}/rating`` — the villager's household, read by the township admin
  (an access-log row per request; the live standing is computed from the ledger each time);
* ``GET /api/v1/households/{id}/points`` — the same household's points, by the township admin;
* ``POST /api/v1/bank/rating-pulls`` — the demo bank pulling the consenting households' ratings
  (each request a new Idempotency-Key, so each one is a real pull: a ``bank_rating_pull`` row, a
  security event and, consent holding, an access-log row). The per-client rate limit (300 a
  minute) would turn almost all of them into 429s: the bench deletes the client's counter in Redis
  every 0.2 s while that endpoint runs — the limiter's Redis round trip is still in every request.

Reading the figures: the load is a closed loop (each connection sends its next request when the
answer arrives), so with 50 connections on one app process the latency is mostly the wait behind
the other 49 — p99 / /healthz p99 is close to the ratio of the CPU time the two cost the process.
The "access-log rows" column is the rows written while an endpoint ran (warm-up included, so at
least its request count for a personal read): reads stay logged under load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0


# --- the load generator (its own process: ``bench_reads.py --load``) -----------------------------------------

async def _one_connection(host: str, port: int, spec: dict, conn_no: int, start_at: float, count_from: float,
                          stop_at: float, out: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    bodies = [json.dumps(b).encode() for b in spec["bodies"]] if spec.get("bodies") else [None]
    base_headers = "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    i = conn_no  # spread the bodies over connections
    while time.perf_counter() < start_at:
        await asyncio.sleep(0.001)
    while True:
        sent = time.perf_counter()
        if sent >= stop_at:
            break
        body = bodies[i % len(bodies)]
        headers = base_headers
        if spec.get("idempotency_prefix"):
            headers += f"Idempotency-Key: {spec['idempotency_prefix']}-{conn_no}-{i}\r\n"
        if body is not None:
            headers += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(f"{spec['method']} {spec['path']} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
                     + (body or b""))
        status_line = await reader.readline()
        if not status_line:
            raise RuntimeError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await reader.readexactly(length)
        done = time.perf_counter()
        i += 1
        if sent >= count_from:
            out["latencies"].append((done - sent) * 1000)
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
    writer.close()


async def _load(args: argparse.Namespace) -> None:
    spec = json.loads(sys.stdin.read())
    out: dict = {"latencies": [], "statuses": {}}
    now = time.perf_counter()
    start_at = now + 0.3
    count_from = start_at + args.warmup
    stop_at = count_from + args.seconds
    await asyncio.gather(*(_one_connection(args.host, args.port, spec, n, start_at, count_from, stop_at, out)
                           for n in range(args.connections)))
    lat = sorted(out["latencies"])
    print(json.dumps({"requests": len(lat), "seconds": args.seconds, "statuses": out["statuses"],
                      "p50": _percentile(lat, 50), "p90": _percentile(lat, 90), "p99": _percentile(lat, 99),
                      "max": lat[-1] if lat else None, "mean": statistics.fmean(lat) if lat else None}))


def _percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def load_main(args: argparse.Namespace) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_load(args))


# --- the bench ----------------------------------------------------------------------------------------------

async def bench(args: argparse.Namespace) -> None:
    import asyncpg
    import httpx
    from redis.asyncio import Redis
    from rich.console import Console
    from rich.table import Table

    from backend.dbadmin import server_sql, with_database
    from scripts.bench import DEMO_PASSWORD, cli, drop_jobs, free_port, queued_jobs, start_server, stop_server, \
        wait_ready

    console = Console(width=None if sys.stdout.isatty() else 130)
    name = f"cunxin_bench_{secrets.token_hex(4)}"
    database_url = with_database(args.database_url, name)
    var_dir = Path(tempfile.mkdtemp(prefix="cunxin-bench-reads-"))
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "CUNXIN_VAR_DIR": str(var_dir),
           "CUNXIN_ACCESS_TOKEN_TTL": "3600"}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = None
    jobs_before = await queued_jobs(args.redis_url)
    await server_sql(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        with console.status(f"set-up: {name} (migrate, seed-demo, start the app)"):
            await asyncio.to_thread(cli, env, "migrate")
            await asyncio.to_thread(cli, env, "seed-demo")
        if args.county_scale:
            await grow(database_url, args.county_scale)
        with console.status("starting the app"):
            server = start_server(env, port, var_dir / "server.log")
            await wait_ready(base_url, server, var_dir / "server.log")

        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            async def login(username: str) -> str:
                r = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
                r.raise_for_status()
                return r.json()["access_token"]

            villager = await login("villager")
            township = await login("township_admin")
            from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET
            r = await client.post("/api/v1/auth/token", data={"grant_type": "client_credentials",
                                                              "client_id": DEMO_BANK_CLIENT_ID,
                                                              "client_secret": DEMO_BANK_SECRET})
            r.raise_for_status()
            bank = r.json()["access_token"]
            me = (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {villager}"})).json()
            household = me["household_id"]

        conn = await asyncpg.connect(database_url)
        try:
            bank_client = await conn.fetchval("SELECT id FROM bank_client WHERE client_id = $1", DEMO_BANK_CLIENT_ID)
            # The households with an active in-app or paper consent for the demo bank's NHXD-01 purpose.
            heads = await conn.fetch(
                """SELECT DISTINCT m.household, p.id_number_cipher FROM consent_event c
                   JOIN consent_recipient r ON r.id = c.recipient AND r.bank_client = $1
                   JOIN household_membership m ON m.household = c.subject_id AND m.valid_to IS NULL
                        AND m.relation = '户主'
                   JOIN person p ON p.id = m.person
                   WHERE c.subject_kind = 'household' AND c.action = 'grant' AND c.purpose = 'credit_application'
                   ORDER BY m.household""", bank_client)
            sizes = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in (
                "household", "person", "ledger_entry", "credit_event", "rating_proposal", "access_log",
                "bank_rating_pull")}
            own = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE subject_kind = 'person' "
                                      "AND subject_id = $1", me["person_id"])
            members = await conn.fetchval("SELECT count(*) FROM household_membership WHERE household = $1 "
                                          "AND valid_to IS NULL", household)
        finally:
            await conn.close()
        if not heads:
            raise RuntimeError("the demo seeded no bank consents: nothing to pull")
        pulls = [{"head_id_number": number, "product_code": "NHXD-01", "purpose": "credit_application"}
                 for number in reveal(env, [h["id_number_cipher"] for h in heads])]

        run = secrets.token_hex(3)
        endpoints = [
            ("GET /healthz", {"method": "GET", "path": "/healthz"}),
            ("GET /api/v1/auth/me (villager; authenticated, no read)",
             {"method": "GET", "path": "/api/v1/auth/me", "headers": {"Authorization": f"Bearer {villager}"}}),
            ("GET /api/v1/me/points (villager)",
             {"method": "GET", "path": "/api/v1/me/points", "headers": {"Authorization": f"Bearer {villager}"}}),
            (f"GET /api/v1/households/{household}/rating (township admin)",
             {"method": "GET", "path": f"/api/v1/households/{household}/rating",
              "headers": {"Authorization": f"Bearer {township}"}}),
            (f"GET /api/v1/households/{household}/points (township admin)",
             {"method": "GET", "path": f"/api/v1/households/{household}/points",
              "headers": {"Authorization": f"Bearer {township}"}}),
            (f"POST /api/v1/bank/rating-pulls ({len(pulls)} households)",
             {"method": "POST", "path": "/api/v1/bank/rating-pulls", "headers": {"Authorization": f"Bearer {bank}"},
              "bodies": pulls, "idempotency_prefix": f"bench-{run}", "lift_limit": True}),
        ]
        if args.only:
            endpoints = [endpoints[0]] + [e for e in endpoints[1:] if any(o in e[0] for o in args.only)]
        results = []
        redis = Redis.from_url(args.redis_url)
        try:
            for label, spec in endpoints:
                with console.status(f"{label}: {args.connections} connections, {args.warmup:g} s warm-up + "
                                    f"{args.seconds:g} s"):
                    lifter = None
                    if spec.pop("lift_limit", False):
                        async def lift() -> None:
                            while True:
                                await redis.delete(f"cunxin:bank:pulls:{bank_client}")
                                await asyncio.sleep(0.2)
                        lifter = asyncio.create_task(lift())
                    logged_before = await count_rows(database_url, "access_log")
                    try:
                        result = await asyncio.to_thread(run_load, port, spec, args)
                        # warm-up requests included: every read, counted or not, leaves its row
                        result["access_log_rows"] = await count_rows(database_url, "access_log") - logged_before
                        results.append((label, result))
                    finally:
                        if lifter is not None:
                            lifter.cancel()
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited:\n{(var_dir / 'server.log').read_text()[-3000:]}")
        finally:
            await redis.aclose()

        console.print(f"Demo county as seeded: {sizes['household']:,} households, {sizes['person']:,} people, "
                      f"{sizes['ledger_entry']:,} ledger entries, {sizes['credit_event']:,} events, "
                      f"{sizes['rating_proposal']:,} rating proposals, {sizes['access_log']:,} access-log rows and "
                      f"{sizes['bank_rating_pull']:,} pulls before the run; the villager has {own} entries of their "
                      f"own, household {household} {members} current members.")
        console.print(f"One uvicorn process (the app), the load generator in another process, {args.connections} "
                      f"connections (closed loop), {args.warmup:g} s warm-up then {args.seconds:g} s counted per "
                      f"endpoint, on {os.cpu_count()} CPUs shared with PostgreSQL.")
        base = results[0][1]["p99"]
        table = Table(title=f"Reads under load (target: p99 ≤ {TARGET_RATIO:g}× /healthz p99)")
        for column in ("endpoint", "requests", "rps", "p50 ms", "p99 ms", "p99 / healthz", f"≤ {TARGET_RATIO:g}×",
                       "access-log rows", "statuses"):
            table.add_column(column, justify="left" if column in ("endpoint", "statuses") else "right")
        for label, r in results:
            ratio = r["p99"] / base if r["p99"] is not None and base else None
            ok = ratio is not None and ratio <= TARGET_RATIO
            table.add_row(label, f"{r['requests']:,}", f"{r['requests'] / r['seconds']:,.0f}", f"{r['p50']:.1f}",
                          f"{r['p99']:.1f}", "—" if label == results[0][0] else f"{ratio:.1f}×",
                          "" if label == results[0][0] else "(floor)" if "/auth/me" in label
                          else ("[green]yes[/green]" if ok else "[red]no[/red]"),
                          f"{r['access_log_rows']:,}", " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())))
        console.print(table)
        if args.json:
            Path(args.json).write_text(json.dumps({"sizes": sizes, "results": dict(results)}, indent=2))
        if args.keep:
            console.print(f"kept: DATABASE_URL={database_url} CUNXIN_VAR_DIR={var_dir}")
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep:
            await server_sql(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await drop_jobs(args.redis_url, await queued_jobs(args.redis_url) - jobs_before)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


async def grow(database_url: str, scale: float) -> None:
    """Add beside the demo county the ratings bench's synthetic county at ``scale`` (1 = 150,000 households,
    500,000 people, 5,000,000 ledger entries), so that the reads run against tables of that size."""
    import asyncpg
    from rich.progress import Progress

    from backend import clock
    from scripts.bench_ratings import generate, size_args

    conn = await asyncpg.connect(database_url)
    try:
        with Progress() as progress:
            await generate(conn, size_args(scale), clock.today(), progress)
    finally:
        await conn.close()


async def count_rows(database_url: str, table: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


REVEAL_SCRIPT = """
import json, sys
from backend.registry import protection
print(json.dumps([protection.reveal_id_number(c) for c in json.loads(sys.stdin.read())]))
"""


def reveal(env: dict, ciphers: list[str]) -> list[str]:
    """ID numbers, decrypted with the bench app's own (dev) data key, which lives in its var dir."""
    done = subprocess.run([sys.executable, "-c", REVEAL_SCRIPT], input=json.dumps(ciphers), env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"decrypting the heads' ID numbers failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def run_load(port: int, spec: dict, args: argparse.Namespace) -> dict:
    """The load generator in its own process; returns its summary."""
    done = subprocess.run([sys.executable, __file__, "--load", "--port", str(port), "--connections",
                           str(args.connections), "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                          input=json.dumps(spec), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    if not result["requests"]:
        raise RuntimeError(f"no request completed for {spec['path']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--seconds", type=float, default=30, help="counted seconds per endpoint (default 30)")
    parser.add_argument("--warmup", type=float, default=2, help="uncounted seconds first (default 2)")
    parser.add_argument("--only", action="append", help="only endpoints whose label contains this (repeatable; "
                                                         "/healthz always runs)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database and var dir (its dev keys), for "
                                                           "EXPLAIN ANALYZE and profiling")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--county-scale", type=float, default=0,
                        help="first add the ratings bench's synthetic county at this scale (1: 150,000 households, "
                             "500,000 people, 5,000,000 entries; default 0: the demo county alone)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="server to create the bench database on (its database name is ignored)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.connections < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--connections and --seconds must be positive")
    if args.load:
        load_main(args)
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
