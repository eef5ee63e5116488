"""Bank endpoints: products (county admins), rating pulls (bank clients), pull records (both)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.bank import services
from backend.bank.limits import LIMITER_DOWN, RateLimited
from backend.bank.schemas import ProductIn, ProductOut, PullIn, PullOut, PullRecordOut
from backend.errors import NotFound, PermissionDenied
from backend.openapi import errors
from backend.params import AuthRequest, IntId, Limit, Offset
from backend.registry.controllers import ID_NUMBER_ERRORS
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE

COUNTY = require_roles(Role.COUNTY_ADMIN)
BANK = require_roles(Role.BANK)
BANK_OR_COUNTY = require_roles(Role.BANK, Role.COUNTY_ADMIN)

IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", required=False,
    description="required: 8–64 of A-Z a-z 0-9 _ . : - ; the same key with the same body returns the stored "
                "answer, with another body 409 IDEMPOTENCY_KEY_REUSED")]


def _json(request: Request, status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    rid = request_id(request)
    if rid:
        headers["X-Request-ID"] = rid
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


class BankController(Controller):
    path = "/api/v1/bank"
    tags = ["bank 银行"]

    @get("/products", operation_id="listBankProducts", guards=[BANK_OR_COUNTY],
         summary="银行产品 · Bank products")
    async def products(self, request: AuthRequest) -> list[ProductOut]:
        """County admins: every product of the county's banks; a bank client: its own products."""
        return await services.list_products(request.user)

    @post("/products", operation_id="createBankProduct", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="登记银行产品 · Register a bank product",
          responses=errors(services.PURPOSE_NOT_ALLOWED, services.RECIPIENT_NOT_BANK, services.PRODUCT_EXISTS))
    async def create_product(self, request: AuthRequest, data: JSONBody[ProductIn]) -> ProductOut:
        """A product of a bank of my county with its credit-check policy (mandatory, stale_days, blocking)."""
        return await services.create_product(request.user, data)

    @post("/products/{product_id:int}/deactivate", operation_id="deactivateBankProduct", guards=[COUNTY],
          status_code=HTTP_200_OK, summary="停用银行产品 · Deactivate a bank product", responses=errors(NotFound))
    async def deactivate(self, request: AuthRequest, product_id: IntId) -> ProductOut:
        """No new pulls for this product (idempotent); its past pulls stay."""
        return await services.deactivate_product(request.user, product_id)

    @post("/rating-pulls", operation_id="pullHouseholdRating", guards=[BANK], status_code=HTTP_200_OK,
          summary="查询农户信用评级 · Pull a household's rating under consent",
          responses=errors(*services.REFUSALS.values(), services.IDEMPOTENCY_KEY_REQUIRED,
                           services.IDEMPOTENCY_KEY_REUSED, *ID_NUMBER_ERRORS, RateLimited, LIMITER_DOWN))
    async def pull(self, request: AuthRequest, data: JSONBody[PullIn],
                   idempotency_key: IdempotencyKey = None) -> Response[PullOut]:
        """The household's effective official rating and a signed attestation (ES256 JWS, typ
        rating-attestation+jwt), only under its active consent for this bank, purpose and scope.

        Refusals are 403 CONSENT_* (an unknown ID number answers CONSENT_REQUIRED), 409 RATING_*
        (when the product's failed check blocks; otherwise 200 with outcome check_failed and no
        rating), 422 PRODUCT_UNKNOWN / PURPOSE_NOT_ALLOWED; every pull is recorded. Rate limited
        per client (429 RATE_LIMITED with Retry-After; 503 while the limiter is down)."""
        try:
            status, body = await services.pull(request.user, data, idempotency_key, request_id=request_id(request))
        except RateLimited as exc:
            return _json(request, exc.status_code, exc.to_body(), {"Retry-After": str(exc.retry_after)})
        return _json(request, status, body)

    @get("/rating-pulls", operation_id="listRatingPulls", guards=[BANK_OR_COUNTY],
         summary="银行查询记录 · Rating pulls", responses=errors(PermissionDenied))
    async def pulls(self, request: AuthRequest, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0
                    ) -> list[PullRecordOut]:
        """A bank client: its own pulls, newest first; a county admin: the pulls about households
        of the county (access-logged)."""
        return await services.list_pulls(request.user, limit=limit, offset=offset, request_id=request_id(request))
