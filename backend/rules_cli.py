"""``cunxin rules`` — check and compare the points catalogue (积分目录) from the command line.

Pure: reads YAML files through ``points_rules`` only; no database, no servers. Attach with
``main.add_command(rules)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from points_rules import (
    DEFAULT_CATALOGUE_DIR, CatalogueError, CatalogueVersion, RuleError, check_catalogue_dir, diff_versions,
    load_catalogue_dir, load_version_file,
)


def _console() -> Console:
    # Created per call so click's CliRunner (tests) captures the output.
    return Console(file=sys.stdout, soft_wrap=True, highlight=False)


@click.group("rules")
def rules() -> None:
    """积分目录：检查与比对 (points catalogue: check and compare)."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def check(directory: Path | None) -> None:
    """Check every version file in DIRECTORY (default: the shipped catalogue)."""
    console = _console()
    directory = directory or DEFAULT_CATALOGUE_DIR
    problems = check_catalogue_dir(directory)
    if problems:
        for p in problems:
            console.print(escape(f"{p.file}:{p.line or 0}: {p.path or '(root)'}: {p.message_zh} ({p.message_en})"))
        console.print(f"[red]{len(problems)} 个问题 (problems)[/red]")
        sys.exit(1)
    catalogue = load_catalogue_dir(directory)
    table = Table(title=f"积分目录 {escape(str(directory))}")
    for column in ("版本 version", "生效 effective", "事项 items", "加分 +", "扣分 −", "文件 file"):
        table.add_column(column, overflow="fold")
    for v in catalogue.versions:
        positive = sum(1 for i in v.items if i.direction == "positive")
        table.add_row(v.version, v.effective_from.isoformat(), str(len(v.items)), str(positive),
                      str(len(v.items) - positive), escape(Path(v.source_file or "").name))
    console.print(table)
    latest = catalogue.versions[-1]
    console.print(f"[green]OK[/green] {len(catalogue.versions)} 个版本 (versions); 最新 (latest) {latest.version}, "
                  f"{len(latest.items)} 个事项 (items)")


def _resolve(ref: str, directory: Path) -> CatalogueVersion:
    """A version id in ``directory`` or a path to a single version file."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_version_file(path)
    return load_catalogue_dir(directory).version(ref)


@rules.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Catalogue directory for version ids (default: the shipped catalogue).")
def diff(a: str, b: str, directory: Path | None) -> None:
    """Show what changed from version A to version B (version ids such as 2026.1, or file paths)."""
    console = _console()
    try:
        old, new = (_resolve(ref, directory or DEFAULT_CATALOGUE_DIR) for ref in (a, b))
    except CatalogueError as exc:
        for p in exc.problems:
            console.print(escape(str(p)))
        sys.exit(1)
    except RuleError as exc:
        console.print(escape(f"{exc.code}: {exc.message_zh} ({exc.message_en})"))
        sys.exit(2)
    console.print(f"{old.version}（{old.effective_from}）→ {new.version}（{new.effective_from}）")
    changes = diff_versions(old, new)
    marks = {"added": "[green]+[/green]", "removed": "[red]-[/red]", "changed": "[yellow]~[/yellow]"}
    for line in changes:
        console.print(f"{marks[line.kind]} {escape(line.text_zh)}  [dim]{escape(line.text_en)}[/dim]")
    console.print(f"{len(changes)} 处变化 (changes)")
