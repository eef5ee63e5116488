"""``python -m dev``: the ``cunxin`` command for a development machine.

Every ``cunxin`` command, started with embedded PostgreSQL and Redis under ``./var/`` when
``DATABASE_URL``/``REDIS_URL`` are not set (stopped again when the command ends), plus ``up``
(everything the README's run command does) and ``seed-demo``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.progress import Progress

from backend import cli, clock
from backend.cli import console, main, servers

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _var_dir() -> Path:
    return Path(os.environ.get("CUNXIN_VAR_DIR", PROJECT_ROOT / "var")).resolve()


@contextlib.contextmanager
def embedded_servers():
    """Start (or reuse) embedded servers for what is not configured; stop what was started."""
    from dev.embedded import start_embedded

    var_dir = _var_dir()
    var_dir.mkdir(parents=True, exist_ok=True)
    embedded = start_embedded(var_dir, postgres=not os.environ.get("DATABASE_URL"),
                              redis=not os.environ.get("REDIS_URL"))
    os.environ.setdefault("DATABASE_URL", embedded.database_url)
    os.environ.setdefault("REDIS_URL", embedded.redis_url)
    try:
        yield
    finally:
        embedded.stop()


async def _seed(quiet: bool = False):
    from dev.demo_history import PLANS, seed_history
    from dev.seed import seed_demo

    with Progress(console=console, disable=quiet, transient=True) as bar:
        task = bar.add_task("生成示范区县 seeding demo county", total=12)
        result = await seed_demo(progress=lambda stage, n: bar.advance(task, n))
        if result.created:
            events = bar.add_task("生成示范信用记录 recording demo events", total=sum(p.count for p in PLANS))
            await seed_history(clock.today(), progress=lambda n: bar.advance(events, n))
            from dev.demo_extras import seed_extras

            await seed_extras(clock.today())
    return result


def _refuse_demo_in_production() -> None:
    """Before any server starts or any migration runs: nothing is written."""
    from dev.seed import DEMO_REFUSED_MESSAGE, demo_refused

    if demo_refused():
        console.print(f"[red]{DEMO_REFUSED_MESSAGE}[/red] (python -m dev up --no-seed)", soft_wrap=True)
        sys.exit(2)


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo county (甘州区), accounts and a year of history, unless already there (migrates first)."""
    _refuse_demo_in_production()
    with servers():
        cli._run(cli._migrate())
        result = cli._run(_seed())
        if result.created:
            console.print(f"[green]demo county created[/green]: {result.townships} townships, {result.villages} villages, "
                          f"{result.grids} grids, {result.households} households, {result.persons} people")
        else:
            console.print("demo county already present; nothing changed")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-seed", is_flag=True, help="do not create the demo county")
def up(host: str, port: int, no_seed: bool) -> None:
    """Everything: servers (embedded unless configured), migrations, demo county, API + admin + worker."""
    if not no_seed:
        _refuse_demo_in_production()
    with servers():
        cli._run(cli._migrate())
        if not no_seed:
            result = cli._run(_seed())
            if result.created:
                console.print(f"[green]demo county created[/green]: {result.households} households, "
                              f"{result.persons} people (accounts in README)")
        env = dict(os.environ)
        children = [
            subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.asgi:app", "--host", host, "--port", str(port)],
                             env=env, cwd=PROJECT_ROOT),
            subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env, cwd=PROJECT_ROOT),
        ]
        console.print(f"[bold green]村信 running[/bold green] on http://{host}:{port}  "
                      f"(API /api/v1, admin /admin/, phone app /m/, docs /schema) — Ctrl-C stops everything")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(c.poll() is None for c in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.args[2] if len(c.args) > 2 else c.args for c in children if c.returncode not in (0, None, -2, 130)]
        if failed and not stopping:
            raise click.ClickException(f"a process exited unexpectedly: {failed}")


cli.server_provider = embedded_servers
