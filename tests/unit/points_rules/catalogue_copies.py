"""Broken copies of the shipped catalogue for validation tests: copy it, then edit a line and know where."""

from __future__ import annotations

import shutil
from pathlib import Path

from points_rules import DEFAULT_CATALOGUE_DIR


def copy_catalogue(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` by ``new``; return the 1-based line where ``new`` starts."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old):], encoding="utf-8")
    return text[:index].count("\n") + 1
