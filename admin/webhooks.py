"""This package's tables in the back office (``admin.build_admin`` adds them).

Endpoints: county staff may change the subscriber name and description and disable or enable an
endpoint here; they are registered through the API (``POST /api/v1/webhooks/endpoints``), which
checks the URL against the address policy and shows the generated secret once — so creating,
deleting, URL changes and whole-row replacement are refused here, and the secrets are never shown.
The outbox, deliveries and attempts are read-only (the database refuses changes to the outbox and
the attempts anyway).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

MENU = "出站通知 Webhooks"
EDITABLE = {"subscriber_zh", "description", "enabled"}  # the database fills in the rest of a (dis)abling


def _refuse(piccolo_crud, request) -> None:
    raise HTTPException(status_code=405, detail="请通过业务系统登记端点 / endpoints are registered through the API")


async def _patch_allowed(piccolo_crud, request) -> None:
    body = await request.json()
    if not isinstance(body, dict) or set(body) - EDITABLE:
        raise HTTPException(status_code=405, detail="只能修改名称、说明和启用状态 / only name, description and "
                                                    "enabled may change here")


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig
    from piccolo_api.crud.validators import Validators

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookOutbox

    endpoint_rules = Validators(post_single=[_refuse], put_single=[_refuse], delete_single=[_refuse],
                                delete_all=[_refuse], patch_single=[_patch_allowed])
    return [
        TableConfig(WebhookEndpoint, menu_group=MENU, validators=endpoint_rules,
                    exclude_visible_columns=[WebhookEndpoint.secret_cipher, WebhookEndpoint.previous_secret_cipher]),
        TableConfig(WebhookOutbox, menu_group=MENU, validators=READ_ONLY),
        TableConfig(WebhookDelivery, menu_group=MENU, validators=READ_ONLY,
                    exclude_visible_columns=[WebhookDelivery.claim_token]),
        TableConfig(WebhookAttempt, menu_group=MENU, validators=READ_ONLY),
    ]
