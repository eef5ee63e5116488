from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, get
from litestar.params import Parameter

from backend.catalogue import page, services
from backend.catalogue.schemas import VersionOut, VersionSummary
from backend.errors import NotFound
from backend.openapi import errors

VERSION_UNKNOWN = NotFound("目录版本不存在", "No such catalogue version", code="CATALOGUE_VERSION_UNKNOWN")


class CatalogueController(Controller):
    path = "/api/v1/catalogue"
    tags = ["catalogue 目录"]

    @get("/versions", operation_id="listCatalogueVersions", summary="积分目录版本列表 · Catalogue versions")
    async def versions(self) -> list[VersionSummary]:
        """Every catalogue version and the day it takes effect (public: no login needed)."""
        return services.list_versions()

    @get("/versions/{version:str}", operation_id="getCatalogueVersion", summary="积分目录的一个版本 · One catalogue version",
         responses=errors(VERSION_UNKNOWN))
    async def version(self, version: Annotated[str, Parameter(max_length=16)]) -> VersionOut:
        """One version: base score, grade bands, and every item with its art. 32 fields."""
        return services.get_version(version)


@get("/catalogue", operation_id="cataloguePage",
     summary="积分目录网页 · Catalogue page (HTML)", tags=["catalogue 目录"], media_type=MediaType.HTML,
     responses=errors(VERSION_UNKNOWN))
async def catalogue_page(version: Annotated[str | None, Parameter(max_length=16)] = None) -> str:
    """The catalogue as a readable page (public)."""
    return page.render(version)
