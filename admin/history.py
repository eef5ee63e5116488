"""This package's tables in the back office (``admin.build_admin`` adds them).

Import runs are read-only here (status, progress_done of progress_total, counts, the file's
SHA-256, who imported; never the encrypted file copy or the row report). The upload itself is not
a piccolo-admin form on purpose: piccolo-admin 1.x forms post JSON built from a pydantic model and
have no file field, and its media upload stores a file in the clear on disk with no validation
step before a row is saved. A county admin uploads with ``POST /api/v1/event-imports`` (multipart
``data``; the API page ``/schema``, linked from the admin's sidebar, sends it from the browser with
the admin's token) or runs ``cunxin import-events``; both check every row and write the events
through the ledger. The row report (masked ID numbers and the reasons) is
``GET /api/v1/event-imports/{id}``; the empty sheet is ``GET /api/v1/event-imports/template.xlsx``.
"""

from __future__ import annotations


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported here: admin/__init__ imports this module while it loads
    from backend.history.tables import HistoryImport

    return [TableConfig(HistoryImport, menu_group="历史导入 History", validators=READ_ONLY,
                        exclude_visible_columns=[HistoryImport.content, HistoryImport.report,
                                                 HistoryImport.already_rows])]
