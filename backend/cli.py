"""The ``cunxin`` command: migrations, the API, the worker, accounts, imports and checks.

Every command talks to the servers named by ``DATABASE_URL`` and ``REDIS_URL``. The development
command ``python -m dev`` (not installed in production) adds ``up`` and ``seed-demo`` and starts
embedded servers when those are not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from backend import clock

console = Console()


ServerProvider = Callable[[], contextlib.AbstractContextManager[None]]
server_provider: ServerProvider | None = None  # set by ``python -m dev`` to start embedded servers


@contextlib.contextmanager
def servers():
    """Use DATABASE_URL/REDIS_URL; without them only the development command can start servers."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield None
        return
    if server_provider is None:
        raise click.ClickException(
            "DATABASE_URL 和 REDIS_URL 未设置 / DATABASE_URL and REDIS_URL must be set "
            "(on a development machine, `python -m dev` starts embedded servers)")
    with server_provider():
        yield None


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """村信 Cunxin — credit points platform."""


@main.command()
def migrate() -> None:
    """Apply all database migrations."""
    with servers():
        _run(_migrate())
        console.print("[green]migrations applied[/green]")


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
    """Re-walk each county's hash chain from its first entry; report the first broken link (exit 1)."""
    from backend.ledger import chain

    async def run():
        total = await chain.total_entries()
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("校验账本哈希链 verifying ledger", total=total)
            return await chain.verify(progress=lambda n: bar.advance(task, n))

    with servers():
        result = _run(run())
    if result.ok:
        console.print(f"[green]ledger intact[/green]: {result.checked} entries verified "
                      f"in {result.counties} county chain(s)")
    else:
        console.print(f"[red]ledger broken[/red] in the chain of county {result.county_id} at entry "
                      f"{result.first_broken_id}: {result.reason} ({result.checked} entries verified before it)")
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


@main.group()
def keys() -> None:
    """Signing keys for receipts and attestations (published at /.well-known/jwks.json)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Retire the active signing key (it stays published) and make a new one."""
    from backend.consent import keys as signing

    with servers():
        key = _run(signing.rotate())
    console.print(f"[green]new active key[/green] {key.kid}; earlier keys are retired and stay published")


@keys.command("list")
def keys_list() -> None:
    """Every signing key: kid, created, retired."""
    from backend.consent import keys as signing

    with servers():
        rows = _run(signing.list_keys())
    for key in rows:
        state = f"retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "active"
        console.print(f"{key.kid}  created {key.created_at:%Y-%m-%d %H:%M}  {state}")
    if not rows:
        console.print("no keys yet (the first is made when something is first signed)")


def _attach_rules_commands() -> None:
    from backend.feeds.cli import feeds
    from backend.history.cli import import_events
    from backend.rules_cli import rules

    main.add_command(rules)
    main.add_command(feeds)
    main.add_command(import_events)


_attach_rules_commands()

if __name__ == "__main__":
    main()
