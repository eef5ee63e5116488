"""Webhook endpoints for county admins: the event catalogue, endpoints, secret rotation, the
delivery log and replay. Deliveries themselves leave from the worker (``backend.webhooks.relay``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.openapi import errors
from backend.params import AuthRequest, BigId, IntId, Limit, Offset
from backend.schemas import DEFAULT_PAGE_SIZE, Page
from backend.webhooks import services
from backend.webhooks.schemas import (
    DeliveryOut,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventTypeOut,
    RotateIn,
    SecretOut,
)

COUNTY = require_roles(Role.COUNTY_ADMIN)
DeliveryStatus = Annotated[str | None, Parameter(pattern="^(pending|delivering|delivered|failed)$")]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks 出站通知"]
    guards = [COUNTY]

    @get("/event-types", operation_id="listWebhookEventTypes", summary="通知事件类型 · Webhook event types")
    async def event_types(self) -> list[EventTypeOut]:
        """The events a subscriber may receive, with the (id-only) fields each carries."""
        return services.event_types()

    @get("/endpoints", operation_id="listWebhookEndpoints", summary="通知端点 · Webhook endpoints")
    async def endpoints(self, request: AuthRequest) -> list[EndpointOut]:
        """The endpoints of my county (secrets are never shown)."""
        return await services.list_endpoints(request.user)

    @post("/endpoints", operation_id="createWebhookEndpoint", status_code=HTTP_201_CREATED,
          summary="登记通知端点 · Register a webhook endpoint",
          responses=errors(services.URL_REFUSED, services.RECIPIENT_UNKNOWN))
    async def create(self, request: AuthRequest, data: JSONBody[EndpointIn]) -> EndpointCreatedOut:
        """An endpoint of my county; the answer carries its whsec_ secret, shown this once."""
        return await services.create_endpoint(request.user, data)

    @get("/endpoints/{endpoint_id:int}", operation_id="getWebhookEndpoint", summary="通知端点详情 · A webhook endpoint",
         responses=errors(NotFound))
    async def endpoint(self, request: AuthRequest, endpoint_id: IntId) -> EndpointOut:
        """One endpoint of my county (404 for another county's, as for one that does not exist)."""
        return await services.get_endpoint(request.user, endpoint_id)

    @patch("/endpoints/{endpoint_id:int}", operation_id="updateWebhookEndpoint", status_code=HTTP_200_OK,
           summary="修改、停用或启用通知端点 · Change, disable or enable an endpoint",
           responses=errors(NotFound, services.URL_REFUSED))
    async def update(self, request: AuthRequest, endpoint_id: IntId, data: JSONBody[EndpointPatch]) -> EndpointOut:
        """Change the URL, subscriber name, description or event types; ``enabled`` false/true disables or
        enables it (enabling forgets past failures)."""
        return await services.update_endpoint(request.user, endpoint_id, data)

    @post("/endpoints/{endpoint_id:int}/rotate-secret", operation_id="rotateWebhookSecret", status_code=HTTP_200_OK,
          summary="更换通知密钥 · Rotate an endpoint's secret", responses=errors(NotFound))
    async def rotate(self, request: AuthRequest, endpoint_id: IntId, data: JSONBody[RotateIn]) -> SecretOut:
        """A new secret (shown this once); the previous one keeps signing for ``grace_hours`` (two signatures)."""
        return await services.rotate_secret(request.user, endpoint_id, data)

    @get("/endpoints/{endpoint_id:int}/deliveries", operation_id="listWebhookDeliveries",
         summary="投递记录 · Delivery log", responses=errors(NotFound))
    async def deliveries(self, request: AuthRequest, endpoint_id: IntId, status: DeliveryStatus = None,
                         limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[DeliveryOut]:
        """Deliveries to one endpoint, newest first, each with every attempt (status code, duration, error,
        the start of the answer)."""
        return await services.list_deliveries(request.user, endpoint_id, status=status, limit=limit, offset=offset)

    @post("/deliveries/{delivery_id:int}/replay", operation_id="replayWebhookDelivery", status_code=HTTP_202_ACCEPTED,
          summary="重发通知 · Replay a delivery",
          responses=errors(NotFound, services.IN_PROGRESS, services.DISABLED))
    async def replay(self, request: AuthRequest, delivery_id: BigId) -> DeliveryOut:
        """Send a delivered or failed message once more: a new attempt with the same webhook-id."""
        return await services.replay(request.user, delivery_id)
