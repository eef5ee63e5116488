"""Roles and the actor (who is calling) as the rest of the code sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Role(str, Enum):
    GRID_WORKER = "grid_worker"  # 网格员: their grids
    VILLAGER = "villager"  # 村民: themselves and their household
    TOWNSHIP_ADMIN = "township_admin"  # 乡镇管理员: their township
    COUNTY_ADMIN = "county_admin"  # 县/区管理员 (信用办): the county
    BANK = "bank"  # 银行: a bank client, server to server
    AUDITOR = "auditor"  # 审计: read-only, audit logs


ACCOUNT_ROLES = frozenset(r for r in Role if r is not Role.BANK)

# Roles that may see an unmasked resident ID number / phone (for verification, objections,
# repair). Villagers see their own in full; grid workers never do.
ROLES_SEEING_FULL_IDENTIFIERS = frozenset({Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN})


@dataclass(frozen=True)
class Actor:
    """The authenticated caller. ``kind`` is ``account`` or ``bank_client``."""

    kind: str
    id: int
    role: Role
    label: str
    sid: str
    county_id: int | None = None
    township_id: int | None = None
    person_id: int | None = None
    household_id: int | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    # Villages/townships the actor works or lives in: structure (not people) they may browse.
    village_ids: frozenset[int] = field(default_factory=frozenset)
    township_ids: frozenset[int] = field(default_factory=frozenset)
    # The county the actor works or lives in, whatever the role (a county admin's ``county_id``, a
    # township admin's township's, a grid worker's grids', a villager's household's): the shard key
    # every query of personal data filters by (``backend.auth.scope.county_of``).
    home_county_id: int | None = None
    # The organisation the actor acts for, in words, as it was when this request loaded the actor
    # (``backend.audit.readers.organisation_from``); ``None``: not loaded, looked up when needed.
    organisation_zh: str | None = None
