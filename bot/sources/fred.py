"""FRED: IORB, the target range, reserves and Fed assets, from the keyless CSV or the JSON API."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

import httpx

from bot.core.clock import is_iso_date
from bot.core.models import Observation, SourceBatch, SourceError
from bot.core.offload import off_loop
from bot.sources.http import get_json, get_text

SOURCE = "fred"

T = TypeVar("T")

# FRED id -> (canonical series id, multiplier into canonical units).
FRED_SERIES: dict[str, tuple[str, float]] = {
    "IORB": ("iorb", 1.0),
    "DFEDTARU": ("fed_upper", 1.0),
    "DFEDTARL": ("fed_lower", 1.0),
    "WRESBAL": ("reserves", 0.001),
    "WALCL": ("fed_assets", 0.001),
    # Foreign official custody holdings of marketable Treasuries (H.4.1 memo item), millions.
    "WMTSECL1": ("custody", 0.001),
    # H.8: Treasury and agency securities, all commercial banks, weekly, seasonally adjusted, billions.
    "TASACBW027SBOG": ("bank_treasuries", 1.0),
}

# Canonical-unit bounds checked before storing the buyer series: outside them the feed is broken.
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "custody": (500.0, 10_000.0),
    "bank_treasuries": (500.0, 20_000.0),
}

_DATE_COLUMNS = ("observation_date", "DATE")
_MISSING = ("", ".")
# Stricter than float(), which would also take "nan", "inf", "1_000" and padded text.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A CSV line as fredgraph.csv writes it: a date, a comma, a number or nothing (or "." in older files).
_PLAIN_LINE = re.compile(r"(\d{4}-\d{2}-\d{2}),(" + _NUMBER.pattern + r"|\.|)", re.ASCII)
# Series fetched at once. The JSON API allows about 120 requests a minute; a whole fetch is one request a
# series (7, or 28 if every one of them used all its retries), so all of them can go at once.
CONCURRENCY = len(FRED_SERIES)


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_csv(text: str, fred_id: str) -> list[tuple[str, float]]:
    """Parse a fredgraph.csv body into (date, value) rows; missing values are skipped, never 0."""
    body = text.removeprefix("\ufeff")
    if not body.strip():
        raise SourceError(SOURCE, f"{fred_id}: empty CSV body")
    if body.lstrip().startswith("<"):
        raise SourceError(SOURCE, f"{fred_id}: expected CSV but got an HTML page")
    if not body.endswith("\n"):
        # fredgraph.csv always ends with a newline: without it the last value may be cut ("3.65" -> "3.6").
        raise SourceError(SOURCE, f"{fred_id}: truncated CSV (the body does not end with a newline)")
    lines = body.splitlines()
    header = [name.strip() for name in lines[0].split(",")]
    if len(header) != 2 or header[0] not in _DATE_COLUMNS or header[1] != fred_id:
        raise SourceError(SOURCE, f"{fred_id}: unexpected CSV header {lines[0][:80]!r}")
    rows: list[tuple[str, float]] = []
    for number, line in enumerate(lines[1:], start=2):
        # Decades of lines: one match reads a well-formed one; anything else goes the long way below.
        plain = _PLAIN_LINE.fullmatch(line)
        if plain is not None and is_iso_date(plain.group(1)):
            if plain.group(2) in _MISSING:
                continue
            reading = float(plain.group(2))
            if math.isfinite(reading):
                rows.append((plain.group(1), reading))
                continue
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 2:
            raise SourceError(SOURCE, f"{fred_id}: line {number}: expected 2 fields, got {line[:80]!r}")
        day, raw = fields
        if not is_iso_date(day):
            raise SourceError(SOURCE, f"{fred_id}: line {number}: malformed date {day[:40]!r}")
        if raw in _MISSING:
            continue
        value = _number(raw)
        if value is None:
            raise SourceError(SOURCE, f"{fred_id}: {day} (line {number}): non-numeric value {raw[:40]!r}")
        rows.append((day, value))
    return rows


def parse_json(payload: object, fred_id: str) -> list[tuple[str, float]]:
    """Parse a /series/observations JSON body into (date, value) rows; "." is missing and skipped."""
    if not isinstance(payload, dict):
        got = type(payload).__name__
        raise SourceError(SOURCE, f"{fred_id}: changed schema: expected a JSON object, got {got}")
    if "error_code" in payload or "error_message" in payload:
        message = str(payload.get("error_message") or "no message")[:200]
        raise SourceError(SOURCE, f"{fred_id}: API error {payload.get('error_code')}: {message}")
    observations = payload.get("observations")
    if not isinstance(observations, list):
        raise SourceError(SOURCE, f"{fred_id}: changed schema: no 'observations' list in the response")
    rows: list[tuple[str, float]] = []
    for index, item in enumerate(observations):
        if not isinstance(item, dict):
            got = type(item).__name__
            raise SourceError(SOURCE, f"{fred_id}: changed schema: observation {index} is {got}")
        day = item.get("date")
        raw = item.get("value")
        if not isinstance(day, str) or not is_iso_date(day):
            raise SourceError(SOURCE, f"{fred_id}: observation {index}: malformed date {str(day)[:40]!r}")
        if not isinstance(raw, str):
            raise SourceError(SOURCE, f"{fred_id}: {day}: value is {type(raw).__name__}, expected a string")
        raw = raw.strip()
        if raw in _MISSING:
            continue
        value = _number(raw)
        if value is None:
            raise SourceError(SOURCE, f"{fred_id}: {day}: non-numeric value {raw[:40]!r}")
        rows.append((day, value))
    return rows


def to_observations(fred_id: str, rows: list[tuple[str, float]]) -> list[Observation]:
    """Map FRED rows onto the canonical series and units."""
    try:
        series, multiplier = FRED_SERIES[fred_id]
    except KeyError:
        raise ValueError(f"unknown FRED series {fred_id!r}") from None
    observations = [Observation(series, day, round(value * multiplier, 6), SOURCE) for day, value in rows]
    low, high = _PLAUSIBLE.get(series, (-math.inf, math.inf))
    for obs in observations:
        if not low <= obs.value <= high:
            raise SourceError(
                SOURCE,
                f"{fred_id}: {obs.date}: implausible value {obs.value:g}B (expected {low:g}..{high:g})",
            )
    return observations


async def _naming(fred_id: str, request: Awaitable[T]) -> T:
    """Await an HTTP call, naming the series in any SourceError it raises."""
    try:
        return await request
    except SourceError as exc:
        raise SourceError(SOURCE, f"{fred_id}: {exc.problem}", transient=exc.transient) from exc


async def fetch_series(
    client: httpx.AsyncClient,
    fred_id: str,
    *,
    csv_url: str,
    api_url: str,
    api_key: str | None,
    start: date,
) -> list[Observation]:
    """Fetch one series since start: the keyless CSV, or the JSON API when a key is set."""
    since = start.isoformat()
    if not api_key:
        text = await _naming(fred_id, get_text(client, SOURCE, csv_url, {"id": fred_id, "cosd": since}))
        rows = await off_loop(parse_csv, text, fred_id)  # decades of rows: off the event loop
    else:
        params = {"series_id": fred_id, "api_key": api_key, "file_type": "json", "observation_start": since}
        url = f"{api_url.rstrip('/')}/series/observations"
        rows = parse_json(await _naming(fred_id, get_json(client, SOURCE, url, params)), fred_id)
    # A mirror may ignore cosd / observation_start, so the window is enforced here as well.
    return await off_loop(to_observations, fred_id, [(day, value) for day, value in rows if day >= since])


async def fetch(
    client: httpx.AsyncClient,
    *,
    csv_url: str,
    api_url: str,
    api_key: str | None,
    start: date,
) -> SourceBatch:
    """Fetch every FRED series; failures are reported on the batch, or raised when every series failed."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(fred_id: str) -> list[Observation]:
        async with limit:
            return await fetch_series(
                client, fred_id, csv_url=csv_url, api_url=api_url, api_key=api_key, start=start
            )

    results = await asyncio.gather(*(one(fred_id) for fred_id in FRED_SERIES), return_exceptions=True)
    batch = SourceBatch(SOURCE)
    failures: list[SourceError] = []
    for result in results:
        if isinstance(result, SourceError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            batch.observations.extend(result)
    if not failures:
        return batch
    problem = _summarise(failures)
    if len(failures) == len(results):
        raise SourceError(SOURCE, problem, transient=all(failure.transient for failure in failures))
    batch.errors.append(problem)
    return batch


def _summarise(failures: list[SourceError]) -> str:
    """'IORB: timed out', 'WALCL: timed out' -> 'timed out (IORB, WALCL)'; distinct problems kept apart."""
    by_problem: dict[str, list[str]] = {}
    for failure in failures:
        series, sep, problem = failure.problem.partition(": ")
        if not sep:
            series, problem = "", failure.problem
        by_problem.setdefault(problem, []).append(series)
    return "; ".join(
        f"{problem} ({', '.join(s for s in names if s)})" if any(names) else problem
        for problem, names in by_problem.items()
    )
