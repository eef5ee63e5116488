"""This package's tables in the back office (``admin.build_admin`` adds them).

Products are editable by county staff (the database checks a product belongs to a bank of its own
county, its purposes and scope; every write leaves a security event through ``admin.audit``);
rating pulls are read-only (the database refuses UPDATE and DELETE on them anyway).
"""

from __future__ import annotations

MENU = "银行 Banks"


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.bank.tables import BankProduct, RatingPull

    return [
        TableConfig(BankProduct, menu_group=MENU),
        TableConfig(RatingPull, menu_group=MENU, validators=READ_ONLY,
                    exclude_visible_columns=[RatingPull.request_fingerprint, RatingPull.attestation]),
    ]
