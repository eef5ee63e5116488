"""This package's tables in the back office (``admin.build_admin`` adds them)."""

from __future__ import annotations


def table_configs() -> list:
    return []
