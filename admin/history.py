"""This package's tables in the back office (``admin.build_admin`` adds them).

Import runs are read-only here (status, counts, the file's SHA-256, who imported; never the
encrypted file copy): an import is made through the API or ``cunxin import-events``, which check
every row and write the events through the ledger. The row report (masked ID numbers and the
reasons) is read through ``GET /api/v1/event-imports/{id}``.
"""

from __future__ import annotations


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported here: admin/__init__ imports this module while it loads
    from backend.history.tables import HistoryImport

    return [TableConfig(HistoryImport, menu_group="历史导入 History", validators=READ_ONLY,
                        exclude_visible_columns=[HistoryImport.content, HistoryImport.report,
                                                 HistoryImport.already_rows])]
