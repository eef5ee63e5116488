"""Auth request/response models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas import RequestModel


class LoginIn(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(RequestModel):
    refresh_token: str = Field(min_length=10, max_length=256)


class ClientCredentialsIn(RequestModel):
    """RFC 6749 §4.4 token request; the client may authenticate in the body or by HTTP Basic (§2.3.1)."""

    grant_type: Literal["client_credentials"]
    client_id: str = Field(min_length=1, max_length=64)
    client_secret: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str | None = None
    role: str


class MeOut(BaseModel):
    kind: str
    id: int
    role: str
    username: str
    county_id: int | None
    township_id: int | None
    person_id: int | None
    household_id: int | None
    grid_ids: list[int]
