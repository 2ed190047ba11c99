"""FRED parsing: both CSV headers, missing values, unit conversion, the JSON API and its failures."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.core.models import Observation, SourceError
from bot.sources import fred

FIXTURES = Path(__file__).parent / "fixtures" / "fred"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"
CSV_URL = "https://fred.test/graph/fredgraph.csv"
API_URL = "https://api.fred.test/fred"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def fixture_json(name: str) -> object:
    return json.loads(fixture_text(name))


@pytest.mark.parametrize(
    ("name", "fred_id", "expected"),
    [
        (
            "SOFR_fredgraph_blank.csv",
            "SOFR",
            [("2018-05-24", 1.74), ("2018-05-25", 1.73), ("2018-05-29", 1.72)],
        ),
        (
            "SOFR_fredgraph_DATE_header.csv",
            "SOFR",
            [("2018-05-24", 1.74), ("2018-05-25", 1.73), ("2018-05-29", 1.72)],
        ),
        (
            "IORB_fredgraph.csv",
            "IORB",
            [
                ("2025-12-08", 3.9),
                ("2025-12-09", 3.9),
                ("2025-12-10", 3.9),
                ("2025-12-11", 3.65),
                ("2025-12-12", 3.65),
                ("2025-12-13", 3.65),
            ],
        ),
        (
            "WRESBAL_fredgraph_bom_crlf.csv",
            "WRESBAL",
            [
                ("2026-05-06", 3032588.0),
                ("2026-05-13", 3102810.0),
                ("2026-05-20", 3129562.0),
                ("2026-05-27", 3066560.0),
                ("2026-06-03", 3013902.0),
                ("2026-06-10", 3080723.0),
                ("2026-06-17", 3033444.0),
            ],
        ),
    ],
)
def test_parse_csv_fixtures(name: str, fred_id: str, expected: list[tuple[str, float]]) -> None:
    assert fred.parse_csv(fixture_text(name), fred_id) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("observation_date,IORB\n2026-06-23,3.65\n", [("2026-06-23", 3.65)], id="current"),
        pytest.param("DATE,IORB\r\n2021-07-29,0.15\r\n", [("2021-07-29", 0.15)], id="old-DATE-crlf"),
        pytest.param("\ufeffobservation_date,IORB\n2021-07-29,0.15\n", [("2021-07-29", 0.15)], id="bom"),
        pytest.param(
            "observation_date,IORB\n2021-07-29,2.0\n2021-07-30,0.40\n",
            [("2021-07-29", 2.0), ("2021-07-30", 0.4)],
            id="unpadded",
        ),
        pytest.param("observation_date,IORB\n2021-07-29,-0.01\n", [("2021-07-29", -0.01)], id="negative"),
        pytest.param("observation_date,IORB\n2021-07-29,\n2021-07-30,.\n", [], id="all-missing"),
        pytest.param("observation_date,IORB\n", [], id="header-only"),
        pytest.param(
            "observation_date,IORB\n\n2021-07-29,0.15\n\n", [("2021-07-29", 0.15)], id="blank-lines"
        ),
    ],
)
def test_parse_csv_cases(text: str, expected: list[tuple[str, float]]) -> None:
    assert fred.parse_csv(text, "IORB") == expected


def test_missing_value_is_skipped_never_zero() -> None:
    rows = fred.parse_csv(fixture_text("SOFR_fredgraph_blank.csv"), "SOFR")
    assert "2018-05-28" not in {day for day, _ in rows}
    assert 0.0 not in {value for _, value in rows}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("", "empty CSV body", id="empty"),
        pytest.param("  \n", "empty CSV body", id="whitespace"),
        pytest.param(fixture_text("error_page.html"), "HTML page", id="html"),
        pytest.param(
            "observation_date,WALCL\n2026-07-29,6738190\n", "unexpected CSV header", id="other-series"
        ),
        pytest.param(
            fixture_text("WTREGEN_processed_date_value.csv"),
            "unexpected CSV header",
            id="processed-date-value",
        ),
        pytest.param("observation_da", "truncated CSV", id="truncated-header"),
        # A body cut mid-number would otherwise parse: "3.65" -> "3.6".
        pytest.param("observation_date,IORB\n2021-07-29,3.6", "truncated CSV", id="no-final-newline"),
        pytest.param(
            "observation_date,IORB,EXTRA\n2026-06-23,3.65,1\n", "unexpected CSV header", id="three-columns"
        ),
        pytest.param(
            "observation_date,IORB\n2026-06-23,3.65\n2026-06-2",
            "truncated CSV",
            id="truncated-row",
        ),
        pytest.param(
            "observation_date,IORB\n06/23/2026,3.65\n", "line 2: malformed date '06/23/2026'", id="us-date"
        ),
        pytest.param(
            "observation_date,IORB\n2026-02-30,3.65\n",
            "line 2: malformed date '2026-02-30'",
            id="impossible-date",
        ),
        pytest.param("observation_date,IORB\n2026-06-23\n", "line 2: expected 2 fields", id="one-field"),
        pytest.param(
            "observation_date,IORB\n2026-06-23,3.65,x\n", "line 2: expected 2 fields", id="three-fields"
        ),
        pytest.param(
            "observation_date,IORB\n2026-06-23,#N/A\n",
            "2026-06-23 (line 2): non-numeric value '#N/A'",
            id="na",
        ),
        pytest.param(
            "observation_date,IORB\n2026-06-23,nan\n",
            "2026-06-23 (line 2): non-numeric value 'nan'",
            id="nan",
        ),
        pytest.param(
            "observation_date,IORB\n2026-06-23,1_000\n", "non-numeric value '1_000'", id="underscore"
        ),
        pytest.param("observation_date,IORB\n2026-06-23,1e999\n", "non-numeric value '1e999'", id="overflow"),
    ],
)
def test_parse_csv_rejects(text: str, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        fred.parse_csv(text, "IORB")
    assert info.value.source == "fred"
    assert "IORB" in info.value.problem
    assert fragment in info.value.problem


@pytest.mark.parametrize(
    ("name", "fred_id", "expected"),
    [
        (
            "api_series_observations_SOFR_2018-05-24_2018-05-29.json",
            "SOFR",
            [("2018-05-24", 1.74), ("2018-05-25", 1.73), ("2018-05-29", 1.72)],
        ),
        (
            "api_series_observations_WALCL_2026-07-01_2026-07-29.json",
            "WALCL",
            [
                ("2026-07-01", 6724564.0),
                ("2026-07-08", 6735609.0),
                ("2026-07-15", 6743028.0),
                ("2026-07-22", 6747378.0),
                ("2026-07-29", 6738190.0),
            ],
        ),
    ],
)
def test_parse_json_fixtures(name: str, fred_id: str, expected: list[tuple[str, float]]) -> None:
    assert fred.parse_json(fixture_json(name), fred_id) == expected


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        pytest.param(
            fixture_json("api_error_series_does_not_exist.json"),
            "API error 400: Bad Request.  The series",
            id="no-series",
        ),
        pytest.param(
            fixture_json("api_error_bad_api_key.json"),
            "API error 400: Bad Request.  The value for",
            id="bad-key",
        ),
        pytest.param({"error_code": 429}, "API error 429: no message", id="no-message"),
        pytest.param(
            {"realtime_start": "2026-07-31", "count": 0},
            "changed schema: no 'observations'",
            id="no-observations",
        ),
        pytest.param(
            {"observations": {"date": "2026-07-29"}},
            "changed schema: no 'observations'",
            id="observations-not-list",
        ),
        pytest.param([], "changed schema: expected a JSON object, got list", id="list-body"),
        pytest.param(
            "observation_date,IORB", "changed schema: expected a JSON object, got str", id="string-body"
        ),
        pytest.param(
            {"observations": ["2026-07-29"]}, "changed schema: observation 0 is str", id="row-not-object"
        ),
        pytest.param(
            {"observations": [{"date": "2026-07-29", "value": 3.65}]},
            "2026-07-29: value is float",
            id="number-value",
        ),
        pytest.param(
            {"observations": [{"date": "2026-07-29"}]}, "2026-07-29: value is NoneType", id="no-value"
        ),
        pytest.param(
            {"observations": [{"date": "29/07/2026", "value": "3.65"}]},
            "observation 0: malformed date",
            id="bad-date",
        ),
        pytest.param(
            {"observations": [{"value": "3.65"}]}, "observation 0: malformed date 'None'", id="no-date"
        ),
        pytest.param(
            {"observations": [{"date": "2026-07-29", "value": "n/a"}]},
            "2026-07-29: non-numeric value 'n/a'",
            id="bad-value",
        ),
    ],
)
def test_parse_json_rejects(payload: object, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        fred.parse_json(payload, "IORB")
    assert info.value.source == "fred"
    assert info.value.problem.startswith("IORB: ")
    assert fragment in info.value.problem


def test_parse_json_missing_markers() -> None:
    payload = {"observations": [{"date": "2026-07-29", "value": v} for v in (".", "", " . ")]}
    assert fred.parse_json(payload, "IORB") == []


@pytest.mark.parametrize(
    ("fred_id", "rows", "expected"),
    [
        ("WALCL", [("2026-07-29", 6738190.0)], [Observation("fed_assets", "2026-07-29", 6738.19, "fred")]),
        ("WALCL", [("2002-12-18", 719542.0)], [Observation("fed_assets", "2002-12-18", 719.542, "fred")]),
        ("WRESBAL", [("2026-06-17", 3033444.0)], [Observation("reserves", "2026-06-17", 3033.444, "fred")]),
        ("WRESBAL", [("2021-06-23", 3808042.0)], [Observation("reserves", "2021-06-23", 3808.042, "fred")]),
        ("IORB", [("2025-12-11", 3.65)], [Observation("iorb", "2025-12-11", 3.65, "fred")]),
        ("DFEDTARU", [("2025-12-11", 3.75)], [Observation("fed_upper", "2025-12-11", 3.75, "fred")]),
        ("DFEDTARL", [("2025-12-11", 3.5)], [Observation("fed_lower", "2025-12-11", 3.5, "fred")]),
        ("WALCL", [], []),
    ],
)
def test_to_observations(fred_id: str, rows: list[tuple[str, float]], expected: list[Observation]) -> None:
    assert fred.to_observations(fred_id, rows) == expected


def test_to_observations_unknown_series() -> None:
    with pytest.raises(ValueError, match="SOFR"):
        fred.to_observations("SOFR", [("2018-05-29", 1.72)])


def test_catalog_mapping() -> None:
    assert fred.FRED_SERIES == {
        "IORB": ("iorb", 1.0),
        "DFEDTARU": ("fed_upper", 1.0),
        "DFEDTARL": ("fed_lower", 1.0),
        "WRESBAL": ("reserves", 0.001),
        "WALCL": ("fed_assets", 0.001),
        "WMTSECL1": ("custody", 0.001),
        "TASACBW027SBOG": ("bank_treasuries", 1.0),
    }


def test_buyer_series_refuse_implausible_levels() -> None:
    """Custody in billions where millions are expected ($2.9B, not $2.9T) is a broken feed."""
    with pytest.raises(SourceError, match=r"implausible value 2\.9B"):
        fred.to_observations("WMTSECL1", [("2025-10-29", 2900.0)])
    assert fred.to_observations("WMTSECL1", [("2025-10-29", 2_895_000.0)]) == [
        Observation("custody", "2025-10-29", 2895.0, "fred")
    ]


# The buyer series are checked for plausible levels: custody-sized ($mn) and bank-sized ($bn) values.
_SCALE = {"WMTSECL1": 1_000_000, "TASACBW027SBOG": 1_000}


def _value(fred_id: str, value: float) -> str:
    return f"{value * _SCALE.get(fred_id, 1):.2f}"


def _csv_body(fred_id: str) -> str:
    a, b = _value(fred_id, 3.65), _value(fred_id, 3.90)
    return f"observation_date,{fred_id}\n2026-06-10,{a}\n2026-06-17,\n2026-06-24,{b}\n"


def _json_body(fred_id: str) -> dict[str, object]:
    return {
        "count": 3,
        "observations": [
            {"realtime_start": "2026-07-31", "realtime_end": "2026-07-31", "date": day, "value": value}
            for day, value in (
                ("2026-06-10", _value(fred_id, 3.65)),
                ("2026-06-17", "."),
                ("2026-06-24", _value(fred_id, 3.90)),
            )
        ],
    }


async def test_fetch_series_keyless_csv_drops_rows_before_start() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, text=fixture_text("WALCL_fredgraph.csv"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        got = await fred.fetch_series(
            client, "WALCL", csv_url=CSV_URL, api_url=API_URL, api_key=None, start=date(2026, 7, 15)
        )
    assert [str(url) for url in seen] == [f"{CSV_URL}?id=WALCL&cosd=2026-07-15"]
    assert got == [
        Observation("fed_assets", "2026-07-15", 6743.028, "fred"),
        Observation("fed_assets", "2026-07-22", 6747.378, "fred"),
        Observation("fed_assets", "2026-07-29", 6738.19, "fred"),
    ]


async def test_fetch_series_json_api() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        body = fixture_text("api_series_observations_WALCL_2026-07-01_2026-07-29.json")
        return httpx.Response(200, text=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        got = await fred.fetch_series(
            client, "WALCL", csv_url=CSV_URL, api_url=API_URL + "/", api_key="k3y", start=date(2026, 7, 22)
        )
    assert seen[0].path == "/fred/series/observations"
    assert dict(seen[0].params) == {
        "series_id": "WALCL",
        "api_key": "k3y",
        "file_type": "json",
        "observation_start": "2026-07-22",
    }
    assert got == [
        Observation("fed_assets", "2026-07-22", 6747.378, "fred"),
        Observation("fed_assets", "2026-07-29", 6738.19, "fred"),
    ]


@pytest.mark.parametrize(
    ("api_key", "response", "fragment"),
    [
        (
            "k3y",
            httpx.Response(400, text=fixture_text("api_error_series_does_not_exist.json")),
            "DFEDTARU: HTTP 400 (Bad Request.  The series does not exist.)",
        ),
        ("k3y", httpx.Response(200, text='{"observations": [{"date": "2026-'), "DFEDTARU: invalid JSON"),
        ("k3y", httpx.Response(200, text=fixture_text("error_page.html")), "DFEDTARU: expected JSON but got"),
        (None, httpx.Response(200, text=fixture_text("error_page.html")), "DFEDTARU: expected CSV but got"),
        (None, httpx.Response(404, text="<html>Not Found</html>"), "DFEDTARU: HTTP 404"),
    ],
    ids=["api-400", "api-truncated", "api-html", "csv-html", "csv-404"],
)
async def test_fetch_series_errors_name_the_series(
    api_key: str | None, response: httpx.Response, fragment: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: response)) as client:
        with pytest.raises(SourceError) as info:
            await fred.fetch_series(
                client, "DFEDTARU", csv_url=CSV_URL, api_url=API_URL, api_key=api_key, start=date(2026, 6, 1)
            )
    assert info.value.source == "fred"
    assert info.value.problem.startswith(fragment)


@pytest.mark.parametrize("api_key", [None, "k3y"])
async def test_fetch_all_series(api_key: str | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if api_key is None:
            return httpx.Response(200, text=_csv_body(params["id"]))
        return httpx.Response(200, json=_json_body(params["series_id"]))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await fred.fetch(
            client, csv_url=CSV_URL, api_url=API_URL, api_key=api_key, start=date(2026, 6, 1)
        )
    assert batch.source == "fred"
    assert batch.operations == []
    got = {(obs.series, obs.date): obs.value for obs in batch.observations}
    assert got == {
        (series, day): round(value * _SCALE.get(fred_id, 1) * multiplier, 6)
        for fred_id, (series, multiplier) in fred.FRED_SERIES.items()
        for day, value in (("2026-06-10", 3.65), ("2026-06-24", 3.9))
    }


async def test_fetch_asks_for_every_series_at_once() -> None:
    """A fetch is one request a series, far inside the JSON API's 120 a minute: none waits for another."""
    in_flight: list[int] = [0, 0]

    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return httpx.Response(200, json=_json_body(request.url.params["series_id"]))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await fred.fetch(
            client, csv_url=CSV_URL, api_url=API_URL, api_key="k3y", start=date(2026, 6, 1)
        )
    assert batch.errors == []
    assert in_flight[1] == fred.CONCURRENCY == len(fred.FRED_SERIES) == 7


async def test_fetch_keeps_the_good_series_and_reports_the_failed_one() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fred_id = request.url.params["id"]
        requested.append(fred_id)
        if fred_id == "WRESBAL":
            return httpx.Response(200, text=fixture_text("error_page.html"))
        return httpx.Response(200, text=_csv_body(fred_id))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await fred.fetch(
            client, csv_url=CSV_URL, api_url=API_URL, api_key=None, start=date(2026, 6, 1)
        )
    assert sorted(requested) == sorted(fred.FRED_SERIES)
    assert batch.errors == ["expected CSV but got an HTML page (WRESBAL)"]
    stored = {obs.series for obs in batch.observations}
    assert stored == {"iorb", "fed_upper", "fed_lower", "fed_assets", "custody", "bank_treasuries"}


async def test_fetch_several_failures_are_grouped_by_problem() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        fred_id = request.url.params["id"]
        if fred_id in ("IORB", "WALCL"):
            return httpx.Response(200, text=f"observation_date,{fred_id}\n2026-06-10,abc\n")
        return httpx.Response(200, text=_csv_body(fred_id))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await fred.fetch(
            client, csv_url=CSV_URL, api_url=API_URL, api_key=None, start=date(2026, 6, 1)
        )
    assert batch.errors == ["2026-06-10 (line 2): non-numeric value 'abc' (IORB, WALCL)"]
    assert {obs.series for obs in batch.observations} == {
        "fed_upper",
        "fed_lower",
        "reserves",
        "custody",
        "bank_treasuries",
    }


async def test_fetch_raises_when_every_series_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=fixture_text("error_page.html"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(SourceError) as info:
            await fred.fetch(client, csv_url=CSV_URL, api_url=API_URL, api_key=None, start=date(2026, 6, 1))
    assert info.value.source == "fred"
    assert (
        info.value.problem == "expected CSV but got an HTML page "
        "(IORB, DFEDTARU, DFEDTARL, WRESBAL, WALCL, WMTSECL1, TASACBW027SBOG)"
    )
    assert info.value.transient is False


def test_real_walcl_history() -> None:
    path = SHARED_DATA / "fred_WALCL_fredgraph.csv"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    text = path.read_text(encoding="utf-8")
    observations = fred.to_observations("WALCL", fred.parse_csv(text, "WALCL"))
    assert len(observations) == len(text.splitlines()) - 1
    assert observations[0] == Observation("fed_assets", "2002-12-18", 719.542, "fred")
    assert observations[-1] == Observation("fed_assets", "2026-07-29", 6738.19, "fred")
    assert {obs.date: obs.value for obs in observations}["2026-06-24"] == 6735.645
    assert [obs.date for obs in observations] == sorted(obs.date for obs in observations)
