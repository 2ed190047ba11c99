"""The read-only web dashboard: an aiohttp.web app on the bot's own loop, or alone for `plumbline web`."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import sqlite_utils
from aiohttp import web

from bot.core.clock import Clock, utcnow
from bot.web.data import (
    DEFAULT_RANGE,
    RANGES,
    RequestError,
    check_range,
    check_window,
    dashboard,
    episodes_payload,
    series_csv,
    series_payload,
    status_payload,
)
from bot.words.messages import EN, t

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Scripts and styles only from this server; no frames, no forms, no plugins, no third-party connections.
# Plotly sets element styles from script, which needs 'unsafe-inline' for styles (never for scripts).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
LANGS = ("en", "zh-TW")
_SERIES_ID = r"[a-z0-9_]+"
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def page_lang(request: web.Request) -> str:
    """?lang=zh-TW (also zh-tw, zh); anything else is English."""
    raw = request.query.get("lang", "en").strip().lower()
    return "zh-TW" if raw in ("zh-tw", "zh", "zh-hant") else "en"


def page_words(lang: str) -> dict[str, str]:
    """Every web.* word in the page's language (English where the catalog has no translation yet)."""
    return {key: t(key, lang) for key in EN if key.startswith("web.") and not key.startswith("web.error.")}


class Asset:
    """A static file held in memory; its gzip form is made once, off the loop, when first asked for
    (compressing plotly.js takes over a second, which the bot's start-up should not wait for)."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body = body
        self.content_type = content_type
        self._gzipped: bytes | None = None
        self._lock = asyncio.Lock()

    async def gzipped(self) -> bytes:
        async with self._lock:
            if self._gzipped is None:
                self._gzipped = await asyncio.to_thread(gzip.compress, self.body, 6, mtime=0)
            return self._gzipped


def _asset(body: bytes, content_type: str) -> Asset:
    return Asset(body, content_type)


def load_assets() -> dict[str, Asset]:
    """The page's script and style, and plotly.js from the plotly package: served from memory, never a CDN."""
    plotly_js = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    match = re.search(rb"plotly\.js v(\d+\.\d+\.\d+)", plotly_js[:400])
    version = match.group(1).decode() if match else "bundled"
    assets = {f"plotly-{version}.min.js": _asset(plotly_js, _STATIC_TYPES[".js"])}
    static = resources.files("bot.web") / "static"
    for name in ("dashboard.js", "dashboard.css"):
        assets[name] = _asset((static / name).read_bytes(), _STATIC_TYPES[name[name.rindex(".") :]])
    return assets


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read-only (GET and HEAD only), JSON errors under /api, security headers on every answer."""
    if request.method not in ("GET", "HEAD"):
        response: web.StreamResponse = _json({"error": t("web.error.method", method=request.method)}, 405)
        response.headers["Allow"] = "GET, HEAD"
    else:
        try:
            response = await handler(request)
        except RequestError as exc:
            response = _json({"error": exc.message}, exc.status)
        except web.HTTPNotFound:
            response = _json({"error": t("web.error.not_found", path=request.path)}, 404)
        except web.HTTPMethodNotAllowed:
            response = _json({"error": t("web.error.method", method=request.method)}, 405)
            response.headers["Allow"] = "GET, HEAD"
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web: %s %s failed", request.method, request.path)
            response = _json({"error": t("web.error.internal")}, 500)
    response.headers.update(_SECURITY_HEADERS)
    return response


class Dashboard:
    """The web app over one read-only database connection; reads run one at a time off the loop."""

    def __init__(
        self, db: sqlite_utils.Database, *, clock: Clock = utcnow, refresh_seconds: float = 15.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.assets = load_assets()
        self.plotly_name = next(name for name in self.assets if name.startswith("plotly-"))
        self._lock = asyncio.Lock()

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(fn, self.db, *args)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_guard])
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/dashboard", self.api_dashboard)
        app.router.add_get("/api/status", self.api_status)
        app.router.add_get("/api/episodes", self.api_episodes)
        app.router.add_get("/api/series/{series:" + _SERIES_ID + "}.csv", self.api_csv)
        app.router.add_get("/api/series/{series}", self.api_series)
        app.router.add_get("/healthz", self.health)
        return app

    async def page(self, request: web.Request) -> web.Response:
        lang = page_lang(request)
        range_key = request.query.get("range", DEFAULT_RANGE)
        if range_key not in RANGES:
            range_key = DEFAULT_RANGE
        return web.Response(
            text=render_page(lang, range_key, self.plotly_name, self.refresh_seconds),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def static(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        headers = {"Vary": "Accept-Encoding"}
        # plotly's file name carries its version, so browsers may keep it; the page's own files revalidate.
        headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if asset is self.assets[self.plotly_name] else "no-cache"
        )
        body = asset.body
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body = await asset.gzipped()
            headers["Content-Encoding"] = "gzip"
        return web.Response(
            body=body, headers=headers, content_type=asset.content_type.split(";")[0], charset="utf-8"
        )

    async def api_dashboard(self, request: web.Request) -> web.Response:
        range_key = check_range(request.query.get("range"))
        return _json(await self._read(dashboard, range_key, self.clock(), page_lang(request)))

    async def api_status(self, request: web.Request) -> web.Response:
        return _json(await self._read(status_payload, self.clock(), page_lang(request)))

    async def api_episodes(self, request: web.Request) -> web.Response:
        return _json(await self._read(episodes_payload, page_lang(request)))

    async def api_series(self, request: web.Request) -> web.Response:
        since, until = check_window(request.query.get("since"), request.query.get("until"))
        return _json(await self._read(series_payload, request.match_info["series"], since, until))

    async def api_csv(self, request: web.Request) -> web.Response:
        series = request.match_info["series"]
        since, until = check_window(request.query.get("since"), request.query.get("until"))
        text = await self._read(series_csv, series, since, until)
        return web.Response(
            text=text,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="plumbline-{series}.csv"'},
        )

    async def health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})


def _chart_card(name: str, words: dict[str, str]) -> str:
    title = html.escape(words["web.chart." + name])
    note = words.get(f"web.chart.{name}.note")
    return (
        f'<section class="card chart-card" id="card-{name}">'
        f'<header><h2>{title}</h2><span class="csv" data-chart="{name}"></span></header>'
        + (f'<p class="note">{html.escape(note)}</p>' if note else "")
        + f'<div class="chart" id="chart-{name}" role="img" aria-label="{title}"></div></section>'
    )


CHARTS = ("corridor", "spread", "rrp", "tga", "reserves", "liquidity")


def render_page(lang: str, range_key: str, plotly_name: str, refresh_seconds: float) -> str:
    """The page shell; dashboard.js fills it from /api/dashboard. Words travel as inert JSON."""
    words = page_words(lang)
    w = {key: html.escape(value) for key, value in words.items()}
    boot = json.dumps(
        {
            "lang": lang,
            "range": range_key,
            "refresh": refresh_seconds,
            "words": words,
            "months": t("chart.months", lang).split(),
        },
        ensure_ascii=False,
    ).replace("<", "\\u003c")
    other = "en" if lang == "zh-TW" else "zh-TW"
    toggle = html.escape(t("lang.name." + other, lang))
    buttons = "".join(
        f'<button type="button" class="range" data-range="{key}" '
        f'aria-pressed="{str(key == range_key).lower()}">{w["web.range." + key]}</button>'
        for key in RANGES
    )
    charts = "".join(_chart_card(name, words) for name in CHARTS)
    html_lang = "zh-Hant-TW" if lang == "zh-TW" else "en"
    return f"""<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{w["web.title"]}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/dashboard.css">
<script id="boot" type="application/json">{boot}</script>
<script src="static/{plotly_name}" defer></script>
<script src="static/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><h1>{w["web.heading"]}</h1>
    <p class="tagline">{w["web.tagline"]}</p></div>
  <nav class="controls">
    <span class="label">{w["web.range"]}</span>{buttons}
    <a id="permalink" href="?range={range_key}&amp;lang={lang}">{w["web.permalink"]}</a>
    <a id="lang-toggle" hreflang="{other}" href="?range={range_key}&amp;lang={other}">{toggle}</a>
    <span id="live" class="live">{w["web.loading"]}</span>
  </nav>
</header>
<main>
  <section class="card" id="status"><h2>{w["web.status.title"]}</h2>
    <div id="status-series" class="strip"></div><div id="status-sources" class="sources"></div></section>
  <div class="grid">{charts}</div>
  <div class="grid two">
    <section class="card" id="episodes"><h2>{w["web.episodes.title"]}</h2>
      <ul id="episodes-list"></ul></section>
    <section class="card" id="alerts"><h2>{w["web.alerts.title"]}</h2>
      <ul id="alerts-list"></ul></section>
  </div>
</main>
<footer>{w["web.footer"]}</footer>
</body>
</html>
"""


class WebServer:
    """Serves a Dashboard on host:port in the running loop; start() raises OSError if the port is taken."""

    def __init__(self, dashboard: Dashboard, host: str, port: int) -> None:
        self.dashboard = dashboard
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._warm: asyncio.Task[bytes] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        runner = web.AppRunner(self.dashboard.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # Compress plotly.js in a worker thread now, so the first visitor need not wait for it.
        self._warm = asyncio.create_task(self.dashboard.assets[self.dashboard.plotly_name].gzipped())
        if self.port == 0:
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._warm is not None:
            self._warm.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm
            self._warm = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
