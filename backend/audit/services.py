"""Reading the access log: auditors county-wide, villagers for themselves (art. 44 right to know).

The villager's view is words (who, what, why, when — :mod:`backend.audit.words`) and keeps
their own reads apart from other people's; the auditor's view keeps every machine field.

Staff privacy: a villager sees the reader's organisation and role, never a staff member's
name (not even masked — ``display_name`` is free text such as "梁家墩镇管理员", and a masked
surname would be both a disclosure and no more actionable). What makes a read actionable is
the 查询编号 (the row id): the credit office resolves it to the account in the auditor's view.
"""

from __future__ import annotations

import json
from typing import Literal

from backend.audit import words
from backend.audit.schemas import AccessLogOut, MyAccessLogItem, MyAccessLogOut
from backend.audit.tables import AccessLog
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import PermissionDenied
from backend.registry.tables import Township
from backend.schemas import Page

Section = Literal["others", "mine"]

NOTE_ZH = {
    "others": "以下是其他单位和人员查看您本人及您家信息的记录。为保护工作人员隐私，只显示单位和职务；"
              "如对某次查询有疑问，可凭查询编号向区县发展和改革局（信用办）反映。",
    "mine": "以下是您本人登录后查看自己和家人信息的记录。",
}


def _fields(row: dict) -> list[str]:
    fields = row["fields"]
    return json.loads(fields) if isinstance(fields, str) else list(fields)


def _who(row: dict) -> tuple[str, str]:
    """(organisation, role) in words for a reader other than the viewer."""
    role = row["actor_role"]
    if row["actor_kind"] == "account" and role == "villager":
        # A villager can only ever read their own household: to the viewer that is family.
        return words.HOUSEHOLD_MEMBER_ZH, words.role_zh(role)
    return words.org_zh(row["actor_kind"], role, row["actor_org_zh"]), words.role_zh(role)


# --- the villager's view ----------------------------------------------------------------------


def _about_me(actor: Actor) -> tuple[str, list]:
    if actor.household_id is None:
        return "person_id = {}", [actor.person_id]
    return "(person_id = {} OR household_id = {})", [actor.person_id, actor.household_id]


def _own(actor: Actor) -> tuple[str, list]:
    """Read by this villager: their person (recorded since the reader's person is), or — on
    older rows — their account."""
    return ("(COALESCE(actor_person_id = {}, false) OR (actor_kind = 'account' AND actor_id = {}))",
            [actor.person_id, actor.id])


async def my_access_log(actor: Actor, *, section: Section = "others", limit: int, offset: int) -> MyAccessLogOut:
    """Who looked at my data or my household's — other people's reads, or (``mine``) my own."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    about, about_args = _about_me(actor)
    own, own_args = _own(actor)
    counts = (await fetch(
        f"""SELECT count(*) FILTER (WHERE {own}) AS mine, count(*) FILTER (WHERE NOT {own}) AS others
            FROM access_log WHERE {about}""",
        *own_args, *own_args, *about_args,
    ))[0]
    pick = own if section == "mine" else f"NOT {own}"
    rows = await fetch(
        f"""SELECT id, at, actor_kind, actor_role, actor_org_zh, subject_kind, subject_id, fields, purpose
            FROM access_log WHERE {about} AND {pick} ORDER BY id DESC LIMIT {{}} OFFSET {{}}""",
        *about_args, *own_args, limit, offset,
    )
    family = sorted({r["subject_id"] for r in rows if r["subject_kind"] == "person"} - {actor.person_id})
    names = {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM person WHERE id = ANY({})", family)} \
        if family else {}
    mine = section == "mine"
    pulls = await _bank_pulls(rows)
    items = []
    for r in rows:
        organisation, role = (words.SELF_ZH, words.role_zh(r["actor_role"])) if mine else _who(r)
        items.append(MyAccessLogItem(
            ref=r["id"], at=r["at"], when_zh=words.when_zh(r["at"]), own=mine,
            who_zh=words.SELF_ZH if mine else f"{organisation}{words.WHO_SEPARATOR}{role}",
            organisation_zh=organisation, role_zh=role,
            about_zh=words.about_zh(r["subject_kind"], r["subject_id"] if r["subject_kind"] == "person" else None,
                                    actor.person_id, names.get(r["subject_id"])),
            what_zh=words.what_zh(_fields(r)),
            why_zh=pulls.get(r["purpose"]) or words.why_zh(r["purpose"], r["actor_role"]),
        ))
    total = counts["mine"] if mine else counts["others"]
    return MyAccessLogOut(section=section, items=items, total=total, limit=limit, offset=offset,
                          others_total=counts["others"], mine_total=counts["mine"], note_zh=NOTE_ZH[section])


async def _bank_pulls(rows: list[dict]) -> dict[str, str]:
    """A bank's pull (purpose ``bank_pull:<pull id>``) in words: product, purpose and consent."""
    ids = sorted({int(r["purpose"].split(":", 1)[1]) for r in rows
                  if r["purpose"].startswith("bank_pull:") and r["purpose"].split(":", 1)[1].isdigit()})
    if not ids:
        return {}
    found = await fetch("""SELECT p.id, p.purpose, p.consent_event_id, COALESCE(b.name_zh, p.product_code) AS product
                           FROM bank_rating_pull p LEFT JOIN bank_product b ON b.id = p.product_id
                           WHERE p.id = ANY({})""", ids)
    return {f"bank_pull:{r['id']}": words.bank_pull_zh(r["product"], r["purpose"], r["consent_event_id"])
            for r in found}


# --- the auditor's view -----------------------------------------------------------------------


def _out(row: dict) -> AccessLogOut:
    organisation = words.org_zh(row["actor_kind"], row["actor_role"], row["actor_org_zh"])
    return AccessLogOut(
        id=row["id"], at=row["at"], actor_kind=row["actor_kind"], actor_id=row["actor_id"],
        actor_role=row["actor_role"], actor_label=row["actor_label"], actor_org_zh=row["actor_org_zh"],
        actor_person_id=row["actor_person_id"], subject_kind=row["subject_kind"], subject_id=row["subject_id"],
        person_id=row["person_id"], household_id=row["household_id"], township_id=row["township_id"],
        fields=_fields(row), purpose=row["purpose"], request_id=row["request_id"],
        who_zh=f"{organisation}{words.WHO_SEPARATOR}{words.role_zh(row['actor_role'])}",
        what_zh=words.what_zh(_fields(row)),
        why_zh=words.why_zh(row["purpose"], row["actor_role"]),
    )


async def county_access_log(actor: Actor, *, subject_kind: str | None, subject_id: int | None, limit: int,
                            offset: int, ref: int | None = None) -> Page[AccessLogOut]:
    """Reads of personal data in the county, newest first, with every machine field; ``ref`` is
    the 查询编号 a villager quotes from their own log."""
    if actor.role not in (Role.AUDITOR, Role.COUNTY_ADMIN) or actor.county_id is None:
        raise PermissionDenied()
    townships = await Township.select(Township.id).where(Township.county == actor.county_id)
    condition = AccessLog.township_id.is_in([t["id"] for t in townships] or [-1])
    if subject_kind is not None:
        condition = condition & (AccessLog.subject_kind == subject_kind)
    if subject_id is not None:
        condition = condition & (AccessLog.subject_id == subject_id)
    if ref is not None:
        condition = condition & (AccessLog.id == ref)
    total = await AccessLog.count().where(condition)
    rows = await AccessLog.select().where(condition).order_by(AccessLog.id, ascending=False).limit(limit).offset(offset)
    return Page[AccessLogOut](items=[_out(r) for r in rows], total=total, limit=limit, offset=offset)
