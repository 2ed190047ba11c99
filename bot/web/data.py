"""What the dashboard shows, read from storage into plain JSON-ready dicts. Reads only, never writes."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from bot.alerts.engine import sofr_days
from bot.alerts.events import event_reply
from bot.core.clock import is_iso_date
from bot.core.series import CATALOG, is_srf
from bot.market.episodes import open_episodes
from bot.market.freshness import series_status, source_status
from bot.market.levels import TGA_TARGET_BN, is_breach
from bot.words.fmt import pct, usd_bn
from bot.words.messages import t
from storage.observations import Point, history, last_stored_at, newest_dates
from storage.operations import operations_between
from storage.outbox import last_event_at, latest_alert_events

UNITS = {"%": "percent", "$bn": "billions_usd"}

# Range button -> days back from the newest stored date (max: everything).
RANGES: dict[str, int | None] = {"1m": 31, "3m": 92, "1y": 366, "5y": 5 * 366, "max": None}
DEFAULT_RANGE = "3m"

# The series the corridor chart draws, each as (id, catalog word for its legend).
CORRIDOR_SERIES = (
    "fed_lower",
    "fed_upper",
    "sofr",
    "sofr_p1",
    "sofr_p25",
    "sofr_p75",
    "sofr_p99",
    "effr",
    "iorb",
)
LEVEL_SERIES = ("rrp", "tga", "reserves", "net_liquidity", "fed_assets")

_EPISODE_WORDS = {"sofr_breach": "episode.sofr_breach", "srf_positive@0": "episode.srf"}


class RequestError(Exception):
    """A bad API request; status is 400 or 404 and the message is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_series(series: str) -> str:
    if series not in CATALOG:
        raise RequestError(404, t("web.error.unknown_series", series=series, known=", ".join(CATALOG)))
    return series


def check_window(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Validate optional since/until query values: real YYYY-MM-DD dates, not reversed."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and not is_iso_date(value):
            raise RequestError(400, t("web.error.bad_date", name=name, value=value))
    if since is not None and until is not None and since > until:
        raise RequestError(400, t("web.error.reversed", since=since, until=until))
    return since, until


def check_range(name: str | None) -> str:
    key = name or DEFAULT_RANGE
    if key not in RANGES:
        raise RequestError(400, t("web.error.bad_range", value=key, known=", ".join(RANGES)))
    return key


def series_payload(
    db: sqlite_utils.Database, series: str, since: str | None, until: str | None
) -> dict[str, Any]:
    """GET /api/series/{id}: the points of one series in its canonical unit."""
    points = history(db, check_series(series), since, until)
    return {
        "series": series,
        "unit": UNITS[CATALOG[series].unit],
        "points": [[p.date, p.value] for p in points],
    }


def series_csv(db: sqlite_utils.Database, series: str, since: str | None, until: str | None) -> str:
    """The same points as CSV, with the unit in the header."""
    points = history(db, check_series(series), since, until)
    unit = UNITS[CATALOG[series].unit]
    lines = [f"date,{series}_{unit}"]
    lines += [f"{p.date},{p.value:.10g}" for p in points]
    return "\n".join(lines) + "\n"


def range_since(db: sqlite_utils.Database, range_key: str) -> tuple[str | None, str | None]:
    """The first date a range button shows, counted back from the newest SOFR (or any) date stored."""
    newest = newest_dates(db)
    anchor = newest.get("sofr") or max(newest.values(), default=None)
    days = RANGES[range_key]
    if anchor is None or days is None:
        return None, anchor
    return (date.fromisoformat(anchor) - timedelta(days=days)).isoformat(), anchor


def _columns(points: list[Point]) -> dict[str, list[Any]]:
    return {"x": [p.date for p in points], "y": [p.value for p in points]}


def _spread_and_srf(db: sqlite_utils.Database, since: str | None) -> dict[str, Any]:
    """SOFR minus the ceiling in effect each day (bp), the breach days, and SRF take-up by session."""
    days = sofr_days(db, since or "")
    spread = {
        "x": [d.date for d in days if d.ceiling is not None],
        "y": [round((d.sofr - d.ceiling) * 100, 2) for d in days if d.ceiling is not None],
    }
    breaches = [d for d in days if is_breach(d.sofr, d.ceiling)]
    by_session: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for op in operations_between(db, since or "0000-00-00", "9999-12-31", "Repo"):
        if is_srf(op):
            session = op.session if op.session in ("AM", "PM") else "PM"
            by_session[session][op.operation_date] += op.total_accepted
    srf = {
        session: {
            "x": sorted(by_session[session]),
            "y": [round(v, 6) for _, v in sorted(by_session[session].items())],
        }
        for session in ("AM", "PM")
    }
    return {
        "spread": spread,
        "breaches": {
            "x": [d.date for d in breaches],
            "y": [d.sofr for d in breaches],
            "gap": [round((d.sofr - (d.ceiling or 0.0)) * 100, 2) for d in breaches],
        },
        "srf": srf,
    }


def data_version(db: sqlite_utils.Database) -> str:
    """Changes whenever an observation or an alert is stored: the page redraws when it does."""
    return f"{last_stored_at(db)}|{last_event_at(db)}"


def dashboard(db: sqlite_utils.Database, range_key: str, now: datetime, lang: str) -> dict[str, Any]:
    """Everything the page draws for one range, in one read."""
    since, until = range_since(db, range_key)
    series = {name: _columns(history(db, name, since)) for name in (*CORRIDOR_SERIES, *LEVEL_SERIES)}
    return {
        "range": range_key,
        "since": since,
        "until": until,
        "version": data_version(db),
        "series": series,
        **_spread_and_srf(db, since),
        "tga_target": TGA_TARGET_BN,
        "status": status_payload(db, now, lang),
        "episodes": episodes_payload(db, lang),
    }


def _shown(value: float | None, unit: str, lang: str) -> str | None:
    """The value as chat replies write it: 4.22%, $50.35B, $6.587T; 503.5億美元 in Chinese."""
    if value is None:
        return None
    return pct(value, lang=lang) if unit == "%" else usd_bn(value, lang=lang)


def status_payload(db: sqlite_utils.Database, now: datetime, lang: str = "en") -> dict[str, Any]:
    """GET /api/status: each series' latest value, date and freshness; each source's state (no error text)."""
    sources = []
    for src in source_status(db):
        state = "never" if src.last is None else ("failing" if src.degraded else "ok")
        sources.append(
            {
                "source": src.source,
                "label": t(f"source.{src.source}", lang),
                "state": state,
                "last_fetch": src.last.started_at if src.last else None,
                "last_ok": src.last_ok,
                "failures": src.failures,
            }
        )
    return {
        "version": data_version(db),
        "series": [
            {
                "series": row.series,
                "name": t(f"short.{row.series}", lang),
                "unit": UNITS[row.unit],
                "date": row.date,
                "value": row.value,
                "shown": _shown(row.value, row.unit, lang),
                "age_days": row.age_days,
                "state": "missing" if row.date is None else ("stale" if row.stale else "fresh"),
            }
            for row in series_status(db, now)
        ],
        "sources": sources,
    }


def episodes_payload(db: sqlite_utils.Database, lang: str = "en", limit: int = 12) -> dict[str, Any]:
    """GET /api/episodes: open episodes and the latest alerts, without chats or audiences."""
    alerts = []
    for event in latest_alert_events(db, limit):
        try:
            stored = json.loads(event.payload)
            title, level = str(stored.get("title", "")), str(stored.get("level", "info"))
        except ValueError:
            stored, title, level = {}, "", "info"
        render = stored.get("render") if isinstance(stored, dict) else None
        if isinstance(render, dict):
            # The event's facts in the reader's language, as a chat in that language received it.
            reply = event_reply(render, lang)
            if reply is not None:
                title, level = reply.title, reply.level
        alerts.append(
            {
                "rule": event.rule.split("@", 1)[0],
                "kind": event.kind,
                "date": event.data_date,
                "created_at": event.created_at,
                "title": title,
                "level": level,
            }
        )
    return {
        "open": [
            {
                "rule": rule.split("@", 1)[0],
                "since": since,
                "text": t(_EPISODE_WORDS[rule], lang, since=since),
            }
            for rule, since in open_episodes(db).items()
        ],
        "alerts": alerts,
    }
