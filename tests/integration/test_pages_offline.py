"""Every page the platform serves works on an intranet: nothing it loads comes from another host.

For each page: every ``src=``/``href=`` in its HTML, every CSS ``url()``/``@import`` (in ``<style>``,
``style=`` and the stylesheets it loads) and every loading reference in the scripts it loads (dynamic
``import()``, ``importScripts``, ``src=``/``href=``/``url()``/``@import`` written into markup or CSS) is
relative or starts with ``/``; each asset the browser would fetch (scripts, stylesheets, icons,
images, imports) answers 200 from the platform. Links (``<a href>``) must stay on the platform too,
but are not fetched. (A real browser that blocks outside requests is another test's business.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

PAGES = ["/schema", "/schema/swagger", "/admin/", "/catalogue", "/honour-roll"]

# Schemes that make no request to any host.
_NO_REQUEST = ("data:", "about:", "mailto:", "tel:", "javascript:void")
_CSS_REFS = re.compile(r"""(@import\s+)?url\(\s*(['"]?)([^'")\s]*)\2\s*\)|@import\s+(['"])([^'"]+)\4""", re.I)
# In scripts: loads whose target is written as a literal. ``x.import(`` (Quill's registry) is not one.
_JS_LOADS = re.compile(r"""(?<![\w$.])import\(\s*(['"`])([^'"`]+)\1|importScripts\(\s*(['"`])([^'"`]+)\3""")
# Markup and CSS inside script strings: only outside targets are looked for (relative ones there
# are templates, e.g. ``url(#"+id+")``, not files).
_JS_OUTSIDE = re.compile(r"""(?:\b(?:src|href)\s*=\s*\\?['"]|url\(\s*\\?['"]?|@import\s+\\?['"]?)\s*((?:https?:)?//[^'"\s)\\]+)""",
                         re.I)
_LOADED_BY_LINK = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest",
                   "prefetch"}


@dataclass
class Found:
    refs: list[tuple[str, str]] = field(default_factory=list)  # (where, reference) — every one
    loads: list[tuple[str, str]] = field(default_factory=list)  # (kind, absolute URL on the platform) to fetch
    problems: list[str] = field(default_factory=list)


def outside(ref: str) -> bool:
    """Whether fetching ``ref`` would go to a host other than the one that served the page."""
    ref = ref.strip()
    if ref.lower().startswith(_NO_REQUEST):
        return False
    parts = urlsplit(ref)
    return bool(parts.scheme or parts.netloc or ref.startswith("//") or ref.startswith("\\\\"))


def _note(found: Found, where: str, ref: str, base: str, load: str | None) -> None:
    found.refs.append((where, ref))
    if outside(ref):
        found.problems.append(f"{where}: {ref!r} is not on the platform")
    elif load and ref and not ref.startswith("#") and not ref.lower().startswith(_NO_REQUEST):
        found.loads.append((load, urljoin(base, ref)))


def scan_css(text: str, base: str, where: str, found: Found) -> None:
    for match in _CSS_REFS.finditer(text):
        ref = match.group(3) if match.group(3) is not None else match.group(5)
        kind = "css" if match.group(1) or match.group(5) is not None else "asset"  # an @import is a stylesheet
        _note(found, f"{where} css", ref, base, kind)


def scan_js(text: str, base: str, where: str, found: Found) -> None:
    for match in _JS_LOADS.finditer(text):
        ref = match.group(2) or match.group(4)
        if "${" not in ref:  # a template literal is not one file
            _note(found, f"{where} js", ref, base, "js")
    for match in _JS_OUTSIDE.finditer(text):
        _note(found, f"{where} js", match.group(1), base, None)


class _Page(HTMLParser):
    def __init__(self, base: str, found: Found) -> None:
        super().__init__(convert_charrefs=True)
        self.base, self.found, self._in = base, found, None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and "href" in a:
            _note(self.found, "<base href>", a["href"], self.base, None)
            self.base = urljoin(self.base, a["href"])
        if "style" in a:
            scan_css(a["style"], self.base, f"<{tag} style>", self.found)
        for name in ("src", "href", "srcset", "poster", "data", "action", "formaction"):
            if name not in a:
                continue
            values = [v.strip().split()[0] for v in a[name].split(",") if v.strip()] if name == "srcset" else [a[name]]
            for value in values:
                _note(self.found, f"<{tag} {name}>", value, self.base, self._load_kind(tag, name, a))
        self._in = tag if tag in ("script", "style") else None

    @staticmethod
    def _load_kind(tag: str, name: str, a: dict[str, str]) -> str | None:
        if tag == "script" and name == "src":
            return "js"
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & _LOADED_BY_LINK:
                return "css" if "stylesheet" in rels else "asset"
            return None
        if tag in ("a", "form", "button") or name in ("action", "formaction"):
            return None  # navigation: must stay on the platform, is not fetched
        return "asset"  # img, source, video, iframe, object…

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "style":
            scan_css(data, self.base, "<style>", self.found)
        elif self._in == "script":
            scan_js(data, self.base, "<script>", self.found)


def scan_html(text: str, base: str) -> Found:
    found = Found()
    _Page(base, found).feed(text)
    return found


async def _crawl(client, page: str) -> tuple[Found, dict[str, int]]:
    """The page, then every stylesheet, script and asset it loads (and what those load), once each."""
    origin = str(client.base_url).rstrip("/")
    response = await client.get(page)
    assert response.status_code == 200, (page, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("text/html"), (page, response.headers["content-type"])
    found = scan_html(response.text, origin + page)
    statuses: dict[str, int] = {}
    queue = list(found.loads)
    while queue:
        kind, url = queue.pop(0)
        if url in statuses:
            continue
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == origin, url  # outside() already refused the rest
        asset = await client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        statuses[url] = asset.status_code
        if asset.status_code != 200:
            continue
        before = len(found.loads)
        if kind == "css":
            scan_css(asset.text, url, parts.path, found)
        elif kind == "js":
            scan_js(asset.text, url, parts.path, found)
        queue += found.loads[before:]
    return found, statuses


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_loads_nothing_from_outside(app_client, page):
    found, statuses = await _crawl(app_client, page)
    assert not found.problems, "\n".join(found.problems)
    failed = {url: status for url, status in statuses.items() if status != 200}
    assert not failed, f"{page}: assets that do not answer 200: {failed}"
    assert found.refs, f"{page}: no reference at all — the scan found nothing to check"


async def test_the_api_docs_are_served_by_the_platform(app_client):
    """/schema is Swagger UI from the platform's own files; the renderers it cannot serve are gone."""
    found, statuses = await _crawl(app_client, "/schema")
    kinds = {kind for kind, _ in found.loads}
    assert {"js", "css"} <= kinds, found.loads
    assert any(url.endswith("/swagger-ui-bundle.js") for url in statuses), statuses
    assert any(url.endswith("/swagger-ui.css") for url in statuses), statuses
    page = (await app_client.get("/schema")).text
    assert "validatorUrl: null" in page  # Swagger UI's default badge asks an outside validator
    for gone in ("/schema/scalar", "/schema/redoc", "/schema/rapidoc", "/schema/elements"):
        assert (await app_client.get(gone)).status_code == 404, gone


async def test_the_admin_loads_its_own_bundle(app_client):
    found, statuses = await _crawl(app_client, "/admin/")
    loaded = [url for url in statuses if "/admin/" in url]
    assert any(url.endswith(".js") for url in loaded) and any(url.endswith(".css") for url in loaded), statuses


def test_the_scan_sees_outside_references():
    """Against pages that do load from outside, every kind of reference is caught (not vacuous)."""
    base = "http://testserver/p"
    html = """<html><head>
      <link rel="stylesheet" href="https://cdn.example.com/x.css">
      <link rel="icon" href="//cdn.example.com/favicon.png">
      <script src="http://cdn.example.com/x.js"></script>
      <style>@import url("https://fonts.example.com/css?family=X"); body{background:url(//img.example.com/a.png)}</style>
      </head><body><img srcset="/ok.png 1x, https://img.example.com/b.png 2x"><a href="https://example.com/">x</a>
      <div style="background-image: url('https://img.example.com/c.png')"></div>
      <script>import("https://cdn.example.com/mod.js"); el.innerHTML = '<img src="https://img.example.com/d.png">';</script>
      </body></html>"""
    found = scan_html(html, base)
    for ref in ("https://cdn.example.com/x.css", "//cdn.example.com/favicon.png", "http://cdn.example.com/x.js",
                "https://fonts.example.com/css?family=X", "//img.example.com/a.png", "https://img.example.com/b.png",
                "https://example.com/", "https://img.example.com/c.png", "https://cdn.example.com/mod.js",
                "https://img.example.com/d.png"):
        assert any(f"{ref!r} is not on the platform" in p for p in found.problems), (ref, found.problems)

    css, js = Found(), Found()
    scan_css("@import 'https://fonts.example.com/a.css'; a{b:url(/local.woff2)}", base, "css", css)
    scan_js("importScripts('https://cdn.example.com/w.js'); s.textContent='@font-face{src:url(https://f.example.com/x.woff2)}';"
            "q.import('themes/snow'); import('./chunk.js')", base, "js", js)
    assert len(css.problems) == 1 and css.loads == [("asset", "http://testserver/local.woff2")], css
    assert len(js.problems) == 2 and js.loads == [("js", "http://testserver/chunk.js")], js


def test_what_counts_as_on_the_platform():
    for ref in ("/schema/assets/a.js", "./assets/x.css", "assets/x.css", "?version=2026.2", "#top", "data:image/png;base64,AA",
                "about:blank"):
        assert not outside(ref), ref
    for ref in ("https://cdn.example.com/a.js", "http://testserver/a.js", "//cdn.example.com/a.js", "ftp://x/y"):
        assert outside(ref), ref
