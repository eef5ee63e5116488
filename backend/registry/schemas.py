"""Registry request/response models (hand-written; server-owned fields never in requests)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from backend.schemas import RequestModel, IntIdField


class Ref(BaseModel):
    id: int
    code: str
    name: str


class TownshipOut(Ref):
    kind: str


class VillageOut(Ref):
    kind: str
    township_id: int


class GridOut(Ref):
    village_id: int


class PartyBranchOut(Ref):
    village_id: int
    member_count: int


class MemberOut(BaseModel):
    person_id: int
    name: str
    relation: str
    sex: str
    birth_year: int
    id_number: str = Field(description="Masked (e.g. 620702********1234) unless the caller may see it in full")
    is_party_member: bool


class HouseholdOut(BaseModel):
    id: int
    code: str
    address: str
    township: Ref
    village: Ref
    grid: Ref
    members: list[MemberOut]
    party_contact: str | None = Field(None, description="党员联户: the party member who looks after this household")


class HouseholdSummary(BaseModel):
    id: int
    code: str
    address: str
    grid_id: int
    head_name: str | None
    member_count: int


class RosterMember(BaseModel):
    person_id: int
    name: str
    relation: str
    id_number_masked: str


class RosterHousehold(BaseModel):
    id: int
    code: str = Field(description="户号")
    address: str
    members: list[RosterMember] = Field(description="current members, head of household first")


class RosterGrid(BaseModel):
    id: int
    code: str
    name: str
    village_id: int
    village_name: str
    households: list[RosterHousehold]


class RosterOut(BaseModel):
    """A grid worker's grids, households and people, for the phone's offline cache."""

    generated_at: datetime
    grids: list[RosterGrid]


class PersonOut(BaseModel):
    id: int
    name: str
    sex: str
    birth_date: date
    id_number: str
    id_number_masked: bool
    phone: str | None
    phone_masked: bool
    household_id: int
    household_code: str
    relation: str
    is_party_member: bool
    party_branch: str | None
    party_joined_on: date | None
    village: Ref
    township: Ref


class PersonLookupIn(RequestModel):
    id_number: str = Field(min_length=1, max_length=32, description="居民身份证号, 18 characters")


class MembershipChangeIn(RequestModel):
    """Move a person into this household (迁入/分户); their open membership elsewhere is closed."""

    person_id: IntIdField
    relation: str = Field(description="与户主关系: 户主/配偶/子女/父母/孙子女/兄弟姐妹/其他")
    valid_from: date
    reason: str = Field(min_length=1, max_length=200)


class ResidenceChangeIn(RequestModel):
    """The household now lives in another grid (e.g. after grids are redrawn or a move)."""

    grid_id: IntIdField
    address: str = Field(max_length=200)
    valid_from: date
    reason: str = Field(min_length=1, max_length=200)


class MembershipOut(BaseModel):
    household_id: int
    household_code: str
    relation: str
    valid_from: date
    valid_to: date | None
    reason: str


class ResidenceOut(BaseModel):
    grid_id: int
    grid_name: str
    address: str
    valid_from: date
    valid_to: date | None
    reason: str


class LinkedHouseholdOut(BaseModel):
    household_id: int
    household_code: str
    head_name: str | None
    since: date


class OrganisationOut(BaseModel):
    id: int
    name: str
    uscc: str
    kind: str
    township_id: int
    legal_representative: str
