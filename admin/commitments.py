"""This package's tables in the back office (``admin.build_admin`` adds them).

Commitment templates are county configuration: county admins add wordings here (a new row; the
database hashes the text) and may withdraw one from signing (``active``) — nothing else changes,
a template is never deleted (the database refuses both anyway). Commitments are read-only (signed
and decided through the scoped API); they are personal data, so the table is listed only while
``admin.audit.CONCERNS`` logs admin reads of it.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

MENU = "信用承诺 Commitments"


async def _only_active(piccolo_crud, request) -> None:
    """A template's wording never changes: an edit may only withdraw it from (or return it to) signing."""
    body = await request.json() if request.method in ("PUT", "PATCH") else {}
    if request.method == "PUT" or not isinstance(body, dict) or set(body) - {"active"}:
        raise HTTPException(status_code=405, detail="模板内容不能修改，请新增模板 / a new wording is a new template")


async def _never(piccolo_crud, request) -> None:
    raise HTTPException(status_code=405, detail="模板不能删除，可停用 / templates are withdrawn, never deleted")


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig
    from piccolo_api.crud.validators import Validators

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from admin.audit import PERSONAL_TABLES
    from backend.commitments.tables import CommitmentTemplate, CreditCommitment

    tables = [TableConfig(CommitmentTemplate, menu_group=MENU,
                          validators=Validators(put_single=[_only_active], patch_single=[_only_active],
                                                delete_single=[_never], delete_all=[_never]))]
    if CreditCommitment._meta.tablename in PERSONAL_TABLES:  # never an unlogged read of personal data
        tables.append(TableConfig(CreditCommitment, menu_group=MENU, validators=READ_ONLY))
    return tables
