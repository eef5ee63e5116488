"""The semi-annual report in the back office (``admin.build_admin`` adds it).

County staff work in the admin, not in the API: three forms act as the logged-in county admin's
own account through ``backend.reports`` (the same checks as the API — their county only; the
current half-year provisionally, up to a data cut). "生成半年报" queues a build (the worker does
it; the run's progress is in the read-only "半年报生成记录" table); "下载半年报（Excel）" and
"下载半年报打印页" hand over the finished run's workbook and its printable page (open it in the
browser and print; everything is inline).
"""

from __future__ import annotations

import io

from datetime import date

from pydantic import BaseModel, Field

from admin.actor import admin_actor

MENU = "报表 Reports"


class BuildForm(BaseModel):
    period: str = Field(pattern=r"^\d{4}H[12]$", description="半年度，如 2026H1（1–6 月）或 2026H2（7–12 月）")
    through: date | None = Field(default=None, description="统计截止日（含）；不填：已结束的半年度取全期，本半年度取昨天（临时报告）")


class RunForm(BaseModel):
    run_id: int = Field(ge=1, description="生成记录编号（“半年报生成记录”表中的 id，状态须为 done）")


async def build_form(request, data: BuildForm) -> str:
    from backend.errors import CunxinError
    from backend.reports import services

    try:
        run = await services.request_report(await admin_actor(request), data.period, data.through)
    except CunxinError as exc:
        return f"{exc.message_zh}（{exc.code}）"
    cut = f"（临时报告，截至 {run.through}）" if run.provisional else ""
    return (f"已排队：第 {run.id} 号，{run.period}{cut}，共 {run.progress_total} 部分，当前状态 {run.status}。"
            "进度见“半年报生成记录”；完成后用“下载半年报”取 Excel 或打印页。")


async def _done(request, run_id: int):
    from backend.reports import services

    return await services.done_run(await admin_actor(request), run_id)


async def excel_form(request, data: RunForm):
    from piccolo_admin.endpoints import FileResponse

    from backend.errors import CunxinError
    from backend.reports import render

    try:
        run, figures = await _done(request, data.run_id)
    except CunxinError as exc:
        return f"{exc.message_zh}（{exc.code}）"
    return FileResponse(contents=io.BytesIO(await render.workbook(figures)), media_type=render.XLSX,
                        file_name=f"semi-annual-{run['period_code']}-{run['id']}.xlsx")


async def page_form(request, data: RunForm):
    from piccolo_admin.endpoints import FileResponse

    from backend.errors import CunxinError
    from backend.reports import render

    try:
        run, figures = await _done(request, data.run_id)
    except CunxinError as exc:
        return f"{exc.message_zh}（{exc.code}）"
    html = render.page(figures, run["figures_sha256"]).encode("utf-8")
    return FileResponse(contents=io.BytesIO(html), media_type="text/html",
                        file_name=f"semi-annual-{run['period_code']}-{run['id']}.html")


def form_configs() -> list:
    from piccolo_admin.endpoints import FormConfig

    return [
        FormConfig(name="生成半年报 Build the semi-annual report", pydantic_model=BuildForm, endpoint=build_form,
                   description="本县一个已结束的半年度；由后台任务按数据生成，可随时重新生成（结果应一致）。",
                   form_group=MENU),
        FormConfig(name="下载半年报（Excel） Download the report as Excel", pydantic_model=RunForm,
                   endpoint=excel_form, description="每部分一个工作表，首行为发文单位。", form_group=MENU),
        FormConfig(name="下载半年报打印页 Download the printable page", pydantic_model=RunForm, endpoint=page_form,
                   description="含图表的网页文件，用浏览器打开后打印；不引用任何外部资源。", form_group=MENU),
    ]


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.reports.tables import ReportRun

    return [TableConfig(ReportRun, menu_group=MENU, validators=READ_ONLY,
                        exclude_visible_columns=[ReportRun.figures])]
