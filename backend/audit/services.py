"""Reading the access log: auditors county-wide, villagers for themselves (art. 44 right to know)."""

from __future__ import annotations

import json

from backend.audit.schemas import AccessLogOut
from backend.audit.tables import AccessLog
from backend.auth.roles import Actor, Role
from backend.errors import PermissionDenied
from backend.registry.tables import Township
from backend.schemas import Page


def _out(row: dict) -> AccessLogOut:
    fields = row["fields"]
    if isinstance(fields, str):
        fields = json.loads(fields)
    return AccessLogOut(at=row["at"], actor_role=row["actor_role"], actor_label=row["actor_label"],
                        subject_kind=row["subject_kind"], subject_id=row["subject_id"], fields=fields,
                        purpose=row["purpose"])


async def _page(condition, limit: int, offset: int) -> Page[AccessLogOut]:
    total = await AccessLog.count().where(condition)
    rows = await AccessLog.select().where(condition).order_by(AccessLog.id, ascending=False).limit(limit).offset(offset)
    return Page[AccessLogOut](items=[_out(r) for r in rows], total=total, limit=limit, offset=offset)


async def my_access_log(actor: Actor, *, limit: int, offset: int) -> Page[AccessLogOut]:
    """Who looked at my data or my household's (a villager's view)."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    condition = AccessLog.person_id == actor.person_id
    if actor.household_id is not None:
        condition = condition | (AccessLog.household_id == actor.household_id)
    return await _page(condition, limit, offset)


async def county_access_log(actor: Actor, *, subject_kind: str | None, subject_id: int | None, limit: int,
                            offset: int) -> Page[AccessLogOut]:
    if actor.role not in (Role.AUDITOR, Role.COUNTY_ADMIN) or actor.county_id is None:
        raise PermissionDenied()
    townships = await Township.select(Township.id).where(Township.county == actor.county_id)
    condition = AccessLog.township_id.is_in([t["id"] for t in townships] or [-1])
    if subject_kind is not None:
        condition = condition & (AccessLog.subject_kind == subject_kind)
    if subject_id is not None:
        condition = condition & (AccessLog.subject_id == subject_id)
    return await _page(condition, limit, offset)
