"""This package's tables in the back office (``admin.build_admin`` adds them).

Feed sources are managed by county staff: name, mapping and active may be changed here (a mapping
is checked against the catalogue as the API checks it); a source is created through the API
(``POST /api/v1/feeds/sources``), which makes its recorder account and key and shows the secret
once — never here. Key ids and secrets are not shown. Batches and records (the matching queue
included) are read-only: records are resolved through the township-scoped API.
"""

from __future__ import annotations

MENU = "数据接入 Feeds"
EDITABLE = frozenset({"name", "mapping", "active"})


async def _source_patch(piccolo_crud, request) -> None:
    from starlette.exceptions import HTTPException

    from backend.errors import CunxinError
    from backend.feeds.services import _check_mapping

    body = await request.json()
    if not isinstance(body, dict) or set(body) - EDITABLE:
        raise HTTPException(status_code=405, detail="只能修改名称、映射和启用状态 / only name, mapping and active")
    if "mapping" in body:
        mapping = body["mapping"]
        if isinstance(mapping, str):
            import json

            try:
                mapping = json.loads(mapping)
            except ValueError:
                raise HTTPException(status_code=400, detail="映射须为 JSON / mapping must be JSON") from None
        if not isinstance(mapping, dict) or not mapping or not all(
                isinstance(v, dict) and isinstance(v.get("item_code"), str) for v in mapping.values()):
            raise HTTPException(status_code=400, detail='映射格式：{"类型": {"item_code": "…"}}')
        try:
            _check_mapping(mapping)
        except CunxinError as exc:
            raise HTTPException(status_code=400, detail=f"{exc.message_zh} / {exc.message_en}") from None


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig
    from piccolo_api.crud.validators import Validators

    from admin import READ_ONLY, _read_only  # imported when the admin is built: admin/__init__ is complete by then
    from backend.feeds.tables import FeedBatch, FeedRecord, FeedSource

    sources = Validators(post_single=[_read_only], put_single=[_read_only], patch_single=[_source_patch],
                         delete_single=[_read_only], delete_all=[_read_only])
    return [
        TableConfig(FeedSource, menu_group=MENU, validators=sources,
                    exclude_visible_columns=[FeedSource.secret_cipher, FeedSource.key_id]),
        TableConfig(FeedBatch, menu_group=MENU, validators=READ_ONLY, exclude_visible_columns=[FeedBatch.signature]),
        TableConfig(FeedRecord, menu_group=MENU, validators=READ_ONLY,
                    exclude_visible_columns=[FeedRecord.identifier_hash, FeedRecord.details]),
    ]
