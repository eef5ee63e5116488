"""Credit-commitment endpoints (信用承诺): the county's templates, signing (villagers in the app,
grid workers on paper), the scoped lists with the township's due filter, and the decision."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.commitments import services
from backend.commitments.schemas import CommitmentOut, DecisionIn, PaperSignIn, SignIn, TemplateIn, TemplateOut
from backend.errors import NotFound
from backend.openapi import errors
from backend.params import AuthRequest, BigId, Limit, Offset
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

READERS = require_roles(*services.READERS)
PurposeFilter = Annotated[str | None, Parameter(pattern="^(repair|tolerance_acceptance|subsidy_claim|other)$")]


class CommitmentTemplateController(Controller):
    path = "/api/v1/commitment-templates"
    tags = ["commitments 信用承诺"]

    @get("/", operation_id="listCommitmentTemplates", summary="信用承诺书模板 · Commitment templates", guards=[READERS],
         responses=errors(services.NO_COUNTY))
    async def list_templates(self, request: AuthRequest, purpose: PurposeFilter = None) -> list[TemplateOut]:
        """The county's wordings per purpose, offered for signing (county admins also see withdrawn ones)."""
        return await services.list_templates(request.user, purpose=purpose)

    @post("/", operation_id="createCommitmentTemplate", summary="新增承诺书模板 · Add a commitment template",
          status_code=HTTP_201_CREATED, guards=[require_roles(Role.COUNTY_ADMIN)])
    async def create_template(self, request: AuthRequest, data: JSONBody[TemplateIn]) -> TemplateOut:
        """A new wording for one purpose in my county; texts never change, a new wording is a new template."""
        return await services.create_template(request.user, data)


class CommitmentController(Controller):
    path = "/api/v1/commitments"
    tags = ["commitments 信用承诺"]

    @post("/", operation_id="signCommitment", summary="签署信用承诺 · Sign a credit commitment",
          status_code=HTTP_201_CREATED, guards=[require_roles(Role.VILLAGER)],
          responses=errors(NotFound, services.NOT_SIGNER, services.TEMPLATE_UNKNOWN, services.KEY_REUSED))
    async def sign(self, request: AuthRequest, data: JSONBody[SignIn]) -> CommitmentOut:
        """For myself, or as head of household for the household; signed today, once per idempotency key."""
        return await services.sign(request.user, data, request_id=request_id(request))

    @post("/paper", operation_id="signCommitmentOnPaper", summary="代录纸质信用承诺 · Capture a signed paper commitment",
          status_code=HTTP_201_CREATED, guards=[require_roles(*services.PAPER_ROLES)],
          responses=errors(NotFound, services.TEMPLATE_UNKNOWN, services.PAPER_INVALID, services.KEY_REUSED))
    async def sign_on_paper(self, request: AuthRequest, data: JSONBody[PaperSignIn]) -> CommitmentOut:
        """A grid worker (or township admin) captures a signed sheet with their photo of it (required)."""
        return await services.sign_on_paper(request.user, data, request_id=request_id(request))

    @get("/", operation_id="listCommitments", summary="信用承诺列表 · Credit commitments", guards=[READERS])
    async def list_commitments(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(signed|kept|broken)$")] = None,
        due: Annotated[str | None, Parameter(pattern="^(running|due|decided)$",
                                             description="due: the township's list — signed, check date reached, "
                                                         "not decided")] = None,
        purpose: PurposeFilter = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[CommitmentOut]:
        """Commitments I may see (villagers: mine and my household's), soonest check date first."""
        return await services.list_commitments(request.user, status=status, due=due, purpose=purpose, limit=limit,
                                               offset=offset, request_id=request_id(request))

    @get("/{commitment_id:int}", operation_id="getCommitment", summary="信用承诺详情 · One credit commitment",
         guards=[READERS], responses=errors(NotFound))
    async def get_commitment(self, request: AuthRequest, commitment_id: BigId) -> CommitmentOut:
        """One commitment with its term, check date, decision and ledger event."""
        return await services.get_commitment(request.user, commitment_id, request_id=request_id(request))

    @post("/{commitment_id:int}/decide", operation_id="decideCommitment",
          summary="认定履约或违诺 · Decide kept or broken", status_code=HTTP_200_OK,
          guards=[require_roles(*services.DECIDERS)],
          responses=errors(NotFound, services.DECIDED, services.DECISION_INVALID))
    async def decide(self, request: AuthRequest, commitment_id: BigId, data: JSONBody[DecisionIn]) -> CommitmentOut:
        """Once: kept (from the check date) → COMMITMENT-KEPT; broken (with evidence) → COMMITMENT-BROKEN."""
        return await services.decide(request.user, commitment_id, data, request_id=request_id(request))
