"""The dashboard's HTTP face: the JSON API and its errors, CSV, read-only methods, headers, no chat data."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.core.config import ConfigError, Settings, load_settings
from bot.web.server import Dashboard
from storage.db import StorageError, open_readonly
from storage.outbox import add_event
from tests.seed import SCENARIOS, ny, seeded, store
from tests.web_support import SECRET_CHAT, seed_breach_with_alert

ROOT = Path(__file__).resolve().parents[1]


async def _client(path: Path, scenario: str) -> TestClient:  # type: ignore[type-arg]
    dash = Dashboard(open_readonly(path), clock=lambda: SCENARIOS[scenario].now)
    client = TestClient(TestServer(dash.app()))
    await client.start_server()
    return client


@pytest.fixture
async def month_end(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    seeded("month_end_2025", tmp_path / "m.db").close()
    client = await _client(tmp_path / "m.db", "month_end_2025")
    yield client
    await client.close()


@pytest.fixture
async def spike(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    seed_breach_with_alert(tmp_path / "s.db").close()
    client = await _client(tmp_path / "s.db", "repo_spike_2019")
    yield client
    await client.close()


@pytest.mark.parametrize(
    ("query", "series", "unit", "points"),
    [
        # The 2025-10-31 month-end SRF record: AM $21.0B + PM $29.35B.
        ("srf?since=2025-10-31", "srf", "billions_usd", [["2025-10-31", 50.35]]),
        (
            "sofr?since=2025-10-30&until=2025-10-31",
            "sofr",
            "percent",
            [["2025-10-30", 4.04], ["2025-10-31", 4.22]],
        ),
        # The 2025-10-30 range change: the top of the range drops from 4.25 to 4.00.
        (
            "fed_upper?since=2025-10-29&until=2025-10-30",
            "fed_upper",
            "percent",
            [["2025-10-29", 4.25], ["2025-10-30", 4.0]],
        ),
        ("sofr?since=2031-01-01", "sofr", "percent", []),
    ],
)
async def test_series_api_returns_the_stored_points_in_canonical_units(
    month_end: TestClient,
    query: str,
    series: str,
    unit: str,
    points: list[list[object]],  # type: ignore[type-arg]
) -> None:
    response = await month_end.get(f"/api/series/{query}")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {"series": series, "unit": unit, "points": points}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/series/bitcoin", 404, "unknown series 'bitcoin'"),
        ("/api/series/sofr?since=2025-02-30", 400, "since must be a date as YYYY-MM-DD, got '2025-02-30'"),
        ("/api/series/sofr?since=20250101", 400, "since must be a date as YYYY-MM-DD"),
        ("/api/series/sofr?until=yesterday", 400, "until must be a date as YYYY-MM-DD, got 'yesterday'"),
        (
            "/api/series/sofr?since=2025-11-01&until=2025-10-01",
            400,
            "since (2025-11-01) is after until (2025-10-01)",
        ),
        ("/api/series/bitcoin.csv", 404, "unknown series 'bitcoin'"),
        ("/api/series/sofr.csv?since=2025-1-1", 400, "since must be a date"),
        ("/api/dashboard?range=10y", 400, "unknown range '10y'; use one of 1m, 3m, 1y, 5y, max"),
        ("/api/nothing", 404, "no such page: /api/nothing"),
        ("/static/jquery.js", 404, "no such page: /static/jquery.js"),
    ],
)
async def test_bad_requests_get_a_json_error_that_says_what_is_wrong(
    month_end: TestClient,
    path: str,
    status: int,
    message: str,  # type: ignore[type-arg]
) -> None:
    response = await month_end.get(path)
    assert response.status == status
    body = await response.json()
    assert set(body) == {"error"} and message in body["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/api/status", "/api/series/sofr", "/nowhere"])
async def test_only_get_and_head_are_allowed(month_end: TestClient, method: str, path: str) -> None:  # type: ignore[type-arg]
    response = await month_end.request(method, path, data=b"x")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert "read-only" in (await response.json())["error"]


async def test_head_answers_without_a_body(month_end: TestClient) -> None:  # type: ignore[type-arg]
    response = await month_end.head("/api/series/sofr")
    assert response.status == 200
    assert await response.read() == b""


@pytest.mark.parametrize(
    "path", ["/", "/api/status", "/api/series/sofr", "/api/series/nope", "/static/dashboard.js"]
)
async def test_every_answer_carries_the_security_headers(month_end: TestClient, path: str) -> None:  # type: ignore[type-arg]
    response = await month_end.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_loads_only_its_own_scripts_and_plotly_comes_from_the_package(
    month_end: TestClient,  # type: ignore[type-arg]
) -> None:
    page = await (await month_end.get("/")).text()
    scripts = [part.split('"', 1)[0] for part in page.split('<script src="')[1:]]
    # Relative links, so the page also works under a reverse proxy's sub-path.
    assert scripts and all(src.startswith("static/") for src in scripts)
    plotly = "/" + next(src for src in scripts if "plotly" in src)
    response = await month_end.get(plotly, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200 and response.content_type == "text/javascript"
    body = await response.read()  # aiohttp undoes the gzip
    assert b"plotly.js v" in body[:400] and len(body) > 1_000_000
    raw = await month_end.get(plotly, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    assert "immutable" in raw.headers["Cache-Control"]
    zipped = await month_end.get(plotly, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await zipped.read()) == body


async def test_the_page_works_under_a_reverse_proxy_sub_path(tmp_path: Path) -> None:
    """A proxy forwarding /plumbline/ to the bot: every link the page and its script use stays under it."""
    seeded("month_end_2025", tmp_path / "p.db").close()
    outer = web.Application()
    outer.add_subapp("/plumbline/", Dashboard(open_readonly(tmp_path / "p.db")).app())
    client = TestClient(TestServer(outer))
    await client.start_server()
    try:
        page = await (await client.get("/plumbline/")).text()
        links = [part.split('"', 1)[0] for part in page.replace("href=", "src=").split('src="')[1:]]
        local = [link for link in links if not link.startswith(("data:", "?"))]
        assert local and all(not link.startswith("/") for link in local)
        for link in local:
            assert (await client.get("/plumbline/" + link)).status == 200, link
        script = await (await client.get("/plumbline/static/dashboard.js")).text()
        assert '"/api' not in script and "'/api" not in script
        for path in ("api/dashboard?range=3m", "api/status", "api/series/sofr.csv"):
            assert (await client.get("/plumbline/" + path)).status == 200, path
    finally:
        await client.close()


async def test_csv_download_has_a_header_with_the_unit_and_every_point(month_end: TestClient) -> None:  # type: ignore[type-arg]
    response = await month_end.get("/api/series/srf.csv?since=2025-10-01")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="plumbline-srf.csv"'
    assert await response.text() == "date,srf_billions_usd\n2025-10-31,50.35\n"


async def test_status_lists_every_series_and_source_state(month_end: TestClient) -> None:  # type: ignore[type-arg]
    body = await (await month_end.get("/api/status")).json()
    by_id = {row["series"]: row for row in body["series"]}
    assert by_id["srf"]["value"] == 50.35 and by_id["srf"]["date"] == "2025-10-31"
    assert by_id["srf"]["shown"] == "$50.35B" and by_id["sofr"]["shown"] == "4.22%"
    assert by_id["sofr"]["state"] == "fresh"
    states = {s["source"]: s["state"] for s in body["sources"]}
    assert {name: states[name] for name in ("nyfed", "fred", "fiscaldata")} == {
        "nyfed": "ok",
        "fred": "ok",
        "fiscaldata": "ok",
    }
    # Sources the 2025 scenario never fetched (the Treasury auction feeds) say so, rather than looking fine.
    assert all(
        state == "never" for name, state in states.items() if name not in ("nyfed", "fred", "fiscaldata")
    )
    assert all("error" not in s for s in body["sources"])


@pytest.mark.parametrize(
    ("scenario", "series", "sources"),
    [
        # Ten days on, SOFR (2024-06-06) is stale, and so is IORB: FRED publishes it every business day.
        # issue #10: by the release calendar a 9-day-old IORB (published every business day) is late
        ("stale_2024", {"sofr": ("stale", 10), "iorb": ("stale", 9), "reserves": ("stale", 11)}, "ok"),
        ("calm_2024", {"sofr": ("fresh", 1), "iorb": ("fresh", 0)}, "ok"),
        ("empty", {"sofr": ("missing", None), "net_liquidity": ("missing", None)}, "never"),
    ],
)
async def test_status_shows_stale_missing_and_never_fetched(
    tmp_path: Path, scenario: str, series: dict[str, tuple[str, int | None]], sources: str
) -> None:
    seeded(scenario, tmp_path / "st.db").close()
    client = await _client(tmp_path / "st.db", scenario)
    try:
        body = await (await client.get("/api/status")).json()
    finally:
        await client.close()
    rows = {row["series"]: (row["state"], row["age_days"]) for row in body["series"]}
    assert {name: rows[name] for name in series} == series
    seeded_sources = ("nyfed", "fred", "fiscaldata")
    assert {s["state"] for s in body["sources"] if s["source"] in seeded_sources} == {sources}


async def test_episodes_show_the_open_breach_and_its_alert_but_never_the_chat(spike: TestClient) -> None:  # type: ignore[type-arg]
    body = await (await spike.get("/api/episodes")).json()
    assert body["open"] == [
        {"rule": "sofr_breach", "since": "2019-09-16", "text": "SOFR above the ceiling since 2019-09-16"}
    ]
    assert [(a["rule"], a["kind"], a["date"]) for a in body["alerts"]] == [
        ("sofr_breach", "start", "2019-09-16")
    ]
    for path in ("/api/episodes", "/api/status", "/api/dashboard?range=max", "/"):
        text = await (await spike.get(path)).text()
        assert SECRET_CHAT not in text and "chat_id" not in text and "subscri" not in text.lower()


async def test_dashboard_marks_the_2019_breach_days_against_the_range_top(spike: TestClient) -> None:  # type: ignore[type-arg]
    body = await (await spike.get("/api/dashboard?range=1m")).json()
    assert body["breaches"]["x"] == ["2019-09-16", "2019-09-17"]
    assert body["breaches"]["gap"] == [18.0, 300.0]
    assert body["since"] == "2019-08-17" and body["until"] == "2019-09-17"
    assert body["spread"]["y"][-1] == 300.0


async def test_dashboard_splits_srf_take_up_into_am_and_pm_bars(month_end: TestClient) -> None:  # type: ignore[type-arg]
    body = await (await month_end.get("/api/dashboard?range=1m")).json()
    assert body["srf"] == {
        "AM": {"x": ["2025-10-31"], "y": [21.0]},
        "PM": {"x": ["2025-10-31"], "y": [29.35]},
    }
    assert body["tga_target"] == 850.0


async def test_small_value_exercise_is_not_drawn_as_srf_take_up(tmp_path: Path) -> None:
    seeded("srf_feb_2026", tmp_path / "f.db").close()
    client = await _client(tmp_path / "f.db", "srf_feb_2026")
    try:
        body = await (await client.get("/api/dashboard?range=1m")).json()
    finally:
        await client.close()
    # 2026-02-18: $0.004B of real take-up beside a $0.056B Small Value Exercise, which is a test, not usage.
    day = {
        session: dict(zip(bars["x"], bars["y"], strict=True)).get("2026-02-18", 0.0)
        for session, bars in body["srf"].items()
    }
    assert round(sum(day.values()), 6) == 0.004
    feb17 = {s: dict(zip(b["x"], b["y"], strict=True))["2026-02-17"] for s, b in body["srf"].items()}
    assert feb17 == {"AM": 11.0, "PM": 19.5}


@pytest.mark.parametrize(
    ("query", "lang", "word"), [("", "en", "Fed funds corridor"), ("?lang=zh-TW", "zh-Hant-TW", None)]
)
async def test_the_page_speaks_the_asked_language(
    month_end: TestClient, query: str, lang: str, word: str | None
) -> None:  # type: ignore[type-arg]
    page = await (await month_end.get("/" + query)).text()
    assert f'<html lang="{lang}">' in page
    if word:
        assert word in page
    boot = json.loads(page.split('<script id="boot" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert boot["lang"] == ("zh-TW" if query else "en")
    assert all(key.startswith("web.") for key in boot["words"])


def test_readonly_connection_refuses_writes(tmp_path: Path) -> None:
    seeded("calm_2024", tmp_path / "r.db").close()
    db = open_readonly(tmp_path / "r.db")
    try:
        with pytest.raises(sqlite3.OperationalError):
            db.execute("DELETE FROM observations")
    finally:
        db.close()
    with pytest.raises(StorageError, match="does not exist"):
        open_readonly(tmp_path / "missing.db")


@pytest.mark.parametrize(
    ("env", "host", "port"),
    [
        ({"WEB_PORT": "8080"}, "127.0.0.1", 8080),
        ({"WEB_PORT": "off"}, "127.0.0.1", None),
        ({"WEB_PORT": "OFF"}, "127.0.0.1", None),
        ({"WEB_HOST": "0.0.0.0", "WEB_PORT": "9000"}, "0.0.0.0", 9000),
        ({"WEB_HOST": "::1", "WEB_PORT": "0"}, "::1", 0),
    ],
)
def test_web_settings(env: dict[str, str], host: str, port: int | None) -> None:
    settings = load_settings(env, env_file=None)
    assert (settings.web_host, settings.web_port) == (host, port)


def test_web_defaults_to_localhost_8080() -> None:
    assert (Settings().web_host, Settings().web_port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("name", "value"), [("WEB_PORT", "http"), ("WEB_PORT", "70000"), ("WEB_HOST", "a b")]
)
def test_bad_web_settings_are_refused_at_startup(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, env_file=None)


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _unreachable_env(tmp_path: Path) -> dict[str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return {
        "NYFED_BASE_URL": base,
        "FRED_CSV_URL": base + "/fredgraph.csv",
        "FISCALDATA_BASE_URL": base,
        "DATABASE_PATH": str(tmp_path / "p.db"),
        "POLL_INTERVAL_SECONDS": "3600",
    }


async def test_run_serves_the_page_in_the_same_process(tmp_path: Path) -> None:
    app = App(load_settings({**_unreachable_env(tmp_path), "WEB_PORT": "0"}, env_file=None), console=False)
    await app.start()
    try:
        assert app.web is not None
        url = app.web.url + "api/series/sofr"
        body = await asyncio.to_thread(_get_json, url)
        assert body == {"series": "sofr", "unit": "percent", "points": []}
    finally:
        await app.stop()
    assert app.web is None


async def test_a_port_in_use_is_one_log_line_and_the_bot_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _taken_port() as sock:
        port = sock.getsockname()[1]
        settings = load_settings({**_unreachable_env(tmp_path), "WEB_PORT": str(port)}, env_file=None)
        app = App(settings, console=False)
        with caplog.at_level(logging.INFO, logger="bot.app"):
            await app.start()
            try:
                assert app.web is None
                assert app.scheduler is not None and app.scheduler.running
            finally:
                await app.stop()
    lines = [r for r in caplog.records if "web dashboard" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert f"127.0.0.1:{port}" in lines[0].getMessage() and "runs on without it" in lines[0].getMessage()


async def test_web_port_off_serves_nothing(tmp_path: Path) -> None:
    app = App(load_settings({**_unreachable_env(tmp_path), "WEB_PORT": "off"}, env_file=None), console=False)
    await app.start()
    try:
        assert app.web is None and app.web_db is None
    finally:
        await app.stop()


def test_plumbline_web_serves_a_database_read_only(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "w.db").close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"DATABASE_PATH": str(tmp_path / "w.db"), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line
        deadline = time.monotonic() + 10
        body: object = {}
        while time.monotonic() < deadline:
            try:
                body = json.loads(
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/series/srf", timeout=2).read()
                )
                break
            except OSError:
                time.sleep(0.1)
        assert body == {"series": "srf", "unit": "billions_usd", "points": [["2025-10-31", 50.35]]}
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
        assert proc.returncode == 0
    second = subprocess.run(
        [sys.executable, "-m", "bot.cli", "web"],
        env={**env, "DATABASE_PATH": str(tmp_path / "none.db")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 2 and "does not exist yet" in second.stderr


async def test_the_live_version_moves_with_new_data_and_with_a_new_alert(tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "v.db")
    client = await _client(tmp_path / "v.db", "month_end_2025")
    try:

        async def version() -> str:
            return str((await (await client.get("/api/status")).json())["version"])

        first = await version()
        assert await version() == first
        store(db, "sofr", {"2025-11-03": 3.92}, "nyfed", ny(2025, 11, 4, 8, 2))
        second = await version()
        assert second != first
        # The engine records its alert after the poll's write: the page must notice that on its own too.
        add_event(
            db,
            key="k",
            rule="srf_positive@0",
            kind="start",
            data_date="2025-11-03",
            audience="srf_positive@0",
            payload='{"title": "SRF", "level": "alert"}',
            now="2025-11-04T13:05:00Z",
        )
        db.conn.commit()
        assert await version() != second
    finally:
        await client.close()
        db.close()


async def test_the_latest_alerts_are_in_the_readers_language(spike: TestClient) -> None:  # type: ignore[type-arg]
    english = await (await spike.get("/api/episodes")).json()
    chinese = await (await spike.get("/api/episodes?lang=zh-TW")).json()
    (en_alert,) = english["alerts"]
    (zh_alert,) = chinese["alerts"]
    assert "SOFR" in en_alert["title"] and en_alert["level"] == zh_alert["level"]
    assert zh_alert["title"] != en_alert["title"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_alert["title"]), zh_alert["title"]
