"""NY Fed parsing and fetching, against small fixtures in the real response shapes."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.models import Observation, Operation, SourceError
from bot.sources import nyfed
from bot.sources.http import RetryPolicy, get_parsed

FIXTURES = Path(__file__).parent / "fixtures" / "nyfed"
BASE = "https://markets.example.test"
ONE_TRY = RetryPolicy(attempts=1)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def obs(series: str, day: str, value: float) -> Observation:
    return Observation(series, day, value, "nyfed")


def sofr_row(
    day: str, rate: float, p1: float, p25: float, p75: float, p99: float, vol: float
) -> list[Observation]:
    return [
        obs("sofr", day, rate),
        obs("sofr_p1", day, p1),
        obs("sofr_p25", day, p25),
        obs("sofr_p75", day, p75),
        obs("sofr_p99", day, p99),
        obs("sofr_volume", day, vol),
    ]


def ops_payload(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"repo": {"operations": list(ops)}}


def feb_op(op_id: str) -> dict[str, Any]:
    """A deep copy of one operation of the 2026-02-17/18 fixture, for tweaking."""
    for op in load("rp_2026-02-17_to_02-18.json")["repo"]["operations"]:
        if op["operationId"] == op_id:
            return copy.deepcopy(op)
    raise LookupError(op_id)


# --- rates ----------------------------------------------------------------------------------------------

# Real published values, except where marked plausible.
RATE_CASES = [
    pytest.param(
        "sofr_2024-06-03_to_06-06.json",
        "sofr",
        [
            *sofr_row("2024-06-06", 5.33, 5.29, 5.32, 5.40, 5.44, 2008),
            *sofr_row("2024-06-05", 5.33, 5.30, 5.32, 5.39, 5.43, 1989),
            *sofr_row("2024-06-04", 5.33, 5.29, 5.32, 5.40, 5.44, 2092),
            *sofr_row("2024-06-03", 5.35, 5.29, 5.32, 5.40, 5.44, 1912),
        ],
        id="sofr-2024-06-four-days",
    ),
    pytest.param(
        "sofr_2019-09-17.json",
        "sofr",
        sofr_row("2019-09-17", 5.25, 2.25, 5.00, 5.85, 9.00, 1177),
        id="sofr-2019-09-17-spike",
    ),
    pytest.param(
        # SOFR levels are real; percentiles, volumes and the revision flag are plausible, not published.
        "sofr_2025-10-30_to_10-31.json",
        "sofr",
        [
            *sofr_row("2025-10-31", 4.22, 4.05, 4.15, 4.30, 4.45, 3116),
            *sofr_row("2025-10-30", 4.04, 3.95, 4.00, 4.10, 4.25, 3054),
        ],
        id="sofr-2025-10-31-month-end",
    ),
    pytest.param("sofr_empty.json", "sofr", [], id="empty-window"),
    pytest.param("sofr_empty.json", "effr", [], id="empty-window-effr"),
    pytest.param(
        "effr_2023-06-01_to_06-06.json",
        "effr",
        [
            row
            for day, vol in (
                ("2023-06-06", 144),
                ("2023-06-05", 136),
                ("2023-06-02", 141),
                ("2023-06-01", 131),
            )
            for row in (
                obs("effr", day, 5.08),
                obs("effr_volume", day, vol),
                obs("fed_lower", day, 5.00),
                obs("fed_upper", day, 5.25),
            )
        ],
        id="effr-2023-06-with-target-range",
    ),
    pytest.param(
        "effr_2015-12-17.json",
        "effr",
        [
            obs("effr", "2015-12-17", 0.37),
            obs("fed_lower", "2015-12-17", 0.25),
            obs("fed_upper", "2015-12-17", 0.50),
        ],
        id="effr-2015-liftoff-no-percentiles-or-volume",
    ),
    pytest.param(
        "rates_all_latest_2026-02-06.json",
        "sofr",
        sofr_row("2026-02-05", 3.65, 3.6, 3.63, 3.71, 3.74, 3228),
        id="all-latest-keeps-only-sofr",
    ),
    pytest.param(
        "rates_all_latest_2026-02-06.json",
        "effr",
        [
            obs("effr", "2026-02-05", 3.64),
            obs("effr_volume", "2026-02-05", 110),
            obs("fed_lower", "2026-02-05", 3.5),
            obs("fed_upper", "2026-02-05", 3.75),
        ],
        id="all-latest-keeps-only-effr",
    ),
]


@pytest.mark.parametrize(("fixture", "kind", "expected"), RATE_CASES)
def test_parse_rates(fixture: str, kind: nyfed.RateKind, expected: list[Observation]) -> None:
    assert nyfed.parse_rates(load(fixture), kind) == expected


@pytest.mark.parametrize(
    ("fixture", "kind", "expected"),
    [
        ("sofr_2025-10-30_to_10-31.json", None, {"2025-10-30"}),
        ("sofr_2025-10-30_to_10-31.json", "sofr", {"2025-10-30"}),
        ("sofr_2025-10-30_to_10-31.json", "effr", set()),
        ("sofr_2024-06-03_to_06-06.json", None, set()),
        ("sofr_empty.json", None, set()),
    ],
)
def test_revised_dates(fixture: str, kind: nyfed.RateKind | None, expected: set[str]) -> None:
    assert nyfed.revised_dates(load(fixture), kind) == expected


def test_revised_value_is_still_emitted() -> None:
    values = nyfed.parse_rates(load("sofr_2025-10-30_to_10-31.json"), "sofr")
    assert obs("sofr", "2025-10-30", 4.04) in values


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5.33", 5.33), (" 5.33 ", 5.33), (5, 5.0), (5.33, 5.33)],
)
def test_string_and_int_numbers_accepted(value: object, expected: float) -> None:
    payload = {"refRates": [{"effectiveDate": "2024-06-06", "type": "SOFR", "percentRate": value}]}
    assert nyfed.parse_rates(payload, "sofr") == [obs("sofr", "2024-06-06", expected)]


def test_null_optional_fields_are_skipped() -> None:
    row = {
        "effectiveDate": "2016-03-01",
        "type": "EFFR",
        "percentRate": 0.37,
        "percentPercentile1": None,
        "volumeInBillions": None,
        "targetRateFrom": 0.25,
        "targetRateTo": 0.5,
        "revisionIndicator": "",
    }
    assert nyfed.parse_rates({"refRates": [row]}, "effr") == [
        obs("effr", "2016-03-01", 0.37),
        obs("fed_lower", "2016-03-01", 0.25),
        obs("fed_upper", "2016-03-01", 0.5),
    ]


# --- operations -----------------------------------------------------------------------------------------


def test_parse_operations_2026_02_17_to_18() -> None:
    ops = nyfed.parse_operations(load("rp_2026-02-17_to_02-18.json"))
    assert [op.operation_id for op in ops] == [
        "RP 021826 25", "RP 021826 28", "RP 021826 26", "RP 021826 29",
        "RP 021726 25", "RP 021726 26", "RP 021726 27",
    ]  # fmt: skip
    by_id = {op.operation_id: op for op in ops}
    assert by_id["RP 021726 25"] == Operation(
        operation_id="RP 021726 25",
        operation_date="2026-02-17",
        operation_type="Repo",
        method="Full Allotment",
        settlement_type="Same Day",
        term="Overnight",
        session="AM",
        is_sve=False,
        close_time="08:30",
        total_submitted=11.0,
        total_accepted=11.0,
        rate=3.75,
        treasury=8.0,
        agency=0.0,
        mbs=3.0,
        last_updated="2026-02-17 08:30:44",
        note="",
        release_time="08:15",
    )
    sve = by_id["RP 021826 28"]
    assert (sve.is_sve, sve.session, sve.method) == (True, "", "Multiple Price")
    assert sve.settlement_type == "1 Day Forward"
    assert (sve.total_accepted, sve.treasury, sve.agency, sve.mbs) == (0.056, 0.024, 0.013, 0.019)
    assert sve.rate == 3.75
    assert sve.note.startswith("<p>This operation is a Small Value Exercise (SVE);")
    rrp = by_id["RP 021726 26"]
    assert (rrp.operation_type, rrp.session, rrp.is_sve, rrp.total_accepted, rrp.rate, rrp.treasury) == (
        "Reverse Repo", "", False, 0.441, 3.5, 0.441,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("op_id", "session", "is_sve", "accepted"),
    [
        ("RP 021726 25", "AM", False, 11.0),
        ("RP 021726 27", "PM", False, 19.5),
        ("RP 021726 26", "", False, 0.441),
        ("RP 021826 25", "AM", False, 0.0),
        ("RP 021826 28", "", True, 0.056),
        ("RP 021826 29", "PM", False, 0.004),
        ("RP 021826 26", "", False, 0.856),
    ],
)
def test_sessions_and_sve_flags(op_id: str, session: str, is_sve: bool, accepted: float) -> None:
    ops = {op.operation_id: op for op in nyfed.parse_operations(load("rp_2026-02-17_to_02-18.json"))}
    assert (ops[op_id].session, ops[op_id].is_sve, ops[op_id].total_accepted) == (session, is_sve, accepted)


def test_daily_series_2026_02_17_to_18() -> None:
    ops = nyfed.parse_operations(load("rp_2026-02-17_to_02-18.json"))
    assert nyfed.daily_series(ops) == [
        obs("srf", "2026-02-17", 30.5),
        obs("srf_rate", "2026-02-17", 3.75),
        obs("rrp", "2026-02-17", 0.441),
        obs("rrp_rate", "2026-02-17", 3.5),
        obs("srf", "2026-02-18", 0.004),  # the 0.056 SVE is a test, not usage
        obs("srf_rate", "2026-02-18", 3.75),
        obs("rrp", "2026-02-18", 0.856),
        obs("rrp_rate", "2026-02-18", 3.5),
    ]


def test_daily_series_2025_10_31_multiple_price_srf() -> None:
    # Total SRF take-up, SOFR and ON RRP are the published figures; the AM/PM split is plausible.
    ops = nyfed.parse_operations(load("rp_2025-10-31.json"))
    assert [(op.method, op.session, op.is_sve) for op in ops] == [
        ("Multiple Price", "AM", False),
        ("Fixed Rate", "", False),
        ("Multiple Price", "PM", False),
    ]
    assert nyfed.daily_series(ops) == [
        obs("srf", "2025-10-31", 50.35),
        obs("srf_rate", "2025-10-31", 4.0),
        obs("rrp", "2025-10-31", 51.802),
        obs("rrp_rate", "2025-10-31", 3.75),
    ]


def test_sve_only_day_yields_no_srf_row() -> None:
    ops = nyfed.parse_operations(ops_payload(feb_op("RP 021826 28"), feb_op("RP 021826 26")))
    assert nyfed.daily_series(ops) == [obs("rrp", "2026-02-18", 0.856), obs("rrp_rate", "2026-02-18", 3.5)]


def test_term_repo_is_not_srf() -> None:
    term = feb_op("RP 021726 27")
    term |= {
        "operationId": "RP 021726 30",
        "term": "14-Day",
        "termCalenderDays": 14,
        "maturityDate": "2026-03-03",
    }
    ops = nyfed.parse_operations(ops_payload(feb_op("RP 021726 25"), term))
    assert [op.term for op in ops] == ["Overnight", "14-Day"]
    assert nyfed.daily_series(ops) == [obs("srf", "2026-02-17", 11.0), obs("srf_rate", "2026-02-17", 3.75)]


def test_duplicate_operation_counted_once() -> None:
    ops = nyfed.parse_operations(ops_payload(feb_op("RP 021726 25"), feb_op("RP 021726 25")))
    assert nyfed.daily_series(ops)[0] == obs("srf", "2026-02-17", 11.0)


def test_announced_operation_is_skipped() -> None:
    announced = {
        "operationId": "RP 021926 25", "auctionStatus": "Announcement", "operationDate": "2026-02-19",
        "operationType": "Repo", "operationMethod": "Full Allotment", "term": "Overnight",
    }  # fmt: skip
    ops = nyfed.parse_operations(ops_payload(announced, feb_op("RP 021726 25")))
    assert [op.operation_id for op in ops] == ["RP 021726 25"]


def test_missing_collateral_detail_is_zero_and_reverse_repo_falls_back_to_offering_rate() -> None:
    rrp = feb_op("RP 021726 26")
    del rrp["details"][0]["percentAwardRate"]
    repo = feb_op("RP 021726 25")
    repo["details"] = [d for d in repo["details"] if d["securityType"] != "Mortgage-Backed"]
    parsed = nyfed.parse_operations(ops_payload(rrp, repo))
    assert parsed[0].rate == 3.5
    assert (parsed[1].treasury, parsed[1].agency, parsed[1].mbs) == (8.0, 0.0, 0.0)


def test_no_rate_in_details_gives_none() -> None:
    repo = feb_op("RP 021726 25")
    for detail in repo["details"]:
        del detail["minimumBidRate"]
    [op] = nyfed.parse_operations(ops_payload(repo))
    assert op.rate is None
    assert nyfed.daily_series([op]) == [obs("srf", "2026-02-17", 11.0)]


@pytest.mark.parametrize(
    ("note", "method", "settlement", "limit", "is_sve"),
    [
        ("<p>This operation is a Small Value Exercise (SVE).</p>", "Full Allotment", "Same Day", None, True),
        ("<p>small&nbsp;value&nbsp;exercise</p>", "Full Allotment", "Same Day", None, True),
        ("<p>An <b>sve</b> at 10:30am.</p>", "Full Allotment", "Same Day", None, True),
        ("<p>Results were revised.</p>", "Multiple Price", "1 Day Forward", 100_000_000, False),
        ("<p>SVEN is not a word match.</p>", "Full Allotment", "Same Day", None, False),
        ("", "Multiple Price", "1 Day Forward", 100_000_000, True),
        ("", "Multiple Price", "Same Day", 500_000_000_000, False),  # pre-2025-12-11 SRF
        ("", "Full Allotment", "1 Day Forward", 100_000_000, False),
        ("", "Multiple Price", "1 Day Forward", None, False),
        ("", "Multiple Price", "1 Day Forward", 0, False),
    ],
)
def test_sve_detection(note: str, method: str, settlement: str, limit: int | None, is_sve: bool) -> None:
    op = feb_op("RP 021826 29")
    op |= {"note": note, "operationMethod": method, "settlementType": settlement}
    if limit is not None:
        op["operationLimit"] = limit
    [parsed] = nyfed.parse_operations(ops_payload(op))
    assert parsed.is_sve is is_sve
    assert parsed.session == ("" if is_sve else "PM")


# --- garbage --------------------------------------------------------------------------------------------


_DELETE = object()


def _with(op_id: str, **changes: Any) -> dict[str, Any]:
    op = feb_op(op_id)
    for key, value in changes.items():
        if value is _DELETE:
            del op[key]
        else:
            op[key] = value
    return ops_payload(op)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("<html><body>Service Unavailable</body></html>", ["no repo.operations list", "HTML"]),
        (None, ["no repo.operations list", "null"]),
        ([], ["no repo.operations list"]),
        ({"repo": {}}, ["no repo.operations list"]),
        ({"repo": {"operations": {"a": 1}}}, ["no repo.operations list"]),
        ({"repo": {"operations": ["x"]}}, ["operations[0]", "not an object"]),
        (_with("RP 021726 25", totalAmtAccepted="abc"), ["RP 021726 25", "totalAmtAccepted", "'abc'"]),
        (_with("RP 021726 25", totalAmtAccepted=True), ["RP 021726 25", "totalAmtAccepted", "not a number"]),
        (_with("RP 021726 25", totalAmtAccepted=-5), ["RP 021726 25", "totalAmtAccepted", "negative"]),
        (_with("RP 021726 25", totalAmtSubmitted=_DELETE), ["RP 021726 25", "totalAmtSubmitted", "missing"]),
        (_with("RP 021726 25", operationDate=_DELETE), ["RP 021726 25", "operationDate", "missing"]),
        (_with("RP 021726 25", operationDate="02/17/2026"), ["RP 021726 25", "operationDate", "YYYY-MM-DD"]),
        (_with("RP 021726 25", operationId=_DELETE), ["operations[0]", "operationId"]),
        (_with("RP 021726 25", operationType=None), ["RP 021726 25", "operationType", "missing"]),
        (_with("RP 021726 25", term=1), ["RP 021726 25", "term", "not text"]),
        (_with("RP 021726 25", details="none"), ["RP 021726 25", "details", "not a list"]),
        (
            _with("RP 021726 25", details=[{"securityType": "Treasury", "amtAccepted": "x"}]),
            ["RP 021726 25", "details[0]", "amtAccepted", "'x'"],
        ),
        (_with("RP 021726 25", details=[7]), ["RP 021726 25", "details[0]", "not an object"]),
        (_with("RP 021826 28", operationLimit="lots"), ["RP 021826 28", "operationLimit"]),
    ],
)
def test_parse_operations_garbage(payload: object, words: list[str]) -> None:
    with pytest.raises(SourceError) as caught:
        nyfed.parse_operations(payload)
    assert caught.value.source == "nyfed"
    for word in words:
        assert word in caught.value.problem


def _sofr(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "effectiveDate": "2024-06-06",
        "type": "SOFR",
        "percentRate": 5.33,
        "percentPercentile1": 5.29,
        "volumeInBillions": 2008,
        "revisionIndicator": "",
    }
    for key, value in changes.items():
        if value is _DELETE:
            del row[key]
        else:
            row[key] = value
    return {"refRates": [row]}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("<!DOCTYPE html><html>maintenance</html>", ["changed schema: no refRates list", "HTML"]),
        ({"refRates": {"SOFR": 5.33}}, ["changed schema: no refRates list"]),
        ({"refrates": []}, ["changed schema: no refRates list", "refrates"]),
        ({}, ["changed schema: no refRates list", "empty object"]),
        (None, ["changed schema: no refRates list"]),
        (_sofr(percentRate=None), ["SOFR 2024-06-06", "percentRate is null"]),
        (_sofr(percentRate=_DELETE), ["SOFR 2024-06-06", "percentRate is missing"]),
        (_sofr(percentRate="n/a"), ["SOFR 2024-06-06", "percentRate", "'n/a'", "not a number"]),
        (_sofr(percentRate=True), ["SOFR 2024-06-06", "percentRate", "not a number"]),
        (_sofr(percentRate="nan"), ["SOFR 2024-06-06", "percentRate", "not a finite number"]),
        (_sofr(percentRate=[5.33]), ["SOFR 2024-06-06", "percentRate", "a list"]),
        (_sofr(percentRate=10**400), ["SOFR 2024-06-06", "percentRate", "not a number"]),
        (_sofr(percentRate=float("inf")), ["SOFR 2024-06-06", "percentRate", "not a finite number"]),
        (_sofr(volumeInBillions=float("nan")), ["SOFR 2024-06-06", "volumeInBillions", "not a finite"]),
        (_sofr(volumeInBillions="2,008"), ["SOFR 2024-06-06", "volumeInBillions", "'2,008'"]),
        (_sofr(percentPercentile1={}), ["SOFR 2024-06-06", "percentPercentile1"]),
        (_sofr(effectiveDate="2024-6-6"), ["effectiveDate", "'2024-6-6'", "YYYY-MM-DD"]),
        (_sofr(effectiveDate="2024-02-30"), ["effectiveDate", "'2024-02-30'"]),
        (_sofr(effectiveDate=_DELETE), ["effectiveDate", "missing"]),
        (_sofr(type=_DELETE), ["refRates[0]", "type"]),
        ({"refRates": [None]}, ["refRates[0]", "not an object"]),
    ],
)
def test_parse_rates_garbage(payload: object, words: list[str]) -> None:
    with pytest.raises(SourceError) as caught:
        nyfed.parse_rates(payload, "sofr")
    assert caught.value.source == "nyfed"
    for word in words:
        assert word in caught.value.problem


@pytest.mark.parametrize("payload", ["<html></html>", {"refRates": "none"}, {"refRates": [3]}])
def test_revised_dates_garbage(payload: object) -> None:
    with pytest.raises(SourceError):
        nyfed.revised_dates(payload)


# --- endpoints and fetching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "max_days", "expected"),
    [
        (date(2026, 2, 17), date(2026, 2, 17), 365, [(date(2026, 2, 17), date(2026, 2, 17))]),
        (date(2026, 2, 18), date(2026, 2, 17), 365, []),
        (date(2025, 1, 1), date(2025, 12, 31), 365, [(date(2025, 1, 1), date(2025, 12, 31))]),
        (
            date(2024, 1, 1),
            date(2024, 12, 31),
            365,
            [(date(2024, 1, 1), date(2024, 12, 30)), (date(2024, 12, 31), date(2024, 12, 31))],
        ),
        (
            date(2003, 1, 1),
            date(2005, 6, 30),
            365,
            [
                (date(2003, 1, 1), date(2003, 12, 31)),
                (date(2004, 1, 1), date(2004, 12, 30)),
                (date(2004, 12, 31), date(2005, 6, 30)),
            ],
        ),
    ],
)
def test_date_windows(start: date, end: date, max_days: int, expected: list[tuple[date, date]]) -> None:
    assert nyfed.date_windows(start, end, max_days) == expected


@pytest.mark.parametrize(
    ("base", "kind", "url"),
    [
        (
            "https://markets.newyorkfed.org",
            "sofr",
            "https://markets.newyorkfed.org/api/rates/secured/sofr/search.json",
        ),
        (
            "https://markets.newyorkfed.org/",
            "effr",
            "https://markets.newyorkfed.org/api/rates/unsecured/effr/search.json",
        ),
        (
            "http://127.0.0.1:8080/mirror",
            "sofr",
            "http://127.0.0.1:8080/mirror/api/rates/secured/sofr/search.json",
        ),
    ],
)
def test_rates_url(base: str, kind: nyfed.RateKind, url: str) -> None:
    assert nyfed.rates_url(base, kind) == url


def test_operations_url() -> None:
    assert nyfed.operations_url("https://markets.newyorkfed.org") == (
        "https://markets.newyorkfed.org/api/rp/results/search.json"
    )


class Recorder:
    """A MockTransport handler serving fixtures by path and recording each request."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        self.requests.append((request.url.path, params["startDate"], params["endDate"]))
        body = self.routes[request.url.path]
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(200, json=body)


def client_for(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


SOFR_PATH = "/api/rates/secured/sofr/search.json"
EFFR_PATH = "/api/rates/unsecured/effr/search.json"
RP_PATH = "/api/rp/results/search.json"
BGCR_PATH = "/api/rates/secured/bgcr/search.json"
TGCR_PATH = "/api/rates/secured/tgcr/search.json"


async def test_fetch_rates_builds_request_and_returns_oldest_first() -> None:
    recorder = Recorder({SOFR_PATH: load("sofr_2024-06-03_to_06-06.json")})
    async with client_for(recorder) as client:
        got = await nyfed.fetch_rates(client, BASE, "sofr", date(2024, 6, 1), date(2024, 6, 6))
    assert recorder.requests == [(SOFR_PATH, "2024-06-01", "2024-06-06")]
    days = ["2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06"]
    assert [o.date for o in got if o.series == "sofr"] == days
    assert got[:2] == [obs("sofr", "2024-06-03", 5.35), obs("sofr_p1", "2024-06-03", 5.29)]
    assert len(got) == 24


async def test_fetch_rates_query_string_is_exact() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"refRates": []})

    async with client_for(handler) as client:
        assert await nyfed.fetch_rates(client, BASE, "effr", date(2023, 1, 1), date(2023, 6, 6)) == []
    assert seen == [f"{BASE}/api/rates/unsecured/effr/search.json?startDate=2023-01-01&endDate=2023-06-06"]


async def test_fetch_rates_splits_long_ranges_into_three_year_windows() -> None:
    recorder = Recorder({EFFR_PATH: {"refRates": []}})
    async with client_for(recorder) as client:
        await nyfed.fetch_rates(client, BASE, "effr", date(2016, 3, 1), date(2026, 2, 18))
    assert recorder.requests == [
        (EFFR_PATH, "2016-03-01", "2019-02-28"),
        (EFFR_PATH, "2019-03-01", "2022-02-27"),
        (EFFR_PATH, "2022-02-28", "2025-02-26"),
        (EFFR_PATH, "2025-02-27", "2026-02-18"),
    ]


async def test_fetch_operations_windows_oldest_first() -> None:
    recorder = Recorder({RP_PATH: {"repo": {"operations": []}}})
    async with client_for(recorder) as client:
        assert await nyfed.fetch_operations(client, BASE, date(2003, 1, 1), date(2005, 6, 30)) == []
    assert recorder.requests == [
        (RP_PATH, "2003-01-01", "2003-12-31"),
        (RP_PATH, "2004-01-01", "2004-12-30"),
        (RP_PATH, "2004-12-31", "2005-06-30"),
    ]


async def test_fetch_operations_backfill_since_2003_is_one_request_per_year() -> None:
    recorder = Recorder({RP_PATH: {"repo": {"operations": []}}})
    async with client_for(recorder) as client:
        await nyfed.fetch_operations(client, BASE, date(2003, 1, 1), date(2026, 2, 18))
    assert len(recorder.requests) == 24
    assert recorder.requests[0] == (RP_PATH, "2003-01-01", "2003-12-31")
    assert recorder.requests[-1][2] == "2026-02-18"
    assert all(a[2] < b[1] for a, b in itertools.pairwise(recorder.requests))


async def test_fetch_returns_batch() -> None:
    recorder = Recorder(
        {
            SOFR_PATH: load("sofr_2024-06-03_to_06-06.json"),
            EFFR_PATH: load("effr_2023-06-01_to_06-06.json"),
            RP_PATH: load("rp_2026-02-17_to_02-18.json"),
            BGCR_PATH: load("gc_rates_2026-02-05.json"),
            TGCR_PATH: load("gc_rates_2026-02-05.json"),
        }
    )
    async with client_for(recorder) as client:
        batch = await nyfed.fetch(client, BASE, date(2026, 2, 17), date(2026, 2, 18))
    assert sorted(recorder.requests) == [
        (BGCR_PATH, "2026-02-17", "2026-02-18"),
        (SOFR_PATH, "2026-02-17", "2026-02-18"),
        (TGCR_PATH, "2026-02-17", "2026-02-18"),
        (EFFR_PATH, "2026-02-17", "2026-02-18"),
        (RP_PATH, "2026-02-17", "2026-02-18"),
    ]
    assert batch.source == "nyfed"
    assert len(batch.operations) == 7
    assert [op.operation_date for op in batch.operations] == ["2026-02-17"] * 3 + ["2026-02-18"] * 4
    series = {o.series for o in batch.observations}
    assert series == {
        "sofr", "sofr_p1", "sofr_p25", "sofr_p75", "sofr_p99", "sofr_volume",
        "effr", "effr_volume", "fed_lower", "fed_upper", "srf", "srf_rate", "rrp", "rrp_rate",
        "bgcr", "bgcr_volume", "tgcr", "tgcr_volume",
    }  # fmt: skip
    assert batch.errors == []
    assert obs("srf", "2026-02-17", 30.5) in batch.observations
    assert obs("srf", "2026-02-18", 0.004) in batch.observations
    assert all(o.source == "nyfed" for o in batch.observations)


async def test_fetch_gc_rates_fail_alone() -> None:
    """BGCR and TGCR down: SOFR, EFFR and the operations are still stored, and the batch says what failed."""
    recorder = Recorder(
        {
            SOFR_PATH: load("sofr_2024-06-03_to_06-06.json"),
            EFFR_PATH: load("effr_2023-06-01_to_06-06.json"),
            RP_PATH: load("rp_2026-02-17_to_02-18.json"),
            BGCR_PATH: httpx.Response(404, json={"message": "Not Found"}),
            TGCR_PATH: load("gc_rates_2026-02-05.json"),
        }
    )
    async with client_for(recorder) as client:
        batch = await nyfed.fetch(client, BASE, date(2026, 2, 17), date(2026, 2, 18), policy=ONE_TRY)
    assert batch.errors == ["BGCR: HTTP 404 (Not Found)"]
    series = {o.series for o in batch.observations}
    assert {"sofr", "effr", "srf", "tgcr", "tgcr_volume"} <= series and "bgcr" not in series


async def test_fetch_raises_the_failing_source_error_and_cancels_the_rest() -> None:
    cancelled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EFFR_PATH:
            return httpx.Response(404, json={"message": "Not Found"})
        if request.url.path == RP_PATH:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return httpx.Response(200, json={"refRates": []})

    async with client_for(handler) as client:
        with pytest.raises(SourceError) as caught:
            await asyncio.wait_for(nyfed.fetch(client, BASE, date(2026, 2, 17), date(2026, 2, 18)), 5)
    assert caught.value.source == "nyfed"
    assert caught.value.problem == "HTTP 404 (Not Found)"
    assert cancelled.is_set()


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (
            httpx.Response(200, text="<html><body>Maintenance</body></html>"),
            "expected JSON but got an HTML page",
        ),
        (httpx.Response(200, json={"repo": {}}), "changed schema: no repo.operations list"),
        (httpx.Response(503), "HTTP 503 after 1 attempts"),
    ],
)
async def test_fetch_operations_bad_responses(response: httpx.Response, problem: str) -> None:
    recorder = Recorder({RP_PATH: response})
    async with client_for(recorder) as client:
        with pytest.raises(SourceError) as caught:
            await nyfed.fetch_operations(client, BASE, date(2026, 2, 17), date(2026, 2, 18), policy=ONE_TRY)
    assert caught.value.problem.startswith(problem)


class InFlight:
    """An async handler that answers after a pause and records how many requests overlapped."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.windows: list[tuple[str, str, str]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        params = request.url.params
        self.windows.append((request.url.path, params["startDate"], params["endDate"]))
        await asyncio.sleep(0.01)
        self.now -= 1
        if request.url.path == RP_PATH:
            return httpx.Response(200, json={"repo": {"operations": []}})
        return httpx.Response(200, json={"refRates": []})


async def test_a_backfill_fetches_windows_in_parallel_within_the_limit() -> None:
    handler = InFlight()
    async with client_for(handler) as client:
        batch = await nyfed.fetch(client, BASE, date(2000, 1, 1), date(2026, 6, 30))
    assert batch.observations == [] and batch.operations == []
    # Three-year windows from the day each rate began (EFFR 2000-07-03: 9; SOFR, BGCR and TGCR 2018-04-02:
    # 3 each) and 27 one-year operation windows, never more than 8 at once: the general-collateral rates
    # share the source's one budget.
    firsts = {path: min(w[1] for w in handler.windows if w[0] == path) for path, _, _ in handler.windows}
    assert firsts == {
        EFFR_PATH: "2000-07-03",
        SOFR_PATH: "2018-04-02",
        BGCR_PATH: "2018-04-02",
        TGCR_PATH: "2018-04-02",
        RP_PATH: "2000-01-01",
    }
    assert len(handler.windows) == 9 + 3 * 3 + 27
    assert sorted(w for w in handler.windows if w[0] == RP_PATH)[0] == (RP_PATH, "2000-01-01", "2000-12-30")
    assert handler.most == nyfed.CONCURRENCY == 8


async def test_the_budget_is_held_for_a_request_not_for_parsing_its_body() -> None:
    """With one request allowed at a time, the next window goes out while a body is still parsed (parsing
    runs on the one CPU thread, so its parse waits its turn, but its request does not)."""
    parsing, release = threading.Event(), threading.Event()
    requests: list[str] = []

    def slow(payload: object) -> object:
        parsing.set()
        release.wait(5)
        return payload

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return httpx.Response(200, json={"repo": {"operations": []}})

    gate = asyncio.Semaphore(1)
    url = BASE + RP_PATH
    async with client_for(answer) as client:
        first = asyncio.create_task(get_parsed(client, "nyfed", url, None, slow, ONE_TRY, gate))
        await asyncio.to_thread(parsing.wait, 5)
        second = asyncio.create_task(
            get_parsed(client, "nyfed", url, None, nyfed.parse_operations, ONE_TRY, gate)
        )
        try:
            for _ in range(200):  # up to 2 s for the second request to reach the server
                if len(requests) == 2:
                    break
                await asyncio.sleep(0.01)
            assert len(requests) == 2 and not first.done()  # sent while the first body was being parsed
        finally:
            release.set()
        assert await second == [] and await first == {"repo": {"operations": []}}


async def test_windows_fetched_out_of_order_come_back_oldest_first() -> None:
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        low, high = request.url.params["startDate"], request.url.params["endDate"]
        # The older a window, the later its answer: they complete newest first.
        await asyncio.sleep((2030 - int(low[:4])) * 0.005)
        order.append(low)
        if low <= "2024-06-03" <= high:
            return httpx.Response(200, json=load("sofr_2024-06-03_to_06-06.json"))
        body = {"refRates": [{"effectiveDate": high, "type": "SOFR", "percentRate": 1.0}]}
        return httpx.Response(200, json=body)

    async with client_for(handler) as client:
        got = await nyfed.fetch_rates(client, BASE, "sofr", date(2018, 1, 1), date(2026, 2, 18))
    assert order != sorted(order)
    days = [o.date for o in got if o.series == "sofr"]
    assert days == sorted(days) and {"2024-06-03", "2024-06-06"} <= set(days)


async def test_one_failing_window_fails_the_fetch_and_cancels_the_rest() -> None:
    started: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        started.append(request.url.params["startDate"])
        if len(started) == 2:
            return httpx.Response(400, json={"error": "bad window"})
        await asyncio.sleep(0.05)
        return httpx.Response(200, json={"repo": {"operations": []}})

    async with client_for(handler) as client:
        with pytest.raises(SourceError) as info:
            await nyfed.fetch_operations(client, BASE, date(2000, 1, 1), date(2026, 6, 30), policy=ONE_TRY)
    assert info.value.source == "nyfed"
    assert len(started) < 27  # the windows still queued were never requested
