"""The H5 app (``mobile/``, built to ``mobile/dist`` by ``scripts/build_mobile``), served at ``/m/``.

``/m/`` is the app's page (``no-store``: a new build is picked up at once); ``/m/assets/…`` are the
content-hashed bundles, cached for a year; ``/m/sw.js`` is the service worker that keeps the page and
bundles for opening with no signal (assets only: the event outbox lives in the page's IndexedDB). The app routes by hash (``/m/#/work``), so there is one
page. A checkout that has not built the app answers ``/m/`` with a page that says how to build it
(503, ``MOBILE_NOT_BUILT``), never a bare 404."""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

DIST = Path(__file__).resolve().parents[1] / "mobile" / "dist"
YEAR = 365 * 24 * 3600

NOT_BUILT_HTML = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>村信手机端未构建</title>
<body style="font-size:18px;font-family:sans-serif;padding:1em">
<h1>手机端尚未构建</h1><p>请在项目目录运行 <code>scripts/build_mobile</code>（需要 Node.js 20）后刷新本页。</p>
<p lang="en">The H5 app has not been built: run <code>scripts/build_mobile</code> (Node.js 20) and reload.</p>
</body></html>"""


@get(["/m", "/m/"], include_in_schema=False, media_type=MediaType.HTML)
async def mobile_index() -> Response:
    index = DIST / "index.html"
    if not index.is_file():
        return Response(NOT_BUILT_HTML, status_code=503, media_type=MediaType.HTML,
                        headers={"X-Cunxin-Code": "MOBILE_NOT_BUILT"})
    return Response(index.read_bytes(), media_type=MediaType.HTML)


@get("/m/sw.js", include_in_schema=False)
async def mobile_service_worker() -> Response:
    """The service worker that caches the app's files (never cached itself, so a new build takes over)."""
    worker = DIST / "sw.js"
    if not worker.is_file():
        return Response("", status_code=404, media_type="text/javascript")
    return Response(worker.read_bytes(), media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes() -> list:
    """The page, and the hashed assets and other static files (icons, a manifest) of the build."""
    static = create_static_files_router(
        path="/m/assets", directories=[DIST / "assets"], name="mobile_assets",
        cache_control=CacheControlHeader(public=True, max_age=YEAR, immutable=True))
    return [mobile_index, mobile_service_worker, static]
