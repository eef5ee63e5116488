"""Event capture (phones), review (township admins), corrections, and points views."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import PEOPLE_READERS, require_roles
from backend.auth.roles import Role
from backend.body_limits import BULK_JSON_BODY
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.ledger import review, services, views
from backend.ledger.schemas import (
    BatchIn,
    BulkReviewIn,
    BulkReviewOut,
    BatchOut,
    EntryOut,
    EventIn,
    EventOut,
    HouseholdPointsOut,
    PendingEventOut,
    PersonPointsOut,
    RejectIn,
    ReverseIn,
    ReviewIn,
)
from backend.evidence.uses import EVIDENCE_UNKNOWN
from backend.openapi import AS_OF_INVALID, NO_CATALOGUE, RULE_ERRORS, errors
from backend.params import AsOf, AuthRequest, BigId, IntId, Limit, Offset, as_of_date
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

LOGGERS = require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
REVIEWERS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)

# Documented answers (the codes backend.ledger.services raises).
ALREADY_DECIDED = Conflict("该事件已审核", "This event has already been decided", code="LEDGER_ALREADY_DECIDED")
ALREADY_REVERSED = Conflict("该记录已被冲正", "This entry was already reversed", code="LEDGER_ALREADY_REVERSED")
REVERSAL_OF_REVERSAL = Conflict("冲正记录不能再被冲正", "A reversal cannot itself be reversed",
                                code="LEDGER_REVERSAL_OF_REVERSAL")
NOT_A_PERSON = PermissionDenied("该账户未关联居民", "This account is not linked to a person")
RECORD_ERRORS = {
    **errors(
        PermissionDenied,
        PermissionDenied("该角色不能登记该事项", "This role may not record this item", code="LEDGER_ITEM_NOT_ALLOWED"),
        NotFound,
        Conflict("该幂等键已用于另一条不同的事件", "Idempotency key already used with a different payload",
                 code="LEDGER_IDEMPOTENCY_CONFLICT"),
        InvalidInput("事件日期不能晚于今天", "occurred_on may not be in the future", code="LEDGER_FUTURE_EVENT"),
        InvalidInput("该事项必须附证据照片", "This item requires photo evidence", code="LEDGER_EVIDENCE_REQUIRED"),
        EVIDENCE_UNKNOWN,
        *RULE_ERRORS,
    ),
    HTTP_200_OK: ResponseSpec(data_container=EventOut, description="重放：同一幂等键已登记的事件 · "
                              "Replay: the event already recorded with this idempotency key"),
}


class EventController(Controller):
    # "/api/v1" + "/events:batch": a handler path ":batch" under "/api/v1/events" would be
    # joined with a slash by Litestar ("/api/v1/events/:batch").
    path = "/api/v1"
    tags = ["ledger 信用事件"]
    guards = [LOGGERS]

    @post("/events", operation_id="recordEvent",
          summary="登记一条信用事件 · Record a credit event", status_code=HTTP_201_CREATED,
          responses=RECORD_ERRORS)
    async def record(self, request: AuthRequest, data: JSONBody[EventIn]) -> Response[EventOut]:
        """Record one credit event; replaying the same idempotency key returns the same event (200)."""
        event, created = await services.record_event(request.user, data)
        return Response(event, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @post("/events:batch", operation_id="recordEventBatch",
          summary="批量同步离线事件 · Sync a batch of events (one result each)", status_code=HTTP_200_OK,
          request_max_body_size=BULK_JSON_BODY)
    async def batch(self, request: AuthRequest, data: JSONBody[BatchIn]) -> BatchOut:
        """Sync an offline phone's backlog (≤ 200 events); one result per event, in order."""
        return await services.record_batch(request.user, data.events)

    @get("/events/mine", operation_id="listMyEvents", summary="我登记的事件 · Events I recorded")
    async def mine(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(pending_review|counted|rejected|skipped)$")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> list[EventOut]:
        """Events I recorded, newest first, with their review status."""
        return await services.my_events(request.user, status=status, limit=limit, offset=offset)

    @get("/events/{event_id:int}", operation_id="getEvent", summary="一条信用事件 · One credit event",
         responses=errors(NotFound))
    async def get_one(self, request: AuthRequest, event_id: BigId) -> EventOut:
        """One event with its entries (its recorder, or admins in scope)."""
        return await services.get_event(request.user, event_id)


class ReviewController(Controller):
    path = "/api/v1/review"
    tags = ["ledger 审核"]
    guards = [REVIEWERS]

    @get("/events", operation_id="listPendingEvents", summary="待审核事件 · Events waiting for review")
    async def pending(self, request: AuthRequest, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
                      order: Annotated[str, Parameter(pattern="^(oldest|newest)$",
                                                      description="oldest first (the default: first in, first "
                                                                  "decided) or newest first")] = "oldest",
                      ) -> Page[PendingEventOut]:
        """Events waiting for review (or flagged, e.g. reused photos) in my jurisdiction, oldest first."""
        return await review.pending(request.user, limit=limit, offset=offset, newest_first=order == "newest",
                                    request_id=request_id(request))

    @post("/events:decide", operation_id="decideEventsInBulk",
          summary="批量审核事件 · Decide events in bulk", status_code=HTTP_200_OK,
          request_max_body_size=BULK_JSON_BODY)
    async def decide_many(self, request: AuthRequest, data: JSONBody[BulkReviewIn]) -> BulkReviewOut:
        """Approve many pending events at once, rejecting the listed exceptions with their reasons (one result each)."""
        return await review.decide_many(request.user, data)

    @post("/events/{event_id:int}/approve", operation_id="approveEvent",
          summary="审核通过 · Approve an event", status_code=HTTP_200_OK,
          responses=errors(NotFound, ALREADY_DECIDED, *RULE_ERRORS))
    async def approve(self, request: AuthRequest, event_id: BigId, data: JSONBody[ReviewIn]) -> EventOut:
        """Approve: the event joins the subject's counted events; it and any later entry it changes are scored."""
        return await services.decide(request.user, event_id, approve=True, reason=data.reason)

    @post("/events/{event_id:int}/reject", operation_id="rejectEvent",
          summary="审核驳回 · Reject an event", status_code=HTTP_200_OK,
          responses=errors(NotFound, ALREADY_DECIDED))
    async def reject(self, request: AuthRequest, event_id: BigId, data: JSONBody[RejectIn]) -> EventOut:
        """Reject with a written reason; nothing enters the ledger."""
        return await services.decide(request.user, event_id, approve=False, reason=data.reason)

    @post("/entries/{entry_id:int}/reverse", operation_id="reverseEntry",
          summary="冲正一条积分记录 · Reverse a ledger entry", status_code=HTTP_201_CREATED,
          responses=errors(NotFound, ALREADY_REVERSED, REVERSAL_OF_REVERSAL, *RULE_ERRORS))
    async def reverse(self, request: AuthRequest, entry_id: BigId, data: JSONBody[ReverseIn]) -> EntryOut:
        """Correct the ledger: the entry's event is withdrawn, its entry cancelled and later entries re-scored (the originals stay)."""
        return await services.reverse_entry(request.user, entry_id, data.reason)


class PointsController(Controller):
    path = "/api/v1"
    tags = ["ledger 积分"]
    guards = [PEOPLE_READERS]

    @get("/persons/{person_id:int}/points", operation_id="getPersonPoints", summary="个人积分 · A person's points",
         responses=errors(NotFound, AS_OF_INVALID, NO_CATALOGUE))
    async def person(self, request: AuthRequest, person_id: IntId, as_of: AsOf = None) -> PersonPointsOut:
        """Score, grade, and every entry with its Chinese explanation and validity, as of a day (default today)."""
        return await views.person_points(request.user, person_id, request_id=request_id(request),
                                         as_of=as_of_date(as_of))

    @get("/households/{household_id:int}/points", operation_id="getHouseholdPoints",
         summary="家庭积分 · A household's points",
         responses=errors(NotFound, AS_OF_INVALID, NO_CATALOGUE))
    async def household(self, request: AuthRequest, household_id: IntId, as_of: AsOf = None) -> HouseholdPointsOut:
        """Every member's points plus the household's own entries, as of a day (default today)."""
        return await views.household_points(request.user, household_id, request_id=request_id(request),
                                            as_of=as_of_date(as_of))

    @get("/me/points", operation_id="getMyPoints", summary="我的积分 · My points",
         responses=errors(NOT_A_PERSON, AS_OF_INVALID, NO_CATALOGUE))
    async def mine(self, request: AuthRequest, as_of: AsOf = None) -> PersonPointsOut:
        """A villager's own points, as of a day (default today)."""
        day = as_of_date(as_of)
        if request.user.person_id is None:
            raise PermissionDenied("该账户未关联居民", "This account is not linked to a person")
        return await views.person_points(request.user, request.user.person_id, request_id=request_id(request),
                                         as_of=day)
