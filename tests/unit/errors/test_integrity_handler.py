"""A database integrity error is a 409 with our error body, whichever request met it."""

from __future__ import annotations

import json

from asyncpg.exceptions import ForeignKeyViolationError, UniqueViolationError
from litestar import Litestar, get
from litestar.testing import TestClient

from backend.http_errors import EXCEPTION_HANDLERS


@get("/unique", sync_to_thread=False)
def _unique() -> None:
    raise UniqueViolationError("duplicate key value violates unique constraint")


@get("/reference", sync_to_thread=False)
def _reference() -> None:
    raise ForeignKeyViolationError("violates foreign key constraint")


def test_integrity_errors_are_409_with_a_code():
    app = Litestar(route_handlers=[_unique, _reference], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        for path in ("/unique", "/reference"):
            response = client.get(path)
            assert response.status_code == 409, response.text
            body = json.loads(response.text)
            assert body["code"] == "DB_CONFLICT" and body["message_zh"] and body["message_en"]
