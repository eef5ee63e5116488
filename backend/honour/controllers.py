"""The public honour roll over HTTP: JSON and a page, both answered fresh every time (no login)."""

from __future__ import annotations

from typing import Annotated

from litestar import MediaType, get
from litestar.params import Parameter

from backend.honour import page, services
from backend.honour.schemas import HonourRollOut
from backend.openapi import errors
from backend.schemas import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

_CODE = r"^[0-9A-Za-z]{1,12}$"
County = Annotated[str | None, Parameter(pattern=_CODE, description="county code (default: the only county)")]
Township = Annotated[str | None, Parameter(pattern=_CODE, description="township code: only this township")]
Village = Annotated[str | None, Parameter(pattern=_CODE, description="village code: only this village "
                                                                     "(and no township list)")]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="persons and households per page (≤ 200)")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000)]
ERRORS = errors(services.COUNTY_REQUIRED, services.COUNTY_UNKNOWN, services.PLACE_UNKNOWN)
TAGS = ["honour roll 红榜"]


@get("/api/v1/public/honour-roll", operation_id="getHonourRoll", tags=TAGS, responses=ERRORS,
     summary="信用红榜 · Public honour roll")
async def honour_roll(county: County = None, township: Township = None, village: Village = None,
                      limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> HonourRollOut:
    """信用乡镇 and 信用村 by their effective official ratings; credit households and persons'
    positive information (honours, volunteering, charity) only under their active honour-roll
    consent at this instant — a withdrawal takes them off the next answer. Never an ID number,
    phone, address, score or negative information. Public, no login; never cached."""
    return await services.honour_roll(county_code=county, township_code=township, village_code=village,
                                      limit=limit, offset=offset)


@get("/honour-roll", operation_id="honourRollPage", tags=TAGS, media_type=MediaType.HTML, responses=ERRORS,
     summary="信用红榜网页 · Honour roll page (HTML)")
async def honour_roll_page(county: County = None, township: Township = None, village: Village = None,
                           limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> str:
    """The honour roll as a phone-readable page in Chinese (the same data as the API; no script,
    nothing from outside the platform). Several counties and none named: a list to choose from."""
    if county is None:
        all_counties = await services.counties()
        if len(all_counties) > 1:
            return page.render_counties(all_counties)
    roll = await services.honour_roll(county_code=county, township_code=township, village_code=village,
                                      limit=limit, offset=offset)
    county_id = (await services.resolve_county(roll.county.code))["id"]
    townships, villages = await services.places(county_id)
    return page.render(roll, townships, villages)
