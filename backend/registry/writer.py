"""Building registry rows from validated identity data (shared by seeding and roster import).

The only place a Person row is built, so encryption, hashing and masking cannot be skipped.
"""

from __future__ import annotations

from datetime import date

from backend.identity import ResidentId
from backend.registry import protection
from backend.registry.tables import Person


def person_row(
    *,
    county_id: int,
    name: str,
    resident_id: ResidentId,
    phone: str | None,
    is_party_member: bool = False,
    party_branch_id: int | None = None,
    party_joined_on: date | None = None,
) -> Person:
    ident = protection.protect_id_number(resident_id.number)
    phone_value = protection.protect_phone(phone) if phone else None
    return Person(
        county_id=county_id,
        name=name,
        id_number_cipher=ident.cipher,
        id_number_hash=ident.lookup_hash,
        id_number_masked=ident.masked,
        sex=resident_id.sex,
        birth_date=resident_id.birth_date,
        phone_cipher=phone_value.cipher if phone_value else None,
        phone_hash=phone_value.lookup_hash if phone_value else None,
        phone_masked=phone_value.masked if phone_value else None,
        is_party_member=is_party_member,
        party_branch=party_branch_id if is_party_member else None,
        party_joined_on=party_joined_on if is_party_member else None,
    )


async def insert_returning_ids(table, rows: list, batch: int = 1000) -> list[int]:
    """Bulk insert in batches, returning ids in input order."""
    ids: list[int] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        if chunk:
            result = await table.insert(*chunk).returning(table.id)
            ids.extend(r["id"] for r in result)
    return ids
