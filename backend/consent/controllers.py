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
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.evidence.uses import EVIDENCE_UNKNOWN
from backend.openapi import errors
from backend.params import AuthRequest, BigId, IntId, Limit, Offset, OptionalIntId
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE

COUNTY = require_roles(Role.COUNTY_ADMIN)
VILLAGER = require_roles(Role.VILLAGER)
GRID_WORKER = require_roles(Role.GRID_WORKER)
ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)

# Documented answers; the services raise these codes.
BANK_CLIENT_UNKNOWN = InvalidInput("银行客户端不存在或不是银行", "Unknown bank client (or the recipient is not a bank)",
                                   code="CONSENT_BANK_CLIENT_UNKNOWN")
RECIPIENT_EXISTS = Conflict("该接收方已登记", "This recipient is already registered", code="CONSENT_RECIPIENT_EXISTS")
PURPOSE_MISMATCH = InvalidInput("该用途不适用于此接收方", "This purpose does not apply to this recipient",
                                code="CONSENT_PURPOSE_MISMATCH")
NOTICE_NO_RECIPIENT = InvalidInput("告知书须以 {recipient} 写明接收方名称",
                                   "The notice must name the recipient as {recipient}", code="CONSENT_NOTICE_NO_RECIPIENT")
RECIPIENT_UNKNOWN = NotFound("接收方不存在", "Unknown recipient", code="CONSENT_RECIPIENT_UNKNOWN")
NOT_HEAD = PermissionDenied("家庭授权须由户主本人作出", "Only the head of household consents for the household",
                            code="CONSENT_NOT_HEAD")
GRANT_REFUSALS = [
    RECIPIENT_UNKNOWN, PURPOSE_MISMATCH,
    InvalidInput("告知书与接收方或用途不符", "The notice is not the one for this recipient and purpose",
                 code="CONSENT_NOTICE_MISMATCH"),
    Conflict("告知书已更新，请阅读最新版本后重新确认",
             "This notice version is no longer current; read the current one and consent again",
             code="CONSENT_NOTICE_STALE"),
    InvalidInput("签署日期不能晚于今天", "signed_on is in the future", code="CONSENT_SIGNED_ON_FUTURE"),
    InvalidInput("签署日期早于该版告知书发布日期", "signed_on is before this notice version existed",
                 code="CONSENT_SIGNED_BEFORE_NOTICE"),
    InvalidInput("该同意书已过有效期", "This consent has already expired", code="CONSENT_EXPIRED"),
    Conflict("已有相同的有效授权", "An identical consent is already active", code="CONSENT_ALREADY_ACTIVE"),
]
PAPER_REFUSALS = [
    NotFound, *GRANT_REFUSALS,
    InvalidInput("该户没有户主，无法登记家庭授权", "The household has no head", code="CONSENT_NO_HEAD"),
    EVIDENCE_UNKNOWN,
]


class ConsentController(Controller):
    path = "/api/v1"
    tags = ["consent 授权同意"]

    @get("/consent/recipients", operation_id="listConsentRecipients", guards=[PEOPLE_READERS],
         summary="授权接收方 · Consent recipients")
    async def recipients(self, request: AuthRequest) -> list[RecipientOut]:
        """Banks, subsidy offices and the honour roll of my county, with the notice a new consent needs."""
        return await services.list_recipients(request.user)

    @post("/consent/recipients", operation_id="createConsentRecipient", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="登记授权接收方 · Register a recipient",
          responses=errors(BANK_CLIENT_UNKNOWN, RECIPIENT_EXISTS))
    async def create_recipient(self, request: AuthRequest, data: JSONBody[RecipientIn]) -> RecipientOut:
        """Register a recipient in my county (county admins)."""
        return await services.create_recipient(request.user, data)

    @get("/consent/notices", operation_id="listConsentNotices", guards=[PEOPLE_READERS],
         summary="告知书版本 · Notice versions")
    async def notices(self, request: AuthRequest) -> list[NoticeOut]:
        """Every notice version of my county, newest first per recipient kind and purpose."""
        return await services.list_notices(request.user)

    @post("/consent/notices", operation_id="createConsentNotice", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="发布新版告知书 · Publish a notice version",
          responses=errors(InvalidInput("该用途不适用于此类接收方", "This purpose does not apply to this kind of recipient",
                                        code="CONSENT_PURPOSE_MISMATCH"), NOTICE_NO_RECIPIENT))
    async def create_notice(self, request: AuthRequest, data: JSONBody[NoticeIn]) -> NoticeOut:
        """Publish a new version (county admins): consents under older versions stop counting for new uses."""
        return await services.create_notice(request.user, data)

    @get("/consent/notices/{notice_id:int}", operation_id="getConsentNotice", guards=[PEOPLE_READERS],
         summary="告知书全文 · Notice text", responses=errors(NotFound, RECIPIENT_UNKNOWN))
    async def notice(self, request: AuthRequest, notice_id: IntId, recipient_id: OptionalIntId = None) -> NoticeOut:
        """A notice version; with ``recipient_id`` the exact text shown for that recipient and its SHA-256."""
        return await services.get_notice(request.user, notice_id, recipient_id)

    @get("/me/consents", operation_id="listMyConsents", guards=[VILLAGER], summary="我的授权 · My consents")
    async def mine(self, request: AuthRequest) -> list[ConsentOut]:
        """My own and my household's consents and withdrawals, each grant with its status now."""
        return await services.my_consents(request.user, request_id=request_id(request))

    @post("/me/consents", operation_id="grantConsent", guards=[VILLAGER], status_code=HTTP_201_CREATED,
          summary="在线授权 · Give consent in the app",
          responses=errors(NotFound, NOT_HEAD, *GRANT_REFUSALS,
                           Conflict("所示告知书文本与当前版本不一致", "The text shown is not this notice version's text",
                                    code="CONSENT_NOTICE_TEXT_MISMATCH")))
    async def grant(self, request: AuthRequest, data: JSONBody[GrantIn]) -> ConsentOut:
        """Consent under the notice version I was shown (409 CONSENT_NOTICE_STALE if it is no longer current)."""
        return await services.grant_in_app(request.user, data, request_id=request_id(request))

    @post("/consents/{consent_id:int}/withdraw", operation_id="withdrawConsent", guards=[VILLAGER],
          status_code=HTTP_200_OK, summary="撤回授权 · Withdraw a consent",
          responses=errors(NotFound, NOT_HEAD,
                           InvalidInput("只能撤回授权记录", "Only a grant can be withdrawn", code="CONSENT_NOT_A_GRANT"),
                           Conflict("该授权已撤回", "This consent was already withdrawn",
                                    code="CONSENT_ALREADY_WITHDRAWN")))
    async def withdraw(self, request: AuthRequest, consent_id: BigId) -> ConsentOut:
        """Withdraw one grant at once (a new event; what was lawfully done before stays lawful)."""
        return await services.withdraw(request.user, consent_id)

    @get("/consents/{consent_id:int}/receipt", operation_id="getConsentReceipt", guards=[PEOPLE_READERS],
         summary="授权回执 · Signed receipt", responses=errors(NotFound))
    async def receipt(self, request: AuthRequest, consent_id: BigId) -> ReceiptOut:
        """The event as an ES256 JWS any verifier checks with GET /.well-known/jwks.json."""
        return await services.receipt(request.user, consent_id, request_id=request_id(request))

    @get("/consents/{consent_id:int}/receipt.png", operation_id="getConsentReceiptQr", guards=[PEOPLE_READERS],
         summary="授权回执二维码 · Receipt QR code", media_type="image/png",
         responses=errors(NotFound))
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
         summary="家庭授权记录 · A household's consents", responses=errors(NotFound))
    async def household(self, request: AuthRequest, household_id: IntId) -> list[ConsentOut]:
        """A household's consents (scoped and logged)."""
        return await services.list_for_subject(request.user, scope.HOUSEHOLD, household_id,
                                               request_id=request_id(request))

    @get("/persons/{person_id:int}/consents", operation_id="listPersonConsents", guards=[PEOPLE_READERS],
         summary="个人授权记录 · A person's consents", responses=errors(NotFound))
    async def person(self, request: AuthRequest, person_id: IntId) -> list[ConsentOut]:
        """A person's own consents (scoped and logged)."""
        return await services.list_for_subject(request.user, scope.PERSON, person_id, request_id=request_id(request))

    @post("/households/{household_id:int}/consents", operation_id="captureHouseholdConsent", guards=[GRID_WORKER],
          status_code=HTTP_201_CREATED, summary="登记纸质家庭授权 · Capture a household's paper consent",
          responses=errors(*PAPER_REFUSALS))
    async def capture_household(self, request: AuthRequest, household_id: IntId,
                                data: JSONBody[PaperGrantIn]) -> ConsentOut:
        """A paper form signed by the head (or a named delegate), photographed by me, for a household in my grids."""
        return await services.capture_paper(request.user, scope.HOUSEHOLD, household_id, data)

    @post("/persons/{person_id:int}/consents", operation_id="capturePersonConsent", guards=[GRID_WORKER],
          status_code=HTTP_201_CREATED, summary="登记纸质个人授权 · Capture a person's paper consent",
          responses=errors(*PAPER_REFUSALS))
    async def capture_person(self, request: AuthRequest, person_id: IntId, data: JSONBody[PaperGrantIn]) -> ConsentOut:
        """A paper form signed by the person (or a named delegate), photographed by me, for someone in my grids."""
        return await services.capture_paper(request.user, scope.PERSON, person_id, data)


@get("/.well-known/jwks.json", operation_id="getJwks", tags=["consent 授权同意"], summary="公钥 · Signing keys (JWKS)")
async def jwks() -> dict[str, Any]:
    """Public ES256 keys for receipts and attestations: active and retired (``status``), kept forever."""
    return await keys.jwks()
