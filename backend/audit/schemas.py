from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AccessLogOut(BaseModel):
    """One read, with the full machine detail (auditors, county admins) and the words a villager sees."""

    id: int
    at: datetime
    actor_kind: str = Field(description="account | bank_client | admin_user")
    actor_id: int
    actor_role: str
    actor_label: str = Field(description="the reader's username or bank client id")
    actor_org_zh: str = Field(description="the reader's organisation as recorded at read time ('' on older rows)")
    actor_person_id: int | None
    subject_kind: str
    subject_id: int
    person_id: int | None
    household_id: int | None
    township_id: int | None
    fields: list[str]
    purpose: str
    request_id: str
    who_zh: str
    what_zh: list[str]
    why_zh: str


class MyAccessLogItem(BaseModel):
    """一条查询记录 — one read of my or my household's data, in words."""

    ref: int = Field(description="查询编号: quote it to the county credit office (信用办) to ask about this read")
    at: datetime
    when_zh: str = Field(description="local time, e.g. 2026年7月1日 09:30")
    own: bool = Field(description="true when I read it myself (本人)")
    who_zh: str = Field(description="organisation · role, e.g. 梁家墩镇人民政府 · 乡镇管理员")
    organisation_zh: str
    role_zh: str
    about_zh: str = Field(description="whose data: 您本人 / 您家（全户） / 家庭成员 …")
    what_zh: list[str] = Field(description="what was read, e.g. 信用积分, 身份证号（完整）")
    why_zh: str = Field(description="why, e.g. 审核信用事件")


class MyAccessLogOut(BaseModel):
    """My access log (查询记录): one section per page, other people's reads by default."""

    section: Literal["others", "mine"]
    items: list[MyAccessLogItem]
    total: int = Field(description="rows in this section")
    limit: int
    offset: int
    others_total: int = Field(description="reads by other people (单位和人员查询)")
    mine_total: int = Field(description="my own reads (本人查询)")
    note_zh: str
