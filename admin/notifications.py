"""This package's tables in the back office (``admin.build_admin`` adds them), all read-only: the
inbox rows, their deliveries and the delivery log. A notice is written by the change it announces
and read by its recipient in the app; nothing here may change it (the database refuses changes to
the log anyway). Reads are access-logged like every personal table (``admin.audit.CONCERNS``)."""

from __future__ import annotations

MENU = "通知 Notifications"


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.notifications.tables import Notice, NoticeAttempt, NoticeDelivery

    return [
        TableConfig(Notice, menu_group=MENU, validators=READ_ONLY),
        TableConfig(NoticeDelivery, menu_group=MENU, validators=READ_ONLY,
                    exclude_visible_columns=[NoticeDelivery.claim_token]),
        TableConfig(NoticeAttempt, menu_group=MENU, validators=READ_ONLY),
    ]
