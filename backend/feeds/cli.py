"""``cunxin feeds upload FILE.xlsx --source CODE --as USERNAME`` — an office's feed file from the
command line, with the same per-record report as the API (``--report OUT.xlsx`` writes it as a
sheet). The upload is made as the named county or township admin, with that account's scope.

Registered in ``backend.cli`` with ``main.add_command(feeds)``; ``python -m backend.feeds.cli``
runs it on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def feeds() -> None:
    """Inbound feeds (数据接入)."""


@feeds.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_code", required=True, help="the feed source's code")
@click.option("--as", "username", required=True, help="the county or township admin making the upload")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the per-record report as .xlsx")
def upload(file: Path, source_code: str, username: str, report_path: Path | None) -> None:
    """Record an .xlsx feed file (header row: 记录编号, 类型, 身份证号 …); exit 1 if any record is invalid."""
    from backend.cli import _run, servers

    async def run():
        from backend.auth.services import account_actor
        from backend.auth.tables import Account
        from backend.db import fetch
        from backend.errors import NotFound
        from backend.feeds import services, xlsx

        account = await Account.select(Account.id).where(Account.username == username).first()
        actor = await account_actor(account["id"]) if account else None
        if actor is None:
            raise NotFound("账户不存在或已停用", "No such active account", code="ACCOUNT_UNKNOWN")
        rows = await fetch("SELECT id FROM feed_source WHERE code = {}", source_code)
        if not rows:
            raise NotFound("数据来源不存在", "No such feed source", code="FEED_SOURCE_UNKNOWN")
        content = file.read_bytes()
        if len(content) > xlsx.MAX_BYTES:
            raise xlsx.XLSX_INVALID
        report = await services.upload(actor, rows[0]["id"], content)
        return report, xlsx.report_workbook(report) if report_path else None

    with servers():
        report, sheet = _run(run())
    for r in report.results:
        line = f"{r.record_id or '-'}\t{r.outcome}"
        if r.error:
            line += f"\t{r.error.code}\t{r.error.message_zh}"
        click.echo(line)
    click.echo(f"batch {report.batch_id}: {report.received} records — recorded {report.recorded}, duplicate "
                  f"{report.duplicate}, unmatched {report.unmatched}, invalid {report.invalid}, removed {report.removed}, "
                  f"removal_unknown {report.removal_unknown}")
    if sheet is not None:
        report_path.write_bytes(sheet)
    if report.invalid:
        sys.exit(1)


if __name__ == "__main__":
    feeds()
