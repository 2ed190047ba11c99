"""Fiscal Data DTS parsing: the three TGA account eras, their boundaries, pagination and bad bodies."""

from __future__ import annotations

import copy
import csv
import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.models import Observation, SourceError
from bot.sources import fiscaldata

FIXTURES = Path(__file__).parent / "fixtures" / "fiscaldata"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"
BASE_URL = "https://fiscaldata.test/services/api/fiscal_service"

ERA_C_2026 = "operating_cash_balance_2026-06-22_2026-06-23.json"
ERAS_AB_2021 = "operating_cash_balance_2021-09-29_2021-10-04.json"
ERAS_BC_2022 = "operating_cash_balance_2022-04-14_2022-04-19.json"
PAGE_1 = "operating_cash_balance_2022-04-14_2022-04-19_page1of2.json"
PAGE_2 = "operating_cash_balance_2022-04-14_2022-04-19_page2of2.json"
EMPTY = "operating_cash_balance_empty_window.json"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def tga(*pairs: tuple[str, float]) -> list[Observation]:
    return [Observation("tga", day, value, "fiscaldata") for day, value in pairs]


def edit(base: str | dict[str, Any], day: str, account: str, **fields: Any) -> dict[str, Any]:
    """A fixture with the fields of one (record_date, account_type) row replaced; None deletes a field."""
    payload = copy.deepcopy(load(base) if isinstance(base, str) else base)
    matches = [r for r in payload["data"] if r["record_date"] == day and r["account_type"] == account]
    assert len(matches) == 1
    for key, value in fields.items():
        if value is None:
            del matches[0][key]
        else:
            matches[0][key] = value
    return payload


def null_closes(name: str, accounts: tuple[str, ...] = fiscaldata.SINGLE_ROW_ACCOUNTS) -> dict[str, Any]:
    payload = copy.deepcopy(load(name))
    for row in payload["data"]:
        if row["account_type"] in accounts:
            row["close_today_bal"] = "null"
    return payload


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(ERA_C_2026, tga(("2026-06-22", 942.815), ("2026-06-23", 925.876)), id="era-c"),
        pytest.param(
            ERAS_AB_2021,
            tga(
                ("2021-09-29", 173.745),
                ("2021-09-30", 215.16),
                ("2021-10-01", 132.452),
                ("2021-10-04", 141.318),
            ),
            id="eras-a-b",
        ),
        pytest.param(
            ERAS_BC_2022,
            tga(
                ("2022-04-14", 602.292),
                ("2022-04-15", 578.473),
                ("2022-04-18", 841.253),
                ("2022-04-19", 893.351),
            ),
            id="eras-b-c",
        ),
        pytest.param(EMPTY, [], id="empty-window"),
    ],
)
def test_parse_fixtures(name: str, expected: list[Observation]) -> None:
    assert fiscaldata.parse_operating_cash_balance(load(name)) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            null_closes(ERAS_AB_2021),
            # 2021-10-04 has no later record date in the payload, so it has no close.
            tga(("2021-09-29", 173.745), ("2021-09-30", 215.16), ("2021-10-01", 132.452)),
            id="a-b-null-derived-from-next-open",
        ),
        pytest.param(
            edit(ERAS_AB_2021, "2021-09-30", "Federal Reserve Account", close_today_bal=None),
            tga(
                ("2021-09-29", 173.745),
                ("2021-09-30", 215.16),
                ("2021-10-01", 132.452),
                ("2021-10-04", 141.318),
            ),
            id="a-missing-close-at-boundary",
        ),
        pytest.param(
            edit(ERAS_AB_2021, "2021-09-30", "Federal Reserve Account", close_today_bal=""),
            tga(
                ("2021-09-29", 173.745),
                ("2021-09-30", 215.16),
                ("2021-10-01", 132.452),
                ("2021-10-04", 141.318),
            ),
            id="a-empty-close-at-boundary",
        ),
        pytest.param(
            null_closes(ERAS_BC_2022),
            tga(
                ("2022-04-14", 602.292),
                ("2022-04-15", 578.473),
                ("2022-04-18", 841.253),
                ("2022-04-19", 893.351),
            ),
            id="b-null-derived-from-c-opening-row",
        ),
        pytest.param(
            edit(
                edit(ERAS_AB_2021, "2021-09-30", "Federal Reserve Account", close_today_bal="null"),
                "2021-10-01",
                "Treasury General Account (TGA)",
                account_type="Something Else",
            ),
            # The next record date has no TGA opening balance, so 2021-09-30 is skipped, not taken from 10-04.
            tga(("2021-09-29", 173.745), ("2021-10-04", 141.318)),
            id="a-next-date-without-tga-open",
        ),
        pytest.param(
            edit(
                ERA_C_2026,
                "2026-06-22",
                fiscaldata.CLOSING_ROW,
                open_today_bal="null",
                close_today_bal="942815",
            ),
            tga(("2026-06-22", 942.815), ("2026-06-23", 925.876)),
            id="c-close-moved-to-close_today_bal",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-22", fiscaldata.CLOSING_ROW, open_today_bal="null"),
            tga(("2026-06-22", 942.815), ("2026-06-23", 925.876)),
            id="c-null-close-derived-from-next-opening-row",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, open_today_bal="null"),
            tga(("2026-06-22", 942.815)),
            id="c-null-close-on-newest-day-skipped",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", "Total TGA Deposits (Table II)", open_today_bal="n/a"),
            tga(("2026-06-22", 942.815), ("2026-06-23", 925.876)),
            id="c-ignored-row-not-read",
        ),
        pytest.param(
            {"data": load(ERA_C_2026)["data"] * 2},
            tga(("2026-06-22", 942.815), ("2026-06-23", 925.876)),
            id="duplicate-rows",
        ),
        pytest.param(
            {"data": list(reversed(load(ERAS_BC_2022)["data"]))},
            tga(
                ("2022-04-14", 602.292),
                ("2022-04-15", 578.473),
                ("2022-04-18", 841.253),
                ("2022-04-19", 893.351),
            ),
            id="ascending-order",
        ),
        pytest.param(
            {
                "data": [
                    {
                        "record_date": "2026-06-23",
                        "account_type": fiscaldata.CLOSING_ROW,
                        "close_today_bal": "null",
                        "open_today_bal": "925876.5",
                    }
                ]
            },
            tga(("2026-06-23", 925.8765)),
            id="c-decimal-and-sparse-fields",
        ),
    ],
)
def test_parse_closing_balance_selection(payload: dict[str, Any], expected: list[Observation]) -> None:
    assert fiscaldata.parse_operating_cash_balance(payload) == expected


def test_era_c_value_is_the_closing_rows_open_today_bal() -> None:
    got = fiscaldata.parse_operating_cash_balance(load(ERA_C_2026))
    # The opening row of 2026-06-23 says 942815, the closing row 925876.
    assert {obs.date: obs.value for obs in got}["2026-06-23"] == 925.876


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, open_today_bal="925,876"),
            "2026-06-23: non-numeric open_today_bal '925,876'",
            id="c-thousands-separator",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, open_today_bal=925876),
            "2026-06-23: open_today_bal is int, expected a string",
            id="c-json-number",
        ),
        pytest.param(
            edit(ERAS_AB_2021, "2021-09-30", "Federal Reserve Account", close_today_bal="NaN"),
            "2021-09-30: non-numeric close_today_bal 'NaN'",
            id="a-nan",
        ),
        pytest.param(
            edit(ERAS_AB_2021, "2021-10-01", "Treasury General Account (TGA)", open_today_bal="$215,160"),
            "2021-10-01: non-numeric open_today_bal '$215,160'",
            id="b-dollar-open",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, record_date="06/23/2026"),
            "malformed record_date '06/23/2026'",
            id="us-date",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, record_date=None),
            "malformed record_date 'None'",
            id="no-date",
        ),
        pytest.param(
            edit(ERA_C_2026, "2026-06-23", fiscaldata.CLOSING_ROW, account_type=None),
            "2026-06-23: account_type is NoneType",
            id="no-account-type",
        ),
        pytest.param(
            {"data": load(ERA_C_2026)["data"] + [dict(load(ERA_C_2026)["data"][3], open_today_bal="925877")]},
            "2026-06-23: conflicting TGA closing balances 925876 and 925877",
            id="conflicting-duplicates",
        ),
        pytest.param({"meta": {"count": 0}, "links": {}}, "changed schema: no 'data' list", id="no-data"),
        pytest.param(
            {"data": {"record_date": "2026-06-23"}}, "changed schema: no 'data' list", id="data-object"
        ),
        pytest.param([], "changed schema: expected a JSON object, got list", id="list-body"),
        pytest.param(None, "changed schema: expected a JSON object, got NoneType", id="null-body"),
        pytest.param({"data": ["2026-06-23"]}, "changed schema: data[0] is str", id="row-not-object"),
        pytest.param(
            {"error": "Invalid Query Param", "message": "Invalid query parameter 'sort'"},
            "API error: Invalid Query Param",
            id="error-body",
        ),
        pytest.param(
            {
                "data": [
                    {"record_date": "2026-06-23", "account_type": "Cash Balance", "open_today_bal": "925876"},
                    {"record_date": "2026-06-22", "account_type": "Cash Balance", "open_today_bal": "942815"},
                ]
            },
            "changed schema: none of 2 rows is a TGA account row",
            id="renamed-account",
        ),
    ],
)
def test_parse_rejects(payload: object, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        fiscaldata.parse_operating_cash_balance(payload)
    assert info.value.source == "fiscaldata"
    assert fragment in info.value.problem


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(load(PAGE_1), 2, id="page-1-of-2"),
        pytest.param(load(ERA_C_2026), 1, id="one-page"),
        pytest.param(load(EMPTY), 0, id="empty-window"),
        pytest.param({"data": []}, 1, id="no-meta"),
        pytest.param({"data": [], "meta": {"count": 0}}, 1, id="meta-without-pages"),
        pytest.param([], 1, id="not-an-object"),
    ],
)
def test_total_pages(payload: object, expected: int) -> None:
    assert fiscaldata.total_pages(payload) == expected


@pytest.mark.parametrize("pages", ["2", -1, True, 2.0, None])
def test_total_pages_rejects(pages: object) -> None:
    with pytest.raises(SourceError) as info:
        fiscaldata.total_pages({"data": [], "meta": {"total-pages": pages}})
    assert info.value.source == "fiscaldata"
    assert "total-pages" in info.value.problem


def serve(pages: dict[str, str], seen: list[httpx.URL]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        name = pages.get(request.url.params["page[number]"])
        if name is None:
            return httpx.Response(404, json={"error": "Not Found", "message": "no such page"})
        return httpx.Response(200, text=(FIXTURES / name).read_text(encoding="utf-8"))

    return httpx.MockTransport(handler)


async def test_fetch_follows_pages() -> None:
    seen: list[httpx.URL] = []
    async with httpx.AsyncClient(transport=serve({"1": PAGE_1, "2": PAGE_2}, seen)) as client:
        batch = await fiscaldata.fetch(client, BASE_URL + "/", date(2022, 4, 14), page_size=7)
    assert [url.path for url in seen] == [
        "/services/api/fiscal_service/v1/accounting/dts/operating_cash_balance"
    ] * 2
    assert [dict(url.params) for url in seen] == [
        {
            "fields": "record_date,account_type,open_today_bal,close_today_bal",
            "filter": "record_date:gte:2022-04-14",
            "sort": "-record_date",
            "page[size]": "7",
            "page[number]": n,
        }
        for n in ("1", "2")
    ]
    assert batch.source == "fiscaldata"
    assert batch.operations == []
    # 2022-04-18's closing row is the first row of page 2.
    assert batch.observations == tga(
        ("2022-04-14", 602.292), ("2022-04-15", 578.473), ("2022-04-18", 841.253), ("2022-04-19", 893.351)
    )


async def test_fetch_drops_rows_before_start() -> None:
    seen: list[httpx.URL] = []
    async with httpx.AsyncClient(transport=serve({"1": ERAS_BC_2022}, seen)) as client:
        batch = await fiscaldata.fetch(client, BASE_URL, date(2022, 4, 18))
    assert len(seen) == 1
    assert batch.observations == tga(("2022-04-18", 841.253), ("2022-04-19", 893.351))


async def test_fetch_empty_window() -> None:
    seen: list[httpx.URL] = []
    async with httpx.AsyncClient(transport=serve({"1": EMPTY}, seen)) as client:
        batch = await fiscaldata.fetch(client, BASE_URL, date(2026, 11, 26))
    assert len(seen) == 1
    assert batch.observations == []


async def test_fetch_failing_second_page() -> None:
    seen: list[httpx.URL] = []
    async with httpx.AsyncClient(transport=serve({"1": PAGE_1}, seen)) as client:
        with pytest.raises(SourceError) as info:
            await fiscaldata.fetch(client, BASE_URL, date(2022, 4, 14), page_size=7)
    assert info.value.source == "fiscaldata"
    assert info.value.problem == "HTTP 404 (no such page)"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param("<!DOCTYPE html><html><body>Maintenance</body></html>", "HTML page", id="html"),
        pytest.param(
            "\r\n\n  <html><body>502 Bad Gateway</body></html>", "HTML page", id="html-after-blank-lines"
        ),
        pytest.param(" " * 5000 + "<html>", "invalid JSON", id="html-after-pages-of-blanks"),
        pytest.param('{"data": [{"record_date": "2026-06-23", "account_', "invalid JSON", id="truncated"),
    ],
)
async def test_fetch_bad_bodies(body: str, fragment: str) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text=body))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(SourceError) as info:
            await fiscaldata.fetch(client, BASE_URL, date(2026, 6, 1))
    assert info.value.source == "fiscaldata"
    assert fragment in info.value.problem


# The website CSV export labels its columns with the API's meta.labels.
_EXPORT_FIELDS = {
    "Record Date": "record_date",
    "Type of Account": "account_type",
    "Opening Balance Today": "open_today_bal",
    "Opening Balance This Month": "open_month_bal",
    "Opening Balance This Fiscal Year": "open_fiscal_year_bal",
    "Table Number": "table_nbr",
    "Table Name": "table_nm",
    "Sub Table Name": "sub_table_name",
    "Source Line Number": "src_line_nbr",
    "Fiscal Year": "record_fiscal_year",
    "Fiscal Quarter Number": "record_fiscal_quarter",
    "Calendar Year": "record_calendar_year",
    "Calendar Quarter Number": "record_calendar_quarter",
    "Calendar Month Number": "record_calendar_month",
    "Calendar Day Number": "record_calendar_day",
}


def test_real_dts_history() -> None:
    path = SHARED_DATA / "dts_operating_cash_balance_fiscaldata_export_20210624_20260623.csv"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows: list[dict[str, str]] = [
            {_EXPORT_FIELDS[label]: value for label, value in line.items()} for line in csv.DictReader(handle)
        ]
    for row in rows:
        # The export has no closing column: era (c) reads "null" there; the older eras are derived.
        if row["sub_table_name"] == "Cash Balance Details":
            row["close_today_bal"] = "null"
    observations = fiscaldata.parse_operating_cash_balance({"data": rows})
    closes = {obs.date: obs.value for obs in observations}
    assert len(closes) == len({row["record_date"] for row in rows}) == 1252
    assert closes["2026-06-23"] == 925.876
    assert closes["2022-04-18"] == 841.253
    assert closes["2022-04-15"] == 578.473
    assert closes["2021-09-30"] == 215.16
    assert closes["2021-06-24"] == 723.946
    days = sorted(closes)
    openings = {
        row["record_date"]: float(row["open_today_bal"]) / 1000
        for row in rows
        if row["account_type"] in (*fiscaldata.SINGLE_ROW_ACCOUNTS, fiscaldata.OPENING_ROW)
    }
    # Every close, whichever era it came from, is the next business day's opening balance.
    assert all(closes[day] == round(openings[after], 6) for day, after in itertools.pairwise(days))
