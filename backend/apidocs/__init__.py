"""The API documentation page (Swagger UI) with its files served by the platform itself.

Counties run Cunxin on intranets, so ``/schema`` loads nothing from outside: Swagger UI's bundle, CSS
and icon are vendored in ``static/swagger-ui-<version>/`` (version, licence and checksums in its
``VENDORED.md``) and served under ``/schema/assets/``, next to the page. No web fonts: Swagger UI's
CSS names none.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.35.0"
STATIC = Path(__file__).parent / "static"
ASSETS = "/assets"  # under the OpenAPI router (``/schema``): /schema/assets/{file_path:path}, one route whatever the version


class LocalSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Litestar's Swagger UI renderer, pointed at the vendored files, and a page of our own:
    no standalone preset (its top bar loads other documents by URL), no online validator badge."""

    def __init__(self, *, schema_path: str = "/schema", path: str = "/swagger") -> None:
        base = f"{schema_path}{ASSETS}/swagger-ui-{SWAGGER_UI_VERSION}"  # versioned URLs: safe to cache
        super().__init__(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url="",  # not used by render() below
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
            path=path,
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)  # /schema/oauth2-redirect.html (Litestar's inline page)
        # Cached for a year (the URL names the version) once security_headers lets /schema/assets/ be cached.
        router.register(create_static_files_router(
            path=ASSETS, directories=[STATIC], name="swagger-ui-assets",
            cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True)))

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        # "</" inside a JSON string would end the <script>; "<\/" is the same JSON string.
        spec = self.render_json(request, openapi_schema).replace(b"</", b"<\\/")
        title = html.escape(openapi_schema["info"]["title"])
        head = (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>{self.favicon}"
                f"<link rel='stylesheet' href='{self.css_url}'>{self.style}"
                f"<script src='{self.js_url}'></script></head>").encode()
        body = (b"<body><div id='swagger-container'></div><script>"
                b"SwaggerUIBundle({spec: " + spec + b", dom_id: '#swagger-container', deepLinking: true, "
                b"validatorUrl: null, showExtensions: true, showCommonExtensions: true, "
                b"presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});"
                b"</script></body></html>")
        return head + body
