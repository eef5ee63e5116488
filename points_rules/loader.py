"""Load and check the catalogue directory: one YAML file per version, named ``<effective_from>.yaml``."""

from __future__ import annotations

from pathlib import Path

from points_rules.model import CatalogueError, CatalogueProblem, CatalogueSet, CatalogueVersion
from points_rules.validation import check_version
from points_rules.yaml_source import read_yaml

DEFAULT_CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
"""The shipped default catalogue (积分目录), versioned by file."""


def catalogue_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_version_file(path: str | Path) -> CatalogueVersion:
    """One version file on its own (for ``rules diff`` on files outside the catalogue directory)."""
    path = Path(path)
    version, problems = check_version(read_yaml(path))
    if version is not None and version.effective_from.isoformat() != path.stem:
        problems = problems + [_filename_problem(path, version)]
    if problems:
        raise CatalogueError(problems)
    return version


def _check(directory: Path) -> tuple[list[CatalogueVersion], list[CatalogueProblem]]:
    directory = Path(directory)
    if not directory.is_dir():
        return [], [CatalogueProblem(str(directory), None, "", "目录不存在", "no such directory")]
    files = catalogue_files(directory)
    if not files:
        return [], [CatalogueProblem(str(directory), None, "", "目录中没有 .yaml 版本文件",
                                     "the directory holds no .yaml version file")]
    versions: list[CatalogueVersion] = []
    problems: list[CatalogueProblem] = []
    seen_ids: dict[str, str] = {}
    seen_dates: dict[str, str] = {}
    for path in files:
        source = read_yaml(path)
        version, found = check_version(source)
        problems.extend(found)
        # Cross-file checks read the raw values so they run even when the rest of the file is broken.
        raw = source.data if isinstance(source.data, dict) else {}
        version_id, effective = raw.get("version"), raw.get("effective_from")
        if isinstance(version_id, str):
            if version_id in seen_ids:
                problems.append(CatalogueProblem(source.file, source.line_of(("version",)), "version",
                                                 f"版本号“{version_id}”与 {seen_ids[version_id]} 重复",
                                                 f"version id {version_id!r} is also used by {seen_ids[version_id]}"))
            seen_ids.setdefault(version_id, source.file)
        if hasattr(effective, "isoformat"):
            day = effective.isoformat()
            if day in seen_dates:
                problems.append(CatalogueProblem(source.file, source.line_of(("effective_from",)), "effective_from",
                                                 f"生效日期{day}与 {seen_dates[day]} 重复",
                                                 f"effective date {day} is also used by {seen_dates[day]}"))
            seen_dates.setdefault(day, source.file)
        if version is not None:
            if version.effective_from.isoformat() != path.stem:
                problems.append(_filename_problem(path, version, source.line_of(("effective_from",))))
            versions.append(version)
    return versions, problems


def _filename_problem(path: Path, version: CatalogueVersion, line: int | None = None) -> CatalogueProblem:
    day = version.effective_from.isoformat()
    return CatalogueProblem(str(path), line, "effective_from",
                            f"文件名应为生效日期：{day}.yaml", f"the file should be named after its effective date: {day}.yaml")


def check_catalogue_dir(path: str | Path | None = None) -> list[CatalogueProblem]:
    """Every problem in a catalogue directory (empty list = valid)."""
    return _check(Path(path) if path is not None else DEFAULT_CATALOGUE_DIR)[1]


def load_catalogue_dir(path: str | Path | None = None) -> CatalogueSet:
    """All versions in a directory (default: the shipped catalogue); ``CatalogueError`` lists every problem."""
    versions, problems = _check(Path(path) if path is not None else DEFAULT_CATALOGUE_DIR)
    if problems:
        raise CatalogueError(problems)
    return CatalogueSet(tuple(versions))
