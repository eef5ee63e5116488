"""The county's catalogue versions in the back office (``admin.build_admin`` adds them).

The table is read-only here (a version's text never changes; the database refuses it anyway).
Two forms call the same services as the API (``backend.catalogue.county``), as the logged-in
admin's own account (the piccolo-admin login has the account's username; ``admin_ui`` accounts):
"上传积分目录新版本" takes the YAML text and answers with every problem by line, or with the diff
and the impact; "发布积分目录版本" publishes an upload by its id — refused to its uploader
(maker-checker), so a second county admin of the county must do it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from admin.actor import admin_actor

MENU = "积分目录 Catalogue"


class UploadForm(BaseModel):
    yaml: str = Field(description="积分目录版本文件（YAML，与 points_rules/catalogue/*.yaml 同一格式）",
                      json_schema_extra={"format": "text-area"})


class PublishForm(BaseModel):
    upload_id: int = Field(ge=1, description="上传记录编号（本页“县积分目录版本”表中的 id）")


def _problems_text(exc) -> str:
    problems = (exc.details or {}).get("problems") or []
    lines = [f"第{p['line'] or 0}行 {p['path'] or '(根)'}：{p['message_zh']}" for p in problems]
    return f"{exc.message_zh}（{exc.code}）" + ("：\n" + "\n".join(lines) if lines else "")


async def upload_form(request, data: UploadForm) -> str:
    from backend.catalogue import county
    from backend.errors import CunxinError

    try:
        out = await county.upload(await admin_actor(request), data.yaml)
    except CunxinError as exc:
        return _problems_text(exc)
    impact = out.impact
    summary = (f"已上传 {out.version}（{out.effective_from}起施行，编号 {out.id}，SHA-256 {out.sha256}），"
               f"与 {out.against_version or '—'} 相比 {len(out.changes_zh)} 处变化：\n" + "\n".join(out.changes_zh))
    if impact is not None:
        summary += (f"\n影响（截至{impact.as_of}）：{impact.persons_changing_grade} 人、{impact.households_changing_grade} 户"
                    f"等级将变化；{impact.events_rescored} 条事件将重新计分。须由本县另一名管理员发布。")
    return summary


async def publish_form(request, data: PublishForm) -> str:
    from backend.catalogue import county
    from backend.errors import CunxinError

    try:
        out = await county.publish(await admin_actor(request), data.upload_id)
    except CunxinError as exc:
        return _problems_text(exc)
    return (f"已发布 {out.version}，自 {out.effective_from} 起施行。重新计分：{out.rescore_status}"
            "（none 表示生效日期在今后，无需重新计分）。")


def form_configs() -> list:
    from piccolo_admin.endpoints import FormConfig

    return [
        FormConfig(name="上传积分目录新版本 Upload a catalogue version", pydantic_model=UploadForm, endpoint=upload_form,
                   description="校验（逐条列出问题及行号）、与施行版本比对，并估算等级变化；上传者不能自己发布。",
                   form_group=MENU),
        FormConfig(name="发布积分目录版本 Publish a catalogue version", pydantic_model=PublishForm,
                   endpoint=publish_form, description="由本县另一名县（区）管理员发布；生效日期已过的，重新计分。",
                   form_group=MENU),
    ]


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.catalogue.tables import CountyCatalogueVersion

    return [TableConfig(CountyCatalogueVersion, menu_group=MENU, validators=READ_ONLY)]
