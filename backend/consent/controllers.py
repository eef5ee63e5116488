"""Consent endpoints: recipients and notices, my consents, paper capture, withdrawal, receipts, JWKS."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import PEOPLE_READERS, require_roles
from backend.auth.roles import Role
from backend.consent import keys, services
from backend.consent.schemas import (
    ConsentOut,
    GrantIn,
    NoticeIn,
    NoticeOut,
    PaperGrantIn,
    ReceiptOut,
    RecipientIn,
    RecipientOut,
)
from backend.auth import scope
from backend.params import AuthRequest, BigId, IntId, Limit, Offset, OptionalIntId
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE

COUNTY = require_roles(Role.COUNTY_ADMIN)
VILLAGER = require_roles(Role.VILLAGER)
GRID_WORKER = require_roles(Role.GRID_WORKER)
ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)


class ConsentController(Controller):
    path = "/api/v1"
    tags = ["consent 授权同意"]

    @get("/consent/recipients", operation_id="listConsentRecipients", guards=[PEOPLE_READERS],
         summary="授权接收方 · Consent recipients")
    async def recipients(self, request: AuthRequest) -> list[RecipientOut]:
        """Banks, subsidy offices and the honour roll of my county, with the notice a new consent needs."""
        return await services.list_recipients(request.user)

    @post("/consent/recipients", operation_id="createConsentRecipient", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="登记授权接收方 · Register a recipient")
    async def create_recipient(self, request: AuthRequest, data: JSONBody[RecipientIn]) -> RecipientOut:
        """Register a recipient in my county (county admins)."""
        return await services.create_recipient(request.user, data)

    @get("/consent/notices", operation_id="listConsentNotices", guards=[PEOPLE_READERS],
         summary="告知书版本 · Notice versions")
    async def notices(self, request: AuthRequest) -> list[NoticeOut]:
        """Every notice version of my county, newest first per recipient kind and purpose."""
        return await services.list_notices(request.user)

    @post("/consent/notices", operation_id="createConsentNotice", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="发布新版告知书 · Publish a notice version")
    async def create_notice(self, request: AuthRequest, data: JSONBody[NoticeIn]) -> NoticeOut:
        """Publish a new version (county admins): consents under older versions stop counting for new uses."""
        return await services.create_notice(request.user, data)

    @get("/consent/notices/{notice_id:int}", operation_id="getConsentNotice", guards=[PEOPLE_READERS],
         summary="告知书全文 · Notice text")
    async def notice(self, request: AuthRequest, notice_id: IntId, recipient_id: OptionalIntId = None) -> NoticeOut:
        """A notice version; with ``recipient_id`` the exact text shown for that recipient and its SHA-256."""
        return await services.get_notice(request.user, notice_id, recipient_id)

    @get("/me/consents", operation_id="listMyConsents", guards=[VILLAGER], summary="我的授权 · My consents")
    async def mine(self, request: AuthRequest) -> list[ConsentOut]:
        """My own and my household's consents and withdrawals, each grant with its status now."""
        return await services.my_consents(request.user, request_id=request_id(request))

    @post("/me/consents", operation_id="grantConsent", guards=[VILLAGER], status_code=HTTP_201_CREATED,
          summary="在线授权 · Give consent in the app")
    async def grant(self, request: AuthRequest, data: JSONBody[GrantIn]) -> ConsentOut:
        """Consent under the notice version I was shown (409 CONSENT_NOTICE_STALE if it is no longer current)."""
        return await services.grant_in_app(request.user, data, request_id=request_id(request))

    @post("/consents/{consent_id:int}/withdraw", operation_id="withdrawConsent", guards=[VILLAGER],
          status_code=HTTP_200_OK, summary="撤回授权 · Withdraw a consent")
    async def withdraw(self, request: AuthRequest, consent_id: BigId) -> ConsentOut:
        """Withdraw one grant at once (a new event; what was lawfully done before stays lawful)."""
        return await services.withdraw(request.user, consent_id)

    @get("/consents/{consent_id:int}/receipt", operation_id="getConsentReceipt", guards=[PEOPLE_READERS],
         summary="授权回执 · Signed receipt")
    async def receipt(self, request: AuthRequest, consent_id: BigId) -> ReceiptOut:
        """The event as an ES256 JWS any verifier checks with GET /.well-known/jwks.json."""
        return await services.receipt(request.user, consent_id, request_id=request_id(request))

    @get("/consents/{consent_id:int}/receipt.png", operation_id="getConsentReceiptQr", guards=[PEOPLE_READERS],
         summary="授权回执二维码 · Receipt QR code", media_type="image/png")
    async def receipt_png(self, request: AuthRequest, consent_id: BigId) -> Response[bytes]:
        """The receipt's JWS as a QR code (PNG) to show on a phone."""
        return Response(await services.receipt_png(request.user, consent_id, request_id=request_id(request)),
                        media_type="image/png")

    @get("/consents", operation_id="listConsents", guards=[ADMINS], summary="辖区授权记录 · Consents in my area")
    async def in_jurisdiction(self, request: AuthRequest, limit: Limit = DEFAULT_PAGE_SIZE,
                              offset: Offset = 0) -> list[ConsentOut]:
        """Consent events about households (and members) in my township or county, newest first."""
        return await services.list_in_jurisdiction(request.user, limit=limit, offset=offset,
                                                   request_id=request_id(request))

    @get("/households/{household_id:int}/consents", operation_id="listHouseholdConsents", guards=[PEOPLE_READERS],
         summary="家庭授权记录 · A household's consents")
    async def household(self, request: AuthRequest, household_id: IntId) -> list[ConsentOut]:
        """A household's consents (scoped and logged)."""
        return await services.list_for_subject(request.user, scope.HOUSEHOLD, household_id,
                                               request_id=request_id(request))

    @get("/persons/{person_id:int}/consents", operation_id="listPersonConsents", guards=[PEOPLE_READERS],
         summary="个人授权记录 · A person's consents")
    async def person(self, request: AuthRequest, person_id: IntId) -> list[ConsentOut]:
        """A person's own consents (scoped and logged)."""
        return await services.list_for_subject(request.user, scope.PERSON, person_id, request_id=request_id(request))

    @post("/households/{household_id:int}/consents", operation_id="captureHouseholdConsent", guards=[GRID_WORKER],
          status_code=HTTP_201_CREATED, summary="登记纸质家庭授权 · Capture a household's paper consent")
    async def capture_household(self, request: AuthRequest, household_id: IntId,
                                data: JSONBody[PaperGrantIn]) -> ConsentOut:
        """A paper form signed by the head (or a named delegate), photographed by me, for a household in my grids."""
        return await services.capture_paper(request.user, scope.HOUSEHOLD, household_id, data)

    @post("/persons/{person_id:int}/consents", operation_id="capturePersonConsent", guards=[GRID_WORKER],
          status_code=HTTP_201_CREATED, summary="登记纸质个人授权 · Capture a person's paper consent")
    async def capture_person(self, request: AuthRequest, person_id: IntId, data: JSONBody[PaperGrantIn]) -> ConsentOut:
        """A paper form signed by the person (or a named delegate), photographed by me, for someone in my grids."""
        return await services.capture_paper(request.user, scope.PERSON, person_id, data)


@get("/.well-known/jwks.json", operation_id="getJwks", tags=["consent 授权同意"], summary="公钥 · Signing keys (JWKS)")
async def jwks() -> dict[str, Any]:
    """Public ES256 keys for receipts and attestations: active and retired (``status``), kept forever."""
    return await keys.jwks()
