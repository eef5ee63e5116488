"""Creating accounts and bank clients (CLI, seeding). Scope columns are set from codes."""

from __future__ import annotations

import secrets

from piccolo.apps.user.tables import BaseUser
from piccolo.engine import engine_finder

from backend import clock
from backend.auth.passwords import hash_password
from backend.auth.roles import Role
from backend.auth.services import validate_new_password
from backend.auth.tables import Account, BankClient, GridAssignment
from backend.errors import Conflict, InvalidInput, NotFound
from backend.identity import parse_id_number
from backend.registry import protection
from backend.registry.tables import County, Grid, Person, Township

_SCOPE_REQUIRED = {
    Role.COUNTY_ADMIN: "county_code",
    Role.AUDITOR: "county_code",
    Role.TOWNSHIP_ADMIN: "township_code",
    Role.GRID_WORKER: "grid_codes",
    Role.VILLAGER: "person_id_number",
}


async def _id_by_code(table, code: str, label: str) -> int:
    row = await table.select(table.id).where(table.code == code).first()
    if row is None:
        raise NotFound(f"{label}代码 {code} 不存在", f"No {table._meta.tablename} with code {code}",
                       code="REGISTRY_CODE_UNKNOWN")
    return row["id"]


async def create_account(
    username: str,
    password: str,
    role: Role,
    *,
    county_code: str | None = None,
    township_code: str | None = None,
    grid_codes: list[str] | None = None,
    person_id_number: str | None = None,
    display_name: str = "",
    admin_ui: bool = False,
) -> int:
    """Create an API account with its jurisdiction; ``admin_ui`` also creates a piccolo-admin login."""
    if role is Role.BANK:
        raise InvalidInput("银行请使用客户端凭证", "Banks use client credentials", code="ACCOUNT_ROLE")
    validate_new_password(password)
    needed = _SCOPE_REQUIRED[role]
    given = {"county_code": county_code, "township_code": township_code, "grid_codes": grid_codes,
             "person_id_number": person_id_number}
    if not given[needed]:
        raise InvalidInput(f"角色 {role.value} 需要指定 {needed}", f"Role {role.value} needs {needed}",
                           code="ACCOUNT_SCOPE_MISSING")
    if await Account.exists().where(Account.username == username):
        raise Conflict("用户名已存在", "Username already exists", code="ACCOUNT_EXISTS")
    county_id = await _id_by_code(County, county_code, "区县") if county_code else None
    township_id = await _id_by_code(Township, township_code, "乡镇") if township_code else None
    person_id = None
    if person_id_number:
        number = parse_id_number(person_id_number).number
        row = await Person.select(Person.id).where(Person.id_number_hash == protection.id_number_hash(number)).first()
        if row is None:
            raise NotFound("该身份证号未登记", "No person with that ID number", code="PERSON_UNKNOWN")
        person_id = row["id"]
    grid_ids = [await _id_by_code(Grid, code, "网格") for code in (grid_codes or [])]
    grid_county = {r["id"]: r["county_id"] for r in await Grid.select(Grid.id, Grid.county_id)
                   .where(Grid.id.is_in(grid_ids))} if grid_ids else {}
    async with engine_finder().transaction():
        account_id = (await Account.insert(Account(
            username=username, password_hash=hash_password(password), role=role.value, display_name=display_name,
            county=county_id, township=township_id, person=person_id,
        )).returning(Account.id))[0]["id"]
        if grid_ids:
            await GridAssignment.insert(*[GridAssignment(account=account_id, grid=g, county_id=grid_county[g],
                                                         valid_from=clock.today())
                                          for g in grid_ids])
        if admin_ui:
            if role is not Role.COUNTY_ADMIN:
                raise InvalidInput("只有县区管理员可使用管理后台", "Only county admins use the admin UI",
                                   code="ACCOUNT_ADMIN_UI")
            if not await BaseUser.exists().where(BaseUser.username == username):
                await BaseUser.create_user(username=username, password=password, admin=True, active=True,
                                           superuser=False, email=f"{username}@cunxin.local")
    return account_id


async def create_bank_client(name: str, county_code: str, *, client_id: str | None = None,
                             secret: str | None = None) -> tuple[str, str]:
    """Register a bank's server client; returns (client_id, secret) — the secret is shown once."""
    county_id = await _id_by_code(County, county_code, "区县")
    client_id = client_id or f"bank-{secrets.token_hex(6)}"
    secret = secret or secrets.token_urlsafe(32)
    if await BankClient.exists().where(BankClient.client_id == client_id):
        raise Conflict("客户端编号已存在", "Client id already exists", code="BANK_CLIENT_EXISTS")
    await BankClient.insert(BankClient(name=name, client_id=client_id, secret_hash=hash_password(secret),
                                       county=county_id))
    return client_id, secret
