"""``cunxin import-events FILE [--dry-run] [--county CODE] [--valid-rows]`` — a county's history
from the command line, through the same run as an admin's upload (a ``history_import`` row, the
audit event), done in this process with a progress bar.

Registered in ``backend.cli`` with ``main.add_command(import_events)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("import-events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", "county_code", default=None, help="the county's code (needed when there are several)")
@click.option("--dry-run", is_flag=True, help="validate and report only")
@click.option("--valid-rows", is_flag=True, help="import the good rows even if some are bad (default: all or nothing)")
def import_events(file: Path, county_code: str | None, dry_run: bool, valid_rows: bool) -> None:
    """Import historical credit events (.xlsx or .csv). Any bad row: report and import nothing."""
    from rich.progress import Progress

    from backend.cli import _run, console, servers

    async def run():
        from backend.history import services
        from backend.history.tables import ALL_OR_NOTHING, VALID_ROWS

        content = file.read_bytes()
        if len(content) > services.MAX_BYTES:
            raise services.InvalidInput("文件不能超过 8 MB", "File larger than 8 MB", code="HISTORY_FILE_TOO_LARGE")
        county_id = await services.county_id_of(county_code)
        run_id = await services.create_run(county_id, file.name, content, channel="cli", requested_by=None,
                                           mode=VALID_ROWS if valid_rows else ALL_OR_NOTHING, dry_run=dry_run)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("导入历史信用事件 importing events", total=None)
            await services.run_import(run_id, progress=lambda done, total: bar.update(task, completed=done, total=total))
        return await services._run_out(run_id)

    with servers():
        result = _run(run())
    console.print(f"run {result.id}: {result.rows_read or 0} rows read, {result.rows_invalid or 0} bad, "
                  f"{result.rows_imported or 0} imported, {result.rows_already or 0} already imported", markup=False)
    for e in result.errors:
        console.print(f"第 {e.row} 行 {e.column}: {e.code} {e.message_zh}", markup=False)
    if result.status == "rejected":
        console.print("[red]未导入任何数据 nothing imported[/red]")
        sys.exit(1)
    if result.status == "failed":
        console.print(f"[red]{result.error_code}[/red] {result.error_zh}")
        sys.exit(1)
    if result.dry_run:
        console.print("dry run: nothing written")
    else:
        console.print("[green]导入完成 done[/green]")
