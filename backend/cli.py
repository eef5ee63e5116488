"""The ``cunxin`` command.

Without ``DATABASE_URL``/``REDIS_URL`` every command first starts (or reuses) the embedded
PostgreSQL and Redis under ``./var/`` and stops what it started when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from backend import clock

console = Console()
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _var_dir() -> Path:
    return Path(os.environ.get("CUNXIN_VAR_DIR", PROJECT_ROOT / "var")).resolve()


@contextlib.contextmanager
def servers():
    """Use DATABASE_URL/REDIS_URL if both are set, else embedded servers for this command."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield None
        return
    from backend.embedded import start_embedded

    var_dir = _var_dir()
    var_dir.mkdir(parents=True, exist_ok=True)
    embedded = start_embedded(var_dir, postgres=not os.environ.get("DATABASE_URL"),
                              redis=not os.environ.get("REDIS_URL"))
    os.environ.setdefault("DATABASE_URL", embedded.database_url)
    os.environ.setdefault("REDIS_URL", embedded.redis_url)
    try:
        yield embedded
    finally:
        embedded.stop()


def _run(coro):
    """Run one async CLI step with a database connection pool open, reporting errors cleanly."""
    from backend.errors import CunxinError

    async def wrapped():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.start_connection_pool(min_size=1, max_size=4)
        try:
            return await coro
        finally:
            await engine.close_connection_pool()

    try:
        return asyncio.run(wrapped())
    except CunxinError as exc:
        console.print(f"[red]{exc.code}[/red] {exc.message_zh} ({exc.message_en})")
        if exc.details:
            console.print(exc.details)
        sys.exit(2)


async def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    with contextlib.redirect_stdout(sys.stderr):
        result = await run_forwards("all")
    if not result.success:
        raise click.ClickException(f"migration failed: {result.message}")


async def _seed(quiet: bool = False):
    from backend.demo_history import PLANS, seed_history
    from backend.registry.seed import seed_demo

    with Progress(console=console, disable=quiet, transient=True) as bar:
        task = bar.add_task("生成示范区县 seeding demo county", total=12)
        result = await seed_demo(progress=lambda stage, n: bar.advance(task, n))
        if result.created:
            events = bar.add_task("生成示范信用记录 recording demo events", total=sum(p.count for p in PLANS))
            await seed_history(clock.today(), progress=lambda n: bar.advance(events, n))
    return result


def _refuse_demo_in_production() -> None:
    """Before any server starts or any migration runs: nothing is written."""
    from backend.registry.seed import DEMO_REFUSED_MESSAGE, demo_refused

    if demo_refused():
        console.print(f"[red]{DEMO_REFUSED_MESSAGE}[/red] (cunxin up --no-seed)", soft_wrap=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """村信 Cunxin — credit points platform."""


@main.command()
def migrate() -> None:
    """Apply all database migrations."""
    with servers():
        _run(_migrate())
        console.print("[green]migrations applied[/green]")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo county (甘州区), accounts and a year of history, unless already there (migrates first)."""
    _refuse_demo_in_production()
    with servers():
        _run(_migrate())
        result = _run(_seed())
        if result.created:
            console.print(f"[green]demo county created[/green]: {result.townships} townships, {result.villages} villages, "
                          f"{result.grids} grids, {result.households} households, {result.persons} people")
        else:
            console.print("demo county already present; nothing changed")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the API and the admin (no worker)."""
    import uvicorn

    with servers():
        uvicorn.run("backend.asgi:app", host=host, port=port, log_level="info")


@main.command()
def worker() -> None:
    """Run the arq background worker."""
    from arq import run_worker

    with servers():
        from backend.worker import WorkerSettings

        run_worker(WorkerSettings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-seed", is_flag=True, help="do not create the demo county")
def up(host: str, port: int, no_seed: bool) -> None:
    """Everything: servers (embedded unless configured), migrations, demo county, API + admin + worker."""
    if not no_seed:
        _refuse_demo_in_production()
    with servers():
        _run(_migrate())
        if not no_seed:
            result = _run(_seed())
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
                      f"(API /api/v1, admin /admin/, docs /schema) — Ctrl-C stops everything")
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


@main.command("create-user")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["grid_worker", "villager", "township_admin", "county_admin", "auditor"]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--county", "county_code", help="county code (county_admin, auditor)")
@click.option("--township", "township_code", help="township code (township_admin)")
@click.option("--grid", "grid_codes", multiple=True, help="grid code, repeatable (grid_worker)")
@click.option("--id-number", "person_id_number", help="the villager's resident ID number")
@click.option("--display-name", default="")
@click.option("--admin-ui", is_flag=True, help="also create a login for the admin UI (county_admin)")
def create_user(username, role, password, county_code, township_code, grid_codes, person_id_number, display_name,
                admin_ui) -> None:
    """Create a user with a role and its jurisdiction."""
    from backend.auth.accounts import create_account
    from backend.auth.roles import Role

    with servers():
        account_id = _run(create_account(username, password, Role(role), county_code=county_code,
                                         township_code=township_code, grid_codes=list(grid_codes),
                                         person_id_number=person_id_number, display_name=display_name,
                                         admin_ui=admin_ui))
        console.print(f"[green]created[/green] {username} ({role}) id={account_id}")


@main.command("create-bank-client")
@click.argument("name")
@click.option("--county", "county_code", required=True)
def create_bank_client(name: str, county_code: str) -> None:
    """Register a bank's server client; prints the client id and the secret (shown once)."""
    from backend.auth.accounts import create_bank_client as create

    with servers():
        client_id, secret = _run(create(name, county_code))
        console.print(f"client_id: {client_id}\nclient_secret: {secret}")


@main.command("revoke-sessions")
@click.argument("username")
def revoke_sessions(username: str) -> None:
    """End every session of a user at once (their tokens stop working)."""
    from backend.auth.services import revoke_all_sessions
    from backend.auth.tables import Account

    async def run():
        row = await Account.select(Account.id).where(Account.username == username).first()
        if row is None:
            raise click.ClickException(f"no user {username}")
        return await revoke_all_sessions(row["id"])

    with servers():
        console.print(f"revoked {_run(run())} session(s)")


@main.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--village", "village_code", required=True, help="the village's code")
@click.option("--dry-run", is_flag=True, help="validate and report only")
def import_roster(file: Path, village_code: str, dry_run: bool) -> None:
    """Import a village roster (.xlsx or .csv). Any bad row: report and import nothing."""
    from backend.registry.roster_import import import_roster as run_import

    with servers():
        result = _run(run_import(file, village_code, today=clock.today(), dry_run=dry_run))
        console.print(result.report.format_text(), markup=False)
        if not result.report.ok:
            console.print("[red]未导入任何数据 nothing imported[/red]")
            sys.exit(1)
        if result.imported:
            console.print(f"[green]导入完成[/green]: {result.households_created} households and "
                          f"{result.persons_created} people created, {result.persons_unchanged} already present")
        else:
            console.print("dry run: file is valid, nothing written")


@main.group()
def ledger() -> None:
    """The points ledger."""


@ledger.command("verify")
def ledger_verify() -> None:
    """Re-walk the hash chain from the first entry; report the first broken link (exit 1)."""
    from backend.ledger import chain

    async def run():
        total = await chain.total_entries()
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("校验账本哈希链 verifying ledger", total=total)
            return await chain.verify(progress=lambda n: bar.advance(task, n))

    with servers():
        result = _run(run())
    if result.ok:
        console.print(f"[green]ledger intact[/green]: {result.checked} entries verified")
    else:
        console.print(f"[red]ledger broken[/red] at entry {result.first_broken_id}: {result.reason} "
                      f"({result.checked} entries verified before it)")
        sys.exit(1)


@main.group()
def ratings() -> None:
    """Standing and official ratings."""


@ratings.command("recompute")
@click.option("--township", "township_code", help="only this township (code)")
def ratings_recompute(township_code: str | None) -> None:
    """Recompute live standing from the ledger and report drift from the incremental results."""
    from backend.ratings.recompute import full_recompute
    from backend.registry.tables import Township

    async def run():
        township_id = None
        if township_code:
            row = await Township.select(Township.id).where(Township.code == township_code).first()
            if row is None:
                raise click.ClickException(f"no township with code {township_code}")
            township_id = row["id"]
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("重新计算信用状况 recomputing standing", total=3)
            return await full_recompute(township_id=township_id, progress=lambda stage: bar.advance(task))

    with servers():
        report = _run(run())
    console.print(f"recomputed as of {report.as_of}: {report.persons} people, {report.households} households, "
                  f"{report.villages} villages, {report.townships} townships")
    if report.clean:
        console.print("[green]no drift[/green] from the incremental results")
    else:
        console.print(f"[yellow]drift[/yellow]: {len(report.drifted_households)} households, "
                      f"{len(report.drifted_villages)} villages, {len(report.drifted_townships)} townships "
                      f"differed (now corrected); households e.g. {report.drifted_households[:10]}")


@ratings.command("finalize")
def ratings_finalize() -> None:
    """Make ratings whose publicity period ended without objection effective."""
    from backend.ratings.periods import finalize

    with servers():
        console.print(f"{_run(finalize())} rating(s) became effective")


def _attach_rules_commands() -> None:
    from backend.rules_cli import rules

    main.add_command(rules)


_attach_rules_commands()

if __name__ == "__main__":
    main()
