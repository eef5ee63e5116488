"""Embedded PostgreSQL + Redis: start, persist across a restart, leave no processes behind."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis.asyncio as aioredis

from dev.embedded import EmbeddedServers, start_embedded

pytestmark = pytest.mark.embedded


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A short private temp dir, deliberately not pytest's own ``tmp_path``.

    As root, PostgreSQL runs as ``embedded_postgres`` and must traverse every parent of its
    pgdata.  Every pytest session that starts (anyone's, concurrently) resets
    ``/tmp/pytest-of-root`` to 0700, which would cut an initdb/start under it off mid-way.
    """
    path = Path(tempfile.mkdtemp(prefix="cunxin-emb-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _server_pids(var_dir: Path) -> list[int]:
    """PIDs of the postmaster and its children for ``var_dir``, plus the recorded redis-server."""
    pids = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(var_dir) in " ".join(proc.info["cmdline"] or []):
            pids += [proc.pid] + [child.pid for child in proc.children()]
    pid_file = var_dir / "redis" / "redis.pid"
    if pid_file.exists():
        pids.append(int(pid_file.read_text()))
    return pids


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


async def _write(servers: EmbeddedServers) -> None:
    conn = await asyncpg.connect(servers.database_url)
    try:
        await conn.execute("CREATE TABLE villages (id serial PRIMARY KEY, name text NOT NULL)")
        await conn.execute("INSERT INTO villages (name) VALUES ($1)", "东山村")
    finally:
        await conn.close()
    client = aioredis.from_url(servers.redis_url)
    try:
        await client.set("cunxin:test", "积分")
    finally:
        await client.aclose()


async def _read(servers: EmbeddedServers) -> tuple[list[str], bytes | None]:
    conn = await asyncpg.connect(servers.database_url)
    try:
        assert await conn.fetchval("SELECT current_database()") == "cunxin"
        names = [r["name"] for r in await conn.fetch("SELECT name FROM villages ORDER BY id")]
    finally:
        await conn.close()
    client = aioredis.from_url(servers.redis_url)
    try:
        value = await client.get("cunxin:test")
    finally:
        await client.aclose()
    return names, value


def test_data_persists_across_restart_and_stop_leaves_no_processes(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    servers = start_embedded(var_dir)
    try:
        pids = _server_pids(var_dir)
        assert len(pids) > 2, "postmaster, its children and redis-server expected"
        assert servers.redis_url.startswith("redis://127.0.0.1:")
        asyncio.run(_write(servers))
    finally:
        servers.stop()
    servers.stop()  # idempotent
    assert _alive(pids) == []
    assert not (var_dir / "redis" / "redis.pid").exists()

    servers = start_embedded(var_dir)
    try:
        pids = _server_pids(var_dir)
        assert asyncio.run(_read(servers)) == (["东山村"], "积分".encode())
    finally:
        servers.stop()
    assert _alive(pids) == []


def test_second_start_reuses_servers_without_owning_them(tmp_path: Path) -> None:
    owner = start_embedded(tmp_path)
    try:
        pids = _server_pids(tmp_path)
        guest = start_embedded(tmp_path, database="other")
        assert guest.redis_url == owner.redis_url
        assert guest.database_url.startswith("postgresql://postgres@/other?")
        guest.stop()
        assert sorted(_alive(pids)) == sorted(pids), "a reusing stop() must not stop the servers"

        async def other_db_exists() -> int:
            conn = await asyncpg.connect(guest.database_url)
            try:
                return await conn.fetchval("SELECT 1")
            finally:
                await conn.close()

        assert asyncio.run(other_db_exists()) == 1
    finally:
        owner.stop()
    assert _alive(pids) == []


def test_takes_over_servers_left_by_a_crashed_owner(tmp_path: Path) -> None:
    crashed = start_embedded(tmp_path)
    stale_redis = crashed._redis
    assert stale_redis is not None
    # Simulate a crash: the owner vanishes without stopping anything (its flock is released).
    crashed._redis, crashed._owns_postgres = None, False
    crashed.stop()
    pids = _server_pids(tmp_path)
    servers = start_embedded(tmp_path)
    try:
        assert stale_redis.poll() is not None, "the stale redis-server should have been terminated"
        assert asyncio.run(_ping(servers)) == 1
    finally:
        servers.stop()
    assert _alive(pids + _server_pids(tmp_path)) == []


async def _ping(servers: EmbeddedServers) -> int:
    conn = await asyncpg.connect(servers.database_url)
    try:
        value = await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    client = aioredis.from_url(servers.redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    return int(value)


def test_long_var_dir_uses_a_short_socket_dir(tmp_path: Path) -> None:
    var_dir = tmp_path / ("x" * 60) / ("y" * 60)
    servers = start_embedded(var_dir, redis=False)
    try:
        pids = _server_pids(var_dir)
        assert pids
        assert servers.redis_url == ""
        assert "host=/tmp/cunxin-pg-" in servers.database_url
        assert asyncio.run(_select_one(servers.database_url)) == 1
    finally:
        servers.stop()
    assert _alive(pids) == []


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()
