from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, get, post
from litestar.params import JSONBody, Parameter

from backend.auth import scope
from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.catalogue import county, page, services
from backend.catalogue.schemas import CatalogueUploadIn, CountyVersionOut, VersionOut, VersionSummary
from backend.errors import NotFound
from backend.openapi import errors
from backend.params import AuthRequest
from backend.params import AuthRequest, IntId

VERSION_UNKNOWN = NotFound("目录版本不存在", "No such catalogue version", code="CATALOGUE_VERSION_UNKNOWN")
COUNTY_UNKNOWN = NotFound("县（区）代码不存在", "No county with that code", code="CATALOGUE_COUNTY_UNKNOWN")
CountyCode = Annotated[str | None, Parameter(max_length=32, description="county code: that county's versions "
                                             "(the shipped default plus its own); absent: the shipped default")]


class CatalogueController(Controller):
    path = "/api/v1/catalogue"
    tags = ["catalogue 目录"]

    @get("/versions", operation_id="listCatalogueVersions", summary="积分目录版本列表 · Catalogue versions",
         responses=errors(COUNTY_UNKNOWN))
    async def versions(self, county: CountyCode = None) -> list[VersionSummary]:
        """Every catalogue version of a county and the day it takes effect (public: no login needed)."""
        await county_refresh()
        return services.list_versions(await _county_id(county))

    @get("/versions/{version:str}", operation_id="getCatalogueVersion", summary="积分目录的一个版本 · One catalogue version",
         responses=errors(VERSION_UNKNOWN, COUNTY_UNKNOWN))
    async def version(self, version: Annotated[str, Parameter(max_length=16)], county: CountyCode = None) -> VersionOut:
        """One version: base score, grade bands, and every item with its art. 32 fields."""
        await county_refresh()
        return services.get_version(version, await _county_id(county))


class MyCatalogueController(Controller):
    path = "/api/v1/me/catalogue"
    tags = ["catalogue 目录"]

    @get("", operation_id="getMyCatalogue", summary="本县现行积分目录（手机离线用） · My county's catalogue in force")
    async def mine(self, request: AuthRequest) -> VersionOut:
        """The version in force today for the caller's county (the shipped default if the account has no
        county), with every item — what the H5 app caches for offline recording."""
        await county_refresh()
        return services.version_in_force(await scope.actor_county(request.user))


@get("/catalogue", operation_id="cataloguePage",
     summary="积分目录网页 · Catalogue page (HTML)", tags=["catalogue 目录"], media_type=MediaType.HTML,
     responses=errors(VERSION_UNKNOWN, COUNTY_UNKNOWN))
async def catalogue_page(version: Annotated[str | None, Parameter(max_length=16)] = None,
                         county: CountyCode = None) -> str:
    """The catalogue as a readable page (public), of a county when ``county`` names one."""
    await county_refresh()
    return page.render(version, await _county_id(county), county)


async def county_refresh() -> None:
    from backend.ledger.catalogue import refresh_catalogues

    await refresh_catalogues()


async def _county_id(code: str | None) -> int | None:
    return await county.county_by_code(code)


class CountyCatalogueController(Controller):
    """A county's own catalogue versions: upload (checked, diffed, impact shown), then a second admin publishes."""

    path = "/api/v1/county-catalogue/versions"
    tags = ["catalogue 目录"]
    guards = [require_roles(Role.COUNTY_ADMIN)]

    @post("", operation_id="uploadCountyCatalogueVersion", summary="上传积分目录新版本 · Upload a catalogue version",
          responses=errors(county.INVALID, county.NOT_COUNTY_ADMIN))
    async def upload(self, request: AuthRequest, data: JSONBody[CatalogueUploadIn]) -> CountyVersionOut:
        """The version file as YAML text: every problem with its line (422), else a draft with its diff and impact."""
        return await county.upload(request.user, data.yaml)

    @get("", operation_id="listCountyCatalogueVersions", summary="本县上传的目录版本 · My county's uploaded versions")
    async def list_uploads(self, request: AuthRequest) -> list[CountyVersionOut]:
        """Drafts and published versions of my county, newest first."""
        return await county.list_uploads(request.user)

    @get("/{upload_id:int}", operation_id="getCountyCatalogueVersion",
         summary="一个上传的目录版本 · One uploaded version", responses=errors(county.UNKNOWN))
    async def get_upload(self, request: AuthRequest, upload_id: IntId) -> CountyVersionOut:
        """The version, its diff against the version in force on its date, its impact (drafts) or re-score progress."""
        return await county.get_upload(request.user, upload_id)

    @post("/{upload_id:int}/publish", operation_id="publishCountyCatalogueVersion", status_code=200,
          summary="发布目录版本（第二名管理员） · Publish (a second county admin)",
          responses=errors(county.UNKNOWN, county.MAKER_CHECKER, county.ALREADY, county.TAKEN, county.BREAKS))
    async def publish(self, request: AuthRequest, upload_id: IntId) -> CountyVersionOut:
        """In force from its effective date; a past date re-scores the events it governs (rescore_status)."""
        return await county.publish(request.user, upload_id)
