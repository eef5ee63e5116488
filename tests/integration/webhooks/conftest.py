"""Shared set-up of the webhook tests: a real HTTP receiver (``http.server`` in a thread on a free
localhost port) that records every request, and endpoints registered through the API.

The receiver answers by the first path segment: ``/ok/…`` 200, ``/fail/…`` 500 with a long body,
``/slow/…`` 200 after 0.2 s, ``/hang/…`` records at once and answers 200 after 3 s. Each test uses its own path, so it counts only its own deliveries
(the relay sends every due delivery in the database, other tests' too)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from piccolo.engine import engine_finder

from backend.db import fetch
from backend.webhooks import outbox
from dev.demo_data import COUNTY_CODE


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    base: str
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def url(self, kind: str = "ok") -> tuple[str, str]:
        path = f"/{kind}/{uuid.uuid4().hex[:10]}"
        return self.base + path, path


@pytest.fixture(scope="session")
def receiver():
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8")
            kind = self.path.split("/")[1]
            if kind == "slow":
                time.sleep(0.2)
            with holder["r"].lock:
                holder["r"].requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if kind == "hang":  # received, answering late: a relay killed meanwhile never records it
                time.sleep(3)
            status, answer = (500, b"x" * 5000) if kind == "fail" else (200, b"ok")
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the relay gave up (timeout) or was killed

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["r"] = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()


@pytest.fixture(scope="session")
async def county_id(app_client) -> int:
    return (await fetch("SELECT id FROM county WHERE code = {}", COUNTY_CODE))[0]["id"]


async def make_endpoint(client, headers, url: str, types: list[str], **extra) -> dict:
    r = await client.post("/api/v1/webhooks/endpoints", headers=headers, json={
        "url": url, "subscriber_zh": "测试订阅方", "event_types": types, **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def emit_test_message(county_id: int, proposal_id: int) -> str | None:
    """A ``rating.effective`` message written as the change's transaction writes it (``None`` when no
    enabled endpoint subscribed)."""
    async with engine_finder().transaction():
        return await outbox.emit(county_id, "rating.effective", {"proposal_id": proposal_id, "status": "effective"})


async def disable(client, headers, endpoint_id: int) -> None:
    r = await client.patch(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=headers, json={"enabled": False})
    assert r.status_code == 200, r.text


async def delivery_of(msg_id: str, endpoint_id: int) -> dict:
    return (await fetch("""SELECT d.* FROM webhook_delivery d JOIN webhook_outbox m ON m.id = d.message
                           WHERE m.msg_id = {} AND d.endpoint = {}""", msg_id, endpoint_id))[0]
