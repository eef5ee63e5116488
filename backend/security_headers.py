"""Security headers on every response (a ``before_send`` hook of the app).

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
- clickjacking: ``frame-ancestors 'none'`` in a Content-Security-Policy (and ``X-Frame-Options``
  for old browsers) on every response; our own pages get a full policy that loads nothing from
  outside the platform (counties run on intranets). The admin's bundled app and the API docs
  pages keep their own script needs, so they get only ``frame-ancestors``;
- ``Cache-Control: no-store`` on every API response but the public catalogue: answers carry
  personal data or tokens, and a shared office computer's cache must not keep them.
"""

from __future__ import annotations

from litestar.types import Message, Scope

PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The H5 app shows photos it holds as blob: URLs (queued photos, thumbnails fetched with the token, the
# consent receipt's QR code) and talks only to the platform.
MOBILE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
              "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
              "form-action 'self'; frame-ancestors 'none'")
FRAME_ONLY_CSP = "frame-ancestors 'none'"
OWN_SCRIPTS = ("/admin", "/schema", "/swagger")   # bundled apps that need their own script policy
PUBLIC_CACHEABLE = ("/api/v1/catalogue", "/catalogue", "/healthz", "/m/assets/", "/schema/assets/")  # hashed/versioned names


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The headers a response to ``path`` carries (pure, for tests)."""
    csp = FRAME_ONLY_CSP if path.startswith(OWN_SCRIPTS) else MOBILE_CSP if path.startswith("/m/") or path == "/m" \
        else PAGE_CSP
    out = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY"), (b"content-security-policy", csp.encode())]
    if not path.startswith(PUBLIC_CACHEABLE):
        out.append((b"cache-control", b"no-store"))
    return out


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: runs for every response the app sends — 401s from the auth
    middleware, 404s for unknown paths and the mounted admin included."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "")
    extra = headers_for(path)
    names = {name for name, _ in extra}
    message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names] + extra
