"""A loopback aiohttp fake of the NY Fed Markets API, FRED (CSV and JSON) and Treasury Fiscal Data.

Bodies follow the real services' shapes and types. Serialized rows are precomputed per series and cached
until the History changes, so a request costs O(rows returned): date windows are found by bisect.
Faults can be switched on per source at runtime to exercise timeouts, retries and schema checks.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.history import (
    RATE_SERIES,
    TGA_ERA_FOUR_ROWS,
    TGA_ERA_TGA,
    History,
    Operation,
    real_cases_history,
)
from tests.fakes.treasury import debt_rows, transaction_rows, upcoming_rows

SOURCES = ("nyfed", "fred", "fiscaldata", "treasury")
FAULTS = (
    "timeout",
    "429",
    "500",
    "503",
    "html",
    "truncated",
    "renamed_field",
    "wrong_type",
    "empty",
    "drop",
)
DEFAULT_FRED_API_KEY = "fakefredapikey0123456789abcdef00"

# FRED id -> (History series, frequency): "b" business days (holidays blank), "d" every day, "w" weekly.
FRED_SERIES: dict[str, tuple[str, str]] = {
    "SOFR": ("sofr", "b"),
    "SOFR1": ("sofr_p1", "b"),
    "SOFR25": ("sofr_p25", "b"),
    "SOFR75": ("sofr_p75", "b"),
    "SOFR99": ("sofr_p99", "b"),
    "SOFRVOL": ("sofr_volume", "b"),
    "EFFR": ("effr", "b"),
    "EFFRVOL": ("effr_volume", "b"),
    "DFEDTAR": ("fed_target", "d"),
    "DFEDTARU": ("fed_upper", "d"),
    "DFEDTARL": ("fed_lower", "d"),
    "IORB": ("iorb", "d"),
    "WRESBAL": ("reserves", "w"),
    "WALCL": ("fed_assets", "w"),
    "WMTSECL1": ("custody", "w"),
    "TASACBW027SBOG": ("bank_treasuries", "w"),
    "RRPONTSYD": ("operations", "b"),  # derived from the reverse repo operations, billions
}

_FISCAL_FIELDS = {
    "record_date": ("Record Date", "DATE", "YYYY-MM-DD"),
    "account_type": ("Type of Account", "STRING", "String"),
    "close_today_bal": ("Closing Balance Today", "CURRENCY0", "$10.20"),
    "open_today_bal": ("Opening Balance Today", "CURRENCY0", "$10.20"),
    "open_month_bal": ("Opening Balance This Month", "CURRENCY0", "$10.20"),
    "open_fiscal_year_bal": ("Opening Balance This Fiscal Year", "CURRENCY0", "$10.20"),
    "table_nbr": ("Table Number", "STRING", "String"),
    "table_nm": ("Table Name", "STRING", "String"),
    "sub_table_name": ("Sub Table Name", "STRING", "String"),
    "src_line_nbr": ("Source Line Number", "INTEGER", "10"),
    "record_fiscal_year": ("Fiscal Year", "YEAR", "YYYY"),
    "record_fiscal_quarter": ("Fiscal Quarter Number", "QUARTER", "Q"),
    "record_calendar_year": ("Calendar Year", "YEAR", "YYYY"),
    "record_calendar_quarter": ("Calendar Quarter Number", "QUARTER", "Q"),
    "record_calendar_month": ("Calendar Month Number", "MONTH", "MM"),
    "record_calendar_day": ("Calendar Day Number", "DAY", "DD"),
}
_FISCAL_PATH = "/fiscal/services/api/fiscal_service/v1/accounting/dts/operating_cash_balance"
_FISCAL_API = "/fiscal/services/api/fiscal_service"
_TREASURY_PATHS = {
    f"{_FISCAL_API}/v2/accounting/od/debt_to_penny": "debt_to_penny",
    f"{_FISCAL_API}/v1/accounting/dts/public_debt_transactions": "public_debt_transactions",
    f"{_FISCAL_API}/v1/accounting/od/auctions_query": "auctions_query",
    f"{_FISCAL_API}/v1/accounting/od/upcoming_auctions": "upcoming_auctions",
}

_HTML_ERROR = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><title>Service Unavailable</title></head>\n'
    "<body><h1>Service Unavailable</h1><p>The service is temporarily down for maintenance. "
    "Please try again later.</p></body>\n</html>\n"
)
_HTML_404 = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><title>Page Not Found | FRED | St. Louis Fed</title></head>\n'
    "<body><h1>Error - Page Not Found</h1><p>Sorry, the page you requested could not be found.</p></body>\n"
    "</html>\n"
)
_FRED_KEY_HELP = "Read https://fred.stlouisfed.org/docs/api/api_key.html for more information."
_RENAMES = {
    "rates": [('"percentRate":', '"rate":')],
    "ops": [('"totalAmtAccepted":', '"totalAmountAccepted":')],
    "fred_json": [('"observations":', '"obs":')],
    "fiscal": [('"data":', '"rows":')],
}

_T = TypeVar("_T")
_FAULT = web.RequestKey("fake_fault", str)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _number(value: float) -> float | int:
    """NY Fed writes volumes and amounts as integers and rates as decimals."""
    return int(value) if float(value).is_integer() and abs(value) >= 10 else value


@dataclass
class _Dated:
    """Serialized items in ascending date order, with their dates for bisect."""

    dates: list[str]
    items: list[str]

    def window(self, start: str | None, end: str | None) -> tuple[int, int]:
        lo = 0 if start is None else bisect.bisect_left(self.dates, start)
        hi = len(self.dates) if end is None else bisect.bisect_right(self.dates, end)
        return lo, max(lo, hi)


@dataclass
class _OpsIndex:
    days: list[str]  # days with operations of this kind, ascending
    groups: list[str]  # each day's operations serialized, earliest release first (the real order)
    chrono: list[tuple[str, str]]  # (day, serialized op), oldest first


@dataclass
class _FiscalIndex:
    dates: list[str]  # per row, ascending
    rows: list[dict[str, str]]
    asc: list[str]
    desc: list[str]  # newest day first, source lines ascending within a day
    desc_order: list[int]  # the row behind each item of desc
    # asc and desc again for each `fields` projection asked for, built on first use
    projections: dict[tuple[str, ...], tuple[list[str], list[str]]] = field(default_factory=dict)

    def texts(self, fields: tuple[str, ...]) -> tuple[list[str], list[str]]:
        if not fields:
            return self.asc, self.desc
        if fields not in self.projections:
            asc = [_dumps({f: row[f] for f in fields}) for row in self.rows]
            self.projections[fields] = (asc, [asc[i] for i in self.desc_order])
        return self.projections[fields]


@dataclass
class _TableIndex:
    rows: list[dict[str, str]]
    texts: list[str]  # each row serialized
    projections: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    def projected(self, fields: tuple[str, ...]) -> list[str]:
        """Each row serialized with only `fields`, in that order; the whole row when there are none."""
        if not fields:
            return self.texts
        if fields not in self.projections:
            self.projections[fields] = [_dumps({f: row[f] for f in fields}) for row in self.rows]
        return self.projections[fields]


def _table(rows: list[dict[str, str]]) -> _TableIndex:
    return _TableIndex(rows, [_dumps(row) for row in rows])


@dataclass
class _FredIndex:
    dates: list[str]
    values: list[str]  # "" when missing
    csv: list[str]
    obs: list[str]


class FakeSources:
    """The three data APIs on 127.0.0.1, ephemeral port: `async with FakeSources(history) as fake: ...`.

    `set_fault(source, fault, count=None)` with a source of SOURCES and a fault of FAULTS; every request is
    recorded in `requests` (decoded path + query) and counted per source in `counts`. Change `history` only
    through its helpers (publish, revise, publish_operation, ...) so that the cached bodies are rebuilt.
    `latency` delays every response; `fred_rate_limit` answers FRED JSON with 429 past N requests a minute.
    """

    def __init__(
        self,
        history: History | None = None,
        *,
        fred_api_key: str = DEFAULT_FRED_API_KEY,
        legacy_csv_header: bool = False,
        latency: float = 0.0,
        fred_rate_limit: int | None = None,
    ) -> None:
        self.history = history if history is not None else real_cases_history()
        self.fred_api_key = fred_api_key
        self.legacy_csv_header = legacy_csv_header
        self.latency = latency
        self.fred_rate_limit = fred_rate_limit  # FRED JSON requests a minute before HTTP 429
        self.requests: list[str] = []
        self.counts: Counter[str] = Counter()
        self.fred_api_requests = 0
        self._faults: dict[str, tuple[str, int | None]] = {}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._fred_times: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._port = 0
        self.app = self._make_app()

    # -- lifecycle

    async def start(self) -> None:
        self._closing = asyncio.Event()
        self._warm()
        self._runner = web.AppRunner(
            self.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            await self.close()
            raise
        self._port = sock.getsockname()[1]

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSources:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- addresses

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeSources is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def nyfed_base_url(self) -> str:
        return self.base_url + "/nyfed"

    @property
    def fred_csv_url(self) -> str:
        return self.base_url + "/fred/graph/fredgraph.csv"

    @property
    def fred_api_url(self) -> str:
        return self.base_url + "/fred-api/fred"

    @property
    def fiscaldata_base_url(self) -> str:
        return self.base_url + "/fiscal/services/api/fiscal_service"

    def env(self, *, with_fred_key: bool = False) -> dict[str, str]:
        """The configuration variables that point the bot here (FRED_API_KEY only when asked)."""
        env = {
            "NYFED_BASE_URL": self.nyfed_base_url,
            "FRED_CSV_URL": self.fred_csv_url,
            "FRED_API_URL": self.fred_api_url,
            "FISCALDATA_BASE_URL": self.fiscaldata_base_url,
        }
        if with_fred_key:
            env["FRED_API_KEY"] = self.fred_api_key
        return env

    # -- faults and records

    def set_fault(self, source: str, fault: str, count: int | None = None) -> None:
        """Make the next `count` requests to source (all of them when None) fail with fault."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            if count is not None and count <= 0:
                self._faults.pop(source, None)
            else:
                self._faults[source] = (fault, count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def request_count(self, source: str) -> int:
        return self.counts[source]

    def reset_records(self) -> None:
        with self._lock:
            self.requests.clear()
            self.counts.clear()
            self.fred_api_requests = 0

    def _take_fault(self, source: str) -> str | None:
        with self._lock:
            entry = self._faults.get(source)
            if entry is None:
                return None
            fault, remaining = entry
            if remaining is not None:
                if remaining <= 1:
                    del self._faults[source]
                else:
                    self._faults[source] = (fault, remaining - 1)
            return fault

    # -- app and middleware

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/nyfed/api/rates/{group}/{kind}/search.json", self._rates_search)
        app.router.add_get("/nyfed/api/rates/{group}/{kind}/last/{n}.json", self._rates_last)
        app.router.add_get("/nyfed/api/rates/all/latest.json", self._rates_all_latest)
        app.router.add_get("/nyfed/api/rp/results/search.json", self._ops_search)
        app.router.add_get("/nyfed/api/rp/{kind}/{method}/results/{which}.json", self._ops_window)
        app.router.add_get("/nyfed/api/rp/{kind}/{method}/results/last/{n}.json", self._ops_last)
        app.router.add_get("/fred/graph/fredgraph.csv", self._fred_csv)
        app.router.add_get("/fred-api/fred/series/observations", self._fred_json)
        app.router.add_get(_FISCAL_PATH, self._fiscal)
        for path in _TREASURY_PATHS:
            app.router.add_get(path, self._treasury)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        source = _source_of(request.path)
        with self._lock:
            self.requests.append(unquote(request.path_qs))
            if source is not None:
                self.counts[source] += 1
            if request.path.startswith("/fred-api/"):
                self.fred_api_requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(source) if source is not None else None
        request[_FAULT] = fault or ""
        if fault == "timeout":
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=3600)
            fault = "drop"
        if fault == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=200)
        if fault == "429":
            headers = {"Retry-After": "1"}
            if request.path.startswith("/fred-api/"):
                body = {"error_code": 429, "error_message": "Too Many Requests.  Exceeded Rate Limit"}
                return web.json_response(body, status=429, headers=headers)
            return web.Response(status=429, text="Too Many Requests", headers=headers)
        if fault in ("500", "503"):
            return web.Response(status=int(fault), text=_HTML_ERROR, content_type="text/html")
        if fault == "html":
            return web.Response(status=200, text=_HTML_ERROR, content_type="text/html")
        return await handler(request)

    def _reply(self, request: web.Request, kind: str, body: str, content_type: str) -> web.Response:
        """A 200 body, altered when a body fault is active for this request."""
        fault = request.get(_FAULT)
        if fault == "renamed_field":
            body = _rename(kind, body)
        elif fault == "wrong_type":
            body = _wrong_type(kind, body)
        elif fault == "truncated":
            body = body[: len(body) // 2]
        return web.Response(text=body, content_type=content_type)

    @staticmethod
    def _empty(request: web.Request) -> bool:
        return request.get(_FAULT) == "empty"

    # -- cached indexes

    def _cached(self, name: str, deps: tuple[str, ...], build: Callable[[], _T]) -> _T:
        key = (id(self.history), *(self.history.version(d) for d in deps))
        hit = self._cache.get(name)
        if hit is not None and hit[0] == key:
            value: _T = hit[1]
            return value
        value = build()
        self._cache[name] = (key, value)
        return value

    def _warm(self) -> None:
        for kind in RATE_SERIES:
            self._rates_index(kind)
        for kind in ("all", "repo", "reverserepo"):
            self._ops_index(kind)
        for fred_id in FRED_SERIES:
            self._fred_index(fred_id)
        self._fiscal_index()

    # -- NY Fed rates

    def _rates_index(self, kind: str) -> _Dated:
        deps = (*RATE_SERIES[kind], "fed_lower", "fed_upper", "fed_target")
        return self._cached(f"rates:{kind}", deps, lambda: self._build_rates(kind))

    def _build_rates(self, kind: str) -> _Dated:
        h = self.history
        names = RATE_SERIES[kind]
        values = [h.values(name) for name in names]
        revised = set().union(*(h.revised.get(name, set()) for name in names))
        dates = sorted(values[0])
        lowers = _AsOf(h.values("fed_lower"), h.values("fed_target"))
        uppers = _AsOf(h.values("fed_upper"), h.values("fed_target"))
        items = []
        for day in dates:
            row: dict[str, Any] = {"effectiveDate": day, "type": kind.upper(), "percentRate": values[0][day]}
            for label, series in zip(("1", "25", "75", "99"), values[1:5], strict=True):
                if day in series:
                    row[f"percentPercentile{label}"] = series[day]
            if kind == "effr":
                lower, upper = lowers.at(day), uppers.at(day)
                if lower is not None and upper is not None:
                    row["targetRateFrom"] = lower
                    row["targetRateTo"] = upper
            if day in values[5]:
                row["volumeInBillions"] = _number(values[5][day])
            row["revisionIndicator"] = "Y" if day in revised else ""
            items.append(_dumps(row))
        return _Dated(dates, items)

    def _rate_kind(self, request: web.Request) -> str:
        group, kind = request.match_info["group"], request.match_info["kind"]
        if (group, kind) not in (
            ("secured", "sofr"),
            ("unsecured", "effr"),
            ("secured", "bgcr"),
            ("secured", "tgcr"),
        ):
            raise web.HTTPNotFound(text="Not Found")
        return kind

    def _rates_body(self, request: web.Request, items: list[str]) -> web.Response:
        return self._reply(request, "rates", '{"refRates":[' + ",".join(items) + "]}", "application/json")

    async def _rates_search(self, request: web.Request) -> web.Response:
        index = self._rates_index(self._rate_kind(request))
        lo, hi = index.window(_date_param(request, "startDate"), _date_param(request, "endDate"))
        if self._empty(request):
            lo = hi
        return self._rates_body(request, index.items[lo:hi][::-1])

    async def _rates_last(self, request: web.Request) -> web.Response:
        index = self._rates_index(self._rate_kind(request))
        n = 0 if self._empty(request) else _positive_int(request.match_info["n"])
        return self._rates_body(request, index.items[len(index.items) - n :][::-1] if n else [])

    async def _rates_all_latest(self, request: web.Request) -> web.Response:
        items = []
        if not self._empty(request):
            for kind in ("effr", "tgcr", "bgcr", "sofr"):
                index = self._rates_index(kind)
                if index.items:
                    items.append(index.items[-1])
        return self._rates_body(request, items)

    # -- NY Fed operations

    def _ops_index(self, kind: str) -> _OpsIndex:
        return self._cached(f"ops:{kind}", ("operations",), lambda: self._build_ops(kind))

    def _build_ops(self, kind: str) -> _OpsIndex:
        wanted = {"all": None, "repo": "Repo", "reverserepo": "Reverse Repo"}[kind]
        ops = [op for op in self.history.operations if wanted is None or op["operationType"] == wanted]
        ops.sort(key=_operation_sort_key)
        chrono = [(op["operationDate"], _dumps(op)) for op in ops]
        days: list[str] = []
        groups: list[list[str]] = []
        for day, text in chrono:
            if not days or days[-1] != day:
                days.append(day)
                groups.append([])
            groups[-1].append(text)
        return _OpsIndex(days, [",".join(g) for g in groups], chrono)

    def _ops_body(self, request: web.Request, groups: list[str]) -> web.Response:
        body = '{"repo":{"operations":[' + ",".join(g for g in groups if g) + "]}}"
        return self._reply(request, "ops", body, "application/json")

    def _ops_days(
        self, request: web.Request, index: _OpsIndex, start: str | None, end: str | None
    ) -> web.Response:
        lo = 0 if start is None else bisect.bisect_left(index.days, start)
        hi = len(index.days) if end is None else bisect.bisect_right(index.days, end)
        if self._empty(request):
            hi = lo
        return self._ops_body(request, index.groups[lo:hi][::-1] if hi > lo else [])

    async def _ops_search(self, request: web.Request) -> web.Response:
        # Like the real server, operationTypes is ignored: every type comes back.
        index = self._ops_index("all")
        return self._ops_days(
            request, index, _date_param(request, "startDate"), _date_param(request, "endDate")
        )

    def _ops_kind(self, request: web.Request) -> _OpsIndex:
        kind, method = request.match_info["kind"], request.match_info["method"]
        if kind not in ("all", "repo", "reverserepo") or method != "all":
            raise web.HTTPNotFound(text="Not Found")
        return self._ops_index(kind)

    async def _ops_window(self, request: web.Request) -> web.Response:
        index = self._ops_kind(request)
        which = request.match_info["which"]
        if which not in ("latest", "lastTwoWeeks"):
            raise web.HTTPNotFound(text="Not Found")
        if not index.days:
            return self._ops_body(request, [])
        latest = index.days[-1]
        # The real lastTwoWeeks counts back from today; the fake counts back from its newest operation.
        start = latest if which == "latest" else (date.fromisoformat(latest) - timedelta(days=14)).isoformat()
        return self._ops_days(request, index, start, latest)

    async def _ops_last(self, request: web.Request) -> web.Response:
        index = self._ops_kind(request)
        n = 0 if self._empty(request) else _positive_int(request.match_info["n"])
        recent = index.chrono[len(index.chrono) - n :] if n else []
        by_day: dict[str, list[str]] = {}
        for day, text in recent:
            by_day.setdefault(day, []).append(text)
        return self._ops_body(request, [",".join(by_day[day]) for day in sorted(by_day, reverse=True)])

    # -- FRED

    def _fred_index(self, fred_id: str) -> _FredIndex:
        series, _ = FRED_SERIES[fred_id]
        deps = (series,)
        return self._cached(f"fred:{fred_id}", deps, lambda: self._build_fred(fred_id))

    def _build_fred(self, fred_id: str) -> _FredIndex:
        series, frequency = FRED_SERIES[fred_id]
        if series == "operations":
            totals: dict[str, float] = {}
            for op in self.history.operations:
                if op["operationType"] == "Reverse Repo":
                    day = op["operationDate"]
                    totals[day] = totals.get(day, 0.0) + op["totalAmtAccepted"] / 1e9
            values = totals
        else:
            values = self.history.values(series)
        dates = sorted(values)
        if frequency == "b" and dates:
            first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
            span = (first + timedelta(days=i) for i in range((last - first).days + 1))
            dates = [d.isoformat() for d in span if d.weekday() < 5]
        texts = [_fred_text(fred_id, values[d]) if d in values else "" for d in dates]
        stamp = date.today().isoformat()
        missing = "." if self.legacy_csv_header else ""
        csv = [f"{d},{v or missing}\n" for d, v in zip(dates, texts, strict=True)]
        head = f'{{"realtime_start":"{stamp}","realtime_end":"{stamp}","date":"'
        obs = [f'{head}{d}","value":"{v or "."}"}}' for d, v in zip(dates, texts, strict=True)]
        return _FredIndex(dates, texts, csv, obs)

    async def _fred_csv(self, request: web.Request) -> web.Response:
        fred_id = request.query.get("id", "")
        if fred_id not in FRED_SERIES:
            return web.Response(status=404, text=_HTML_404, content_type="text/html")
        index = self._fred_index(fred_id)
        lo, hi = _Dated(index.dates, []).window(request.query.get("cosd"), request.query.get("coed"))
        if self._empty(request):
            lo = hi
        header = f"{'DATE' if self.legacy_csv_header else 'observation_date'},{fred_id}\n"
        return self._reply(request, "fred_csv", header + "".join(index.csv[lo:hi]), "text/csv")

    async def _fred_json(self, request: web.Request) -> web.Response:
        query = request.query
        key = query.get("api_key")
        if not key:
            return _fred_error(400, f"Bad Request.  Variable api_key is not set.  {_FRED_KEY_HELP}")
        if key != self.fred_api_key:
            message = "Bad Request.  The value for variable api_key is not registered."
            return _fred_error(400, f"{message}  {_FRED_KEY_HELP}")
        if self.fred_rate_limit is not None and self._over_fred_limit():
            return _fred_error(429, "Too Many Requests.  Exceeded Rate Limit")
        fred_id = query.get("series_id", "")
        if fred_id not in FRED_SERIES:
            return _fred_error(400, "Bad Request.  The series does not exist.")
        index = self._fred_index(fred_id)
        start = query.get("observation_start", "1776-07-04")
        end = query.get("observation_end", "9999-12-31")
        lo, hi = _Dated(index.dates, []).window(start, end)
        if self._empty(request):
            lo = hi
        descending = query.get("sort_order") == "desc"
        offset = _positive_int(query.get("offset", "0"), minimum=0)
        limit = _positive_int(query.get("limit", "100000"))
        chosen = index.obs[lo:hi][::-1] if descending else index.obs[lo:hi]
        chosen = chosen[offset : offset + limit]
        stamp = date.today().isoformat()
        head = {
            "realtime_start": stamp,
            "realtime_end": stamp,
            "observation_start": start,
            "observation_end": end,
            "units": "lin",
            "output_type": 1,
            "file_type": "json",
            "order_by": "observation_date",
            "sort_order": "desc" if descending else "asc",
            "count": hi - lo,
            "offset": offset,
            "limit": limit,
        }
        body = _dumps(head)[:-1] + ',"observations":[' + ",".join(chosen) + "]}"
        return self._reply(request, "fred_json", body, "application/json")

    def _over_fred_limit(self) -> bool:
        now = time.monotonic()
        times = self._fred_times
        while times and now - times[0] > 60:
            times.popleft()
        times.append(now)
        return self.fred_rate_limit is not None and len(times) > self.fred_rate_limit

    # -- Treasury Fiscal Data

    def _fiscal_index(self) -> _FiscalIndex:
        return self._cached("fiscal", ("tga",), self._build_fiscal)

    def _build_fiscal(self) -> _FiscalIndex:
        rows = list(_dts_rows(self.history.values("tga")))
        dates = [row["record_date"] for row in rows]
        asc = [_dumps(row) for row in rows]
        order: list[int] = []
        end = len(rows)
        while end:
            start = bisect.bisect_left(dates, dates[end - 1], 0, end)
            order.extend(range(start, end))
            end = start
        return _FiscalIndex(dates, rows, asc, [asc[i] for i in order], order)

    async def _fiscal(self, request: web.Request) -> web.Response:
        index = self._fiscal_index()
        query = request.query
        start, end, others = _fiscal_filter(query.get("filter", ""))
        lo, hi = _Dated(index.dates, []).window(start, end)
        if self._empty(request):
            lo = hi
        descending = query.get("sort", "record_date").startswith("-")
        size = min(_positive_int(query.get("page[size]", "100")), 10000)
        number = _positive_int(query.get("page[number]", "1"))
        fields = [f for f in query.get("fields", "").split(",") if f]
        if not set(fields) <= _FISCAL_FIELDS.keys():
            return _unknown_fields(fields)
        if others:
            # Rare slow path: filter or project row dicts, then serialize.
            chosen = index.rows[lo:hi]
            if descending:
                chosen = _newest_days_first(chosen)
            chosen = [row for row in chosen if all(_matches(row, *cond) for cond in others)]
            total = len(chosen)
            page_rows = chosen[(number - 1) * size : number * size]
            items = [_dumps({f: row[f] for f in fields} if fields else row) for row in page_rows]
        else:
            total = hi - lo
            skip = (number - 1) * size
            asc, desc = index.texts(tuple(fields))
            if descending:
                n = len(desc)
                items = desc[n - hi + skip : min(n - lo, n - hi + skip + size)]
            else:
                items = asc[lo + skip : min(hi, lo + skip + size)]
        shown = fields or list(_FISCAL_FIELDS)
        pages = math.ceil(total / size)
        meta = {
            "count": len(items),
            "labels": {f: _FISCAL_FIELDS[f][0] for f in shown},
            "dataTypes": {f: _FISCAL_FIELDS[f][1] for f in shown},
            "dataFormats": {f: _FISCAL_FIELDS[f][2] for f in shown},
            "total-count": total,
            "total-pages": pages,
        }
        body = '{"data":[' + ",".join(items) + '],"meta":' + _dumps(meta) + ',"links":'
        body += _dumps(_fiscal_links(number, size, pages)) + "}"
        return self._reply(request, "fiscal", body, "application/json")

    # -- Treasury Fiscal Data: debt, issuance, auctions (small tables: filtered and paged per request)

    def _treasury_index(self, table: str) -> _TableIndex:
        # The two long daily tables are built and serialized once per change; the auction tables are
        # small and History.auctions is a plain list tests may edit, so those are read afresh.
        if table == "debt_to_penny":
            return self._cached("treasury:debt", ("public_debt",), lambda: _table(debt_rows(self.history)))
        if table == "public_debt_transactions":
            deps = ("net_bills", "net_coupons")
            return self._cached("treasury:transactions", deps, lambda: _table(transaction_rows(self.history)))
        if table == "auctions_query":
            return _table(sorted(self.history.auctions, key=lambda r: r["auction_date"]))
        return _table(upcoming_rows(self.history))

    async def _treasury(self, request: web.Request) -> web.Response:
        index = self._treasury_index(_TREASURY_PATHS[request.path])
        rows = index.rows
        query = request.query
        conditions: list[tuple[str, str, str]] = []
        for part in filter(None, query.get("filter", "").split(",")):
            pieces = part.split(":", 2)
            if len(pieces) != 3:
                raise web.HTTPBadRequest(text=f"invalid filter {part!r}")
            conditions.append((pieces[0], pieces[1], pieces[2]))
        chosen = [i for i, row in enumerate(rows) if all(_matches(row, *cond) for cond in conditions)]
        sort = query.get("sort", "record_date")
        key = sort.lstrip("-")
        chosen.sort(key=lambda i: rows[i].get(key, ""), reverse=sort.startswith("-"))
        if self._empty(request):
            chosen = []
        size = min(_positive_int(query.get("page[size]", "100")), 10000)
        number = _positive_int(query.get("page[number]", "1"))
        page = chosen[(number - 1) * size : number * size]
        pages = math.ceil(len(chosen) / size)
        meta = {"count": len(page), "total-count": len(chosen), "total-pages": pages}
        fields = tuple(filter(None, query.get("fields", "").split(",")))
        if rows and not set(fields) <= rows[0].keys():
            return _unknown_fields(fields)
        texts = index.projected(fields)
        items = ",".join(texts[i] for i in page)
        body = '{"data":[' + items + '],"meta":' + _dumps(meta) + ',"links":'
        body += _dumps(_fiscal_links(number, size, pages)) + "}"
        return self._reply(request, "fiscal", body, "application/json")


class FakeSourcesThread:
    """FakeSources on its own event loop in a daemon thread, for tests that run the bot as a subprocess."""

    def __init__(self, history: History | None = None, **options: Any) -> None:
        self.fake = FakeSources(history, **options)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> FakeSourcesThread:
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._main(),), daemon=True, name="fake-sources"
        )
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("fake sources did not start within 60 s")
        if self._error is not None:
            raise RuntimeError("fake sources failed to start") from self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.fake.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.fake.close()

    @property
    def history(self) -> History:
        return self.fake.history

    @property
    def requests(self) -> list[str]:
        return self.fake.requests

    @property
    def counts(self) -> Counter[str]:
        return self.fake.counts

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    @property
    def nyfed_base_url(self) -> str:
        return self.fake.nyfed_base_url

    @property
    def fred_csv_url(self) -> str:
        return self.fake.fred_csv_url

    @property
    def fred_api_url(self) -> str:
        return self.fake.fred_api_url

    @property
    def fiscaldata_base_url(self) -> str:
        return self.fake.fiscaldata_base_url

    def env(self, *, with_fred_key: bool = False) -> dict[str, str]:
        return self.fake.env(with_fred_key=with_fred_key)

    def set_fault(self, source: str, fault: str, count: int | None = None) -> None:
        self.fake.set_fault(source, fault, count)

    def clear_faults(self) -> None:
        self.fake.clear_faults()

    def request_count(self, source: str) -> int:
        return self.fake.request_count(source)


# ---------------------------------------------------------------------------------------------------------
# Helpers


class _AsOf:
    """The value in force on a day: the latest of `primary` on or before it, else of `fallback`."""

    def __init__(self, primary: dict[str, float], fallback: dict[str, float]) -> None:
        self.primary = (sorted(primary), primary)
        self.fallback = (sorted(fallback), fallback)

    def at(self, day: str) -> float | None:
        for dates, values in (self.primary, self.fallback):
            i = bisect.bisect_right(dates, day)
            if i:
                return values[dates[i - 1]]
        return None


def _source_of(path: str) -> str | None:
    if path.startswith("/nyfed/"):
        return "nyfed"
    if path.startswith(("/fred/", "/fred-api/")):
        return "fred"
    if path in _TREASURY_PATHS:
        return "treasury"
    if path.startswith("/fiscal/"):
        return "fiscaldata"
    return None


def _date_param(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid {name}") from None


def _positive_int(raw: str, minimum: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="invalid number") from None
    if value < minimum:
        raise web.HTTPBadRequest(text="invalid number")
    return value


def _unknown_fields(fields: Sequence[str]) -> web.Response:
    """As the real API answers: a field that does not exist is an error, never silently left out."""
    message = f"Invalid query parameter 'fields' with value '{','.join(fields)}'"
    return web.json_response({"error": "Invalid Query Param", "message": message}, status=400)


def _fred_error(status: int, message: str) -> web.Response:
    return web.json_response({"error_code": status, "error_message": message}, status=status)


def _fred_text(fred_id: str, value: float) -> str:
    if fred_id in ("WALCL", "WRESBAL", "WMTSECL1"):
        return f"{value:.0f}"
    if fred_id.endswith("VOL"):
        return f"{value:.1f}"
    if fred_id == "RRPONTSYD":
        return str(round(value, 3))
    return f"{value:.2f}"


def _fiscal_filter(raw: str) -> tuple[str | None, str | None, list[tuple[str, str, str]]]:
    """(first date, last date, other conditions) from `field:op:value,...`."""
    start: str | None = None
    end: str | None = None
    others: list[tuple[str, str, str]] = []
    for part in filter(None, raw.split(",")):
        pieces = part.split(":", 2)
        if len(pieces) != 3:
            raise web.HTTPBadRequest(text=f"invalid filter {part!r}")
        name, op, value = pieces
        if name != "record_date":
            others.append((name, op, value))
            continue
        day = date.fromisoformat(value)
        if op in ("gte", "gt"):
            start = (day + timedelta(days=1 if op == "gt" else 0)).isoformat()
        elif op in ("lte", "lt"):
            end = (day - timedelta(days=1 if op == "lt" else 0)).isoformat()
        elif op == "eq":
            start = end = day.isoformat()
        else:
            raise web.HTTPBadRequest(text=f"invalid filter operator {op!r}")
    return start, end, others


def _matches(row: dict[str, str], name: str, op: str, value: str) -> bool:
    field = row.get(name, "")
    if op == "eq":
        return field == value
    if op == "in":
        return field in value.strip("()").split("|") or field in value.strip("()").split(",")
    comparisons = {"gt": field > value, "gte": field >= value, "lt": field < value, "lte": field <= value}
    return comparisons.get(op, False)


def _newest_days_first(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    by_day: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_day.setdefault(row["record_date"], []).append(row)
    return [row for day in sorted(by_day, reverse=True) for row in by_day[day]]


def _fiscal_links(number: int, size: int, pages: int) -> dict[str, str | None]:
    def link(page: int) -> str:
        return f"&page%5Bnumber%5D={page}&page%5Bsize%5D={size}"

    return {
        "self": link(number),
        "first": link(1),
        "prev": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
        "last": link(max(1, pages)),
    }


def _dts_rows(closes: dict[str, float]) -> Iterator[dict[str, str]]:
    """Daily Treasury Statement Table I rows in each era's layout, from TGA closing balances ($mn)."""
    previous: int | None = None
    month_open = fy_open = 0
    month_key = fy_key = None
    month_flows = [0, 0]
    fy_flows = [0, 0]
    for day_iso in sorted(closes):
        day = date.fromisoformat(day_iso)
        close = round(closes[day_iso])
        opening = previous if previous is not None else close
        fiscal_year = day.year + 1 if day.month >= 10 else day.year
        if (day.year, day.month) != month_key:
            month_key, month_open, month_flows = (day.year, day.month), opening, [0, 0]
        if fiscal_year != fy_key:
            fy_key, fy_open, fy_flows = fiscal_year, opening, [0, 0]
        calendar = {
            "record_fiscal_year": str(fiscal_year),
            "record_fiscal_quarter": str((day.month + 2) // 3 % 4 + 1),
            "record_calendar_year": str(day.year),
            "record_calendar_quarter": str((day.month - 1) // 3 + 1),
            "record_calendar_month": f"{day.month:02d}",
            "record_calendar_day": f"{day.day:02d}",
        }

        def row(
            account: str, close_today: str, values: tuple[int, int, int], line: int, sub: str
        ) -> dict[str, str]:
            return _dts_row(day_iso, calendar, account, close_today, values, line, sub)  # noqa: B023

        if day < TGA_ERA_FOUR_ROWS:
            account = "Treasury General Account (TGA)" if day >= TGA_ERA_TGA else "Federal Reserve Account"
            sub = "Type of account"
            yield row(account, str(close), (opening, month_open, fy_open), 1, sub)
            yield row("Supplementary Financing Program Account", "0", (0, 0, 0), 2, sub)
            yield row("Short-Term Cash Investments (Table V)", "0", (0, 0, 0), 3, sub)
        else:
            base = 150_000 + (day.toordinal() * 7919) % 150_000
            deposits = base + max(0, close - opening)
            withdrawals = base + max(0, opening - close)
            month_flows = [month_flows[0] + deposits, month_flows[1] + withdrawals]
            fy_flows = [fy_flows[0] + deposits, fy_flows[1] + withdrawals]
            sub = "Cash Balance Details"
            yield row(
                "Treasury General Account (TGA) Opening Balance",
                "null",
                (opening, month_open, fy_open),
                1,
                sub,
            )
            yield row(
                "Total TGA Deposits (Table II)", "null", (deposits, month_flows[0], fy_flows[0]), 2, sub
            )
            yield row(
                "Total TGA Withdrawals (Table II) (-)",
                "null",
                (withdrawals, month_flows[1], fy_flows[1]),
                3,
                sub,
            )
            yield row("Treasury General Account (TGA) Closing Balance", "null", (close, close, close), 4, sub)
        previous = close


def _dts_row(
    day_iso: str,
    calendar: dict[str, str],
    account: str,
    close_today: str,
    values: tuple[int, int, int],
    line: int,
    sub: str,
) -> dict[str, str]:
    return {
        "record_date": day_iso,
        "account_type": account,
        "close_today_bal": close_today,
        "open_today_bal": str(values[0]),
        "open_month_bal": str(values[1]),
        "open_fiscal_year_bal": str(values[2]),
        "table_nbr": "I",
        "table_nm": "Operating Cash Balance",
        "sub_table_name": sub,
        "src_line_nbr": str(line),
        **calendar,
    }


def _rename(kind: str, body: str) -> str:
    if kind == "fred_csv":
        return "period,value\n" + body.partition("\n")[2]
    for old, new in _RENAMES.get(kind, []):
        body = body.replace(old, new)
    return body


def _wrong_type(kind: str, body: str) -> str:
    """Numbers become a non-numeric string (or a dict), as a silently changed schema would send."""
    if kind == "fred_csv":
        header, _, rest = body.partition("\n")
        lines = [f"{line.split(',', 1)[0]},n/a" for line in rest.splitlines()]
        return header + "\n" + "".join(f"{line}\n" for line in lines)
    payload = json.loads(body)
    if kind == "rates":
        for row in payload["refRates"]:
            row["percentRate"] = "n/a"
    elif kind == "ops":
        for op in payload["repo"]["operations"]:
            op["totalAmtAccepted"] = "n/a"
            for detail in op["details"]:
                detail["amtAccepted"] = {"value": detail["amtAccepted"]}
    elif kind == "fred_json":
        for obs in payload["observations"]:
            obs["value"] = "n/a"
    elif kind == "fiscal":
        for row in payload["data"]:
            row["open_today_bal"] = {"value": row.get("open_today_bal")}
            if row.get("close_today_bal") != "null":
                row["close_today_bal"] = "n/a"
    return _dumps(payload)


def _operation_sort_key(op: Operation) -> tuple[str, str, str]:
    return op["operationDate"], op["releaseTime"], op["operationId"]
