"""Party-activity endpoints (党建+网格+信用): record an activity once with its attendees (one ledger
event each), and see it."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.fieldwork import services
from backend.fieldwork.schemas import PartyActivityIn, PartyActivityOut, PartyActivityResult
from backend.openapi import errors
from backend.params import AuthRequest, BigId


class PartyActivityController(Controller):
    path = "/api/v1/party-activities"
    tags = ["fieldwork 党建网格"]

    @post("/", operation_id="recordPartyActivity", summary="登记党组织活动及参加人员 · Record a party activity",
          status_code=HTTP_200_OK, guards=[require_roles(*services.RECORDERS)],
          responses=errors(NotFound, services.KEY_CONFLICT, services.NOT_ACTIVITY_ITEM, services.FUTURE,
                           services.PHOTO_UNKNOWN))
    async def record(self, request: AuthRequest, data: JSONBody[PartyActivityIn]) -> PartyActivityResult:
        """Once per idempotency key; one event per attendee (results per attendee: created, replayed or the
        ledger's error, e.g. 404 for a person outside your grids). Re-post with more attendees to add late ones."""
        return await services.record_activity(request.user, data)

    @get("/{activity_id:int}", operation_id="getPartyActivity", summary="党组织活动 · A party activity",
         guards=[require_roles(*services.READERS)], responses=errors(NotFound))
    async def get_activity(self, request: AuthRequest, activity_id: BigId) -> PartyActivityOut:
        """The recorder's own, or one of a branch in an admin's township/county; otherwise 404."""
        return await services.get_activity(request.user, activity_id)
