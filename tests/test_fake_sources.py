"""The fake data APIs: real shapes and types, date filters, pagination, faults, and the generated history."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.history import (
    History,
    is_business_day,
    real_cases_history,
    repo_operation,
    synthetic_history,
)
from tests.fakes.sources import FAULTS, FakeSources, FakeSourcesThread

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "api-samples"
OCB = "/v1/accounting/dts/operating_cash_balance"


def sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"shared sample {name} not available")
    return json.loads(path.read_text())


@lru_cache(maxsize=1)
def _synthetic() -> History:
    return synthetic_history(date(2000, 1, 1), date(2026, 6, 30))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSources]:
    async with FakeSources(real_cases_history()) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


async def get_json(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text[:200]
    return response.json()


# ---------------------------------------------------------------------------------------------------------
# History


def test_real_cases_hold_the_real_values() -> None:
    h = real_cases_history()
    assert h.srf_total("2026-02-17") == pytest.approx(30.5)
    am = next(op for op in h.operations_on("2026-02-17") if op["releaseTime"] == "08:15")
    assert [d["amtAccepted"] for d in am["details"]] == [8_000_000_000, 0, 3_000_000_000]
    assert am["details"][0]["minimumBidRate"] == 3.75
    assert h.rrp_total("2026-02-17") == pytest.approx(0.441)
    sve = next(op for op in h.operations_on("2026-02-18") if op["operationId"] == "RP 021826 28")
    assert (sve["operationMethod"], sve["settlementType"], sve["operationLimit"]) == (
        "Multiple Price",
        "1 Day Forward",
        100_000_000,
    )
    assert h.srf_total("2026-02-18") == pytest.approx(0.004)  # the SVE is not usage
    assert h.value("sofr", "2026-02-05") == 3.65
    assert h.value("sofr_volume", "2026-02-05") == 3228
    assert h.value("effr", "2026-02-05") == 3.64
    assert h.value("iorb", "2025-12-11") == 3.65
    assert h.value("tga", "2026-06-23") == 925876
    assert {"fed_assets", "reserves", "fed_upper", "fed_lower", "tga", "sofr", "effr"} <= set(h.series)


def test_real_operations_match_the_captured_sample() -> None:
    real = sample("nyfed_rp_all_all_results_lastTwoWeeks_asof_2026-02-25.operations.json")
    days = ("2026-02-17", "2026-02-18")
    expected = sorted((op for op in real if op["operationDate"] in days), key=lambda op: op["operationId"])
    ours = [op for op in real_cases_history().operations if op["operationDate"] in days]
    assert sorted(ours, key=lambda op: op["operationId"]) == expected


def test_synthetic_history_is_realistic_and_deterministic() -> None:
    h = _synthetic()
    assert min(h.values("sofr")) == "2018-04-03"
    assert min(h.values("iorb")) == "2021-07-29"
    assert h.value("sofr", "2019-09-17") == 5.25
    assert h.value("fed_upper", "2019-09-17") == 2.25
    assert h.value("sofr", "2025-10-31") == 4.22
    assert h.value("fed_lower", "2025-10-31") == 3.75
    assert h.value("effr", "2025-12-25") is None and h.value("iorb", "2025-12-27") == 3.65
    assert all(is_business_day(date.fromisoformat(d)) for d in h.values("effr"))
    assert {date.fromisoformat(d).weekday() for d in h.values("fed_assets")} == {2}
    first_ops = {op["operationType"]: op["operationDate"] for op in reversed(h.operations)}
    assert first_ops == {"Reverse Repo": "2013-09-23", "Repo": "2021-07-29"}
    srf = [op for op in h.operations if op["operationType"] == "Repo" and not op["note"]]
    assert {op["operationMethod"] for op in srf if op["operationDate"] >= "2025-12-11"} == {"Full Allotment"}
    assert {op["operationMethod"] for op in srf if op["operationDate"] < "2025-12-11"} == {"Multiple Price"}
    assert 0.6 < sum(op["totalAmtAccepted"] == 0 for op in srf) / len(srf) < 1
    again = synthetic_history(date(2026, 1, 1), date(2026, 6, 30))
    assert again.values("sofr") == {d: v for d, v in h.values("sofr").items() if d >= "2026-01-01"}


# ---------------------------------------------------------------------------------------------------------
# NY Fed


async def test_nyfed_rates_shape_order_and_window(fake: FakeSources, client: httpx.AsyncClient) -> None:
    url = fake.nyfed_base_url + "/api/rates/secured/sofr/search.json"
    rows = (await get_json(client, url, startDate="2026-02-02", endDate="2026-02-06"))["refRates"]
    assert [r["effectiveDate"] for r in rows] == [
        "2026-02-06",
        "2026-02-05",
        "2026-02-04",
        "2026-02-03",
        "2026-02-02",
    ]
    real = sample("nyfed_rates_secured_sofr_search_2024-06-01_2024-06-06.raw.json")["refRates"][0]
    assert rows[1].keys() == real.keys()
    assert rows[1]["percentRate"] == 3.65 and isinstance(rows[1]["volumeInBillions"], int)
    effr = (await get_json(client, fake.nyfed_base_url + "/api/rates/unsecured/effr/last/3.json"))["refRates"]
    assert len(effr) == 3 and effr[0]["effectiveDate"] == "2026-06-30"
    real_effr = sample("nyfed_rates_unsecured_effr_search_2023-01-01_2023-06-06.raw.json")["refRates"][0]
    assert effr[0].keys() == real_effr.keys()
    assert (effr[0]["targetRateFrom"], effr[0]["targetRateTo"]) == (3.5, 3.75)
    latest = (await get_json(client, fake.nyfed_base_url + "/api/rates/all/latest.json"))["refRates"]
    # like the real all/latest body, every reference rate the fake serves, the tri-party ones included
    assert {r["type"] for r in latest} == {"SOFR", "EFFR", "BGCR", "TGCR"}
    assert await get_json(client, url, startDate="2030-01-01", endDate="2030-01-05") == {"refRates": []}


async def test_nyfed_operations_routes(fake: FakeSources, client: httpx.AsyncClient) -> None:
    search = fake.nyfed_base_url + "/api/rp/results/search.json"
    ops = (
        await get_json(client, search, startDate="2026-02-17", endDate="2026-02-18", operationTypes="Repo")
    )["repo"]["operations"]
    assert [op["operationDate"] for op in ops] == ["2026-02-18"] * 4 + ["2026-02-17"] * 3
    assert {op["operationType"] for op in ops} == {"Repo", "Reverse Repo"}  # operationTypes is ignored
    real = sample("nyfed_rp_all_all_results_lastTwoWeeks_asof_2026-02-06.operations.json")
    real_keys = {op["operationType"]: op.keys() for op in real}
    assert all(
        op.keys() == real_keys[op["operationType"]] for op in ops if op["operationId"] != "RP 021826 28"
    )
    assert all(isinstance(op["totalAmtAccepted"], int) for op in ops)
    base = fake.nyfed_base_url + "/api/rp"
    last = (await get_json(client, base + "/repo/all/results/last/2.json"))["repo"]["operations"]
    assert [(op["operationDate"], op["releaseTime"]) for op in last] == [
        ("2026-06-30", "08:15"),
        ("2026-06-30", "13:30"),
    ]
    rrp = (await get_json(client, base + "/reverserepo/all/results/latest.json"))["repo"]["operations"]
    assert [op["operationType"] for op in rrp] == ["Reverse Repo"]
    two_weeks = (await get_json(client, base + "/all/all/results/lastTwoWeeks.json"))["repo"]["operations"]
    assert {op["operationDate"] for op in two_weeks} == {
        d for d in fake.history.values("sofr") if "2026-06-16" <= d <= "2026-06-30"
    }
    empty = await get_json(client, search, startDate="2030-01-01", endDate="2030-01-02")
    assert empty == {"repo": {"operations": []}}


async def test_published_and_revised_values_show_up(fake: FakeSources, client: httpx.AsyncClient) -> None:
    url = fake.nyfed_base_url + "/api/rates/secured/sofr/last/1.json"
    fake.history.revise("sofr", "2026-06-30", 3.99)
    row = (await get_json(client, url))["refRates"][0]
    assert (row["percentRate"], row["revisionIndicator"]) == (3.99, "Y")
    fake.history.publish_many("2026-07-01", {"sofr": 3.7, "sofr_volume": 3300})
    assert (await get_json(client, url))["refRates"][0]["effectiveDate"] == "2026-07-01"
    fake.history.publish_operation(repo_operation("2026-07-01", "AM", treasury=5_000_000_000))
    ops = (await get_json(client, fake.nyfed_base_url + "/api/rp/repo/all/results/latest.json"))["repo"]
    assert ops["operations"][0]["totalAmtAccepted"] == 5_000_000_000


# ---------------------------------------------------------------------------------------------------------
# FRED


async def test_fred_csv(client: httpx.AsyncClient) -> None:
    async with FakeSources(_synthetic()) as fake:
        response = await client.get(fake.fred_csv_url, params={"id": "SOFR", "cosd": "2024-07-01"})
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.text.split("\n")
        assert lines[0] == "observation_date,SOFR" and lines[1].startswith("2024-07-01,")
        assert "2024-07-04," in lines and response.text.endswith("\n") and "\r" not in response.text
        walcl = (await client.get(fake.fred_csv_url, params={"id": "WALCL"})).text.splitlines()
        assert walcl[1].startswith("2002-12-18,") and len(walcl) > 1200
        missing = await client.get(fake.fred_csv_url, params={"id": "NOPE"})
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    async with FakeSources(_synthetic(), legacy_csv_header=True) as fake:
        text = (await client.get(fake.fred_csv_url, params={"id": "SOFR", "cosd": "2024-07-03"})).text
        assert text.startswith("DATE,SOFR\n2024-07-03,") and "2024-07-04,.\n" in text


async def test_fred_json(fake: FakeSources, client: httpx.AsyncClient) -> None:
    url = fake.fred_api_url + "/series/observations"
    params = {"series_id": "WALCL", "api_key": fake.fred_api_key, "file_type": "json"}
    body = await get_json(client, url, **params, observation_start="2026-06-01")
    real = sample("fred_api_series_observations_SOFR_2024-06-01_2024-06-06.raw.json")
    assert body.keys() == real.keys() and body["observations"][0].keys() == real["observations"][0].keys()
    assert [o["date"] for o in body["observations"]] == [
        "2026-06-03",
        "2026-06-10",
        "2026-06-17",
        "2026-06-24",
    ]
    assert all(isinstance(o["value"], str) for o in body["observations"]) and body["count"] == 4
    sofr = await get_json(client, url, **(params | {"series_id": "SOFR"}), observation_start="2026-05-22")
    assert {"date": "2026-05-25", "value": "."}.items() <= sofr["observations"][1].items()  # Memorial Day
    bad = await client.get(url, params=params | {"api_key": "wrong"})
    assert bad.status_code == 400 and "api_key is not registered" in bad.json()["error_message"]
    unknown = await client.get(url, params=params | {"series_id": "NOPE"})
    assert unknown.json() == {"error_code": 400, "error_message": "Bad Request.  The series does not exist."}
    assert fake.fred_api_requests == 4 and fake.request_count("fred") == 4


# ---------------------------------------------------------------------------------------------------------
# Treasury Fiscal Data


async def test_fiscal_four_row_era_and_pagination(fake: FakeSources, client: httpx.AsyncClient) -> None:
    url = fake.fiscaldata_base_url + OCB
    params = {"filter": "record_date:gte:2026-06-22", "sort": "-record_date", "page[size]": "3"}
    first = await get_json(client, url, **params)
    real = sample("fiscaldata_v2_debt_to_penny_sort-record_date_page_size1_2026-03-06.raw.json")
    assert first.keys() == real.keys() and first["meta"].keys() == real["meta"].keys()
    assert first["links"].keys() == real["links"].keys()
    assert (first["meta"]["total-count"], first["meta"]["total-pages"], first["meta"]["count"]) == (28, 10, 3)
    pages = [first] + [
        await get_json(client, url, **params, **{"page[number]": str(n)}) for n in range(2, 11)
    ]
    rows = [row for page in pages for row in page["data"]]
    assert [r["record_date"] for r in rows[:4]] == ["2026-06-30"] * 4 and len(rows) == 28
    assert all(isinstance(v, str) for row in rows for v in row.values())
    closing = next(r for r in rows if r["record_date"] == "2026-06-23" and r["src_line_nbr"] == "4")
    assert closing["account_type"] == "Treasury General Account (TGA) Closing Balance"
    assert (closing["open_today_bal"], closing["close_today_bal"]) == ("925876", "null")
    opening = next(r for r in rows if r["record_date"] == "2026-06-23" and r["src_line_nbr"] == "1")
    assert opening["open_today_bal"] == "942815"
    assert pages[-1]["links"]["next"] is None and first["links"]["prev"] is None


async def test_fiscal_older_eras(client: httpx.AsyncClient) -> None:
    history = synthetic_history(date(2021, 9, 29), date(2022, 4, 19))
    async with FakeSources(history) as fake:
        url = fake.fiscaldata_base_url + OCB
        window = "record_date:gte:2021-09-30,record_date:lte:2022-04-18"
        body = await get_json(client, url, filter=window, **{"page[size]": "10000"})
        first = {r["record_date"]: r for r in reversed(body["data"]) if r["src_line_nbr"] == "1"}
        assert first["2021-09-30"]["account_type"] == "Federal Reserve Account"
        assert first["2021-10-01"]["account_type"] == "Treasury General Account (TGA)"
        assert first["2021-10-01"]["close_today_bal"].isdigit()
        assert first["2022-04-18"]["account_type"] == "Treasury General Account (TGA) Opening Balance"
        assert first["2021-10-01"]["record_fiscal_year"] == "2022"


async def test_fiscal_fields_project_every_table_and_an_unknown_field_is_refused(
    fake: FakeSources, client: httpx.AsyncClient
) -> None:
    """`fields` as the real API takes it: only those columns, in that order, the same rows and pages as
    without; a column the table does not have is a 400, never silently left out."""
    base = fake.fiscaldata_base_url
    dated = {"filter": "record_date:gte:2026-06-22", "sort": "-record_date", "page[size]": "5"}
    for path, fields in (
        (OCB, "record_date,account_type,open_today_bal,close_today_bal"),
        ("/v2/accounting/od/debt_to_penny", "record_date,tot_pub_debt_out_amt,debt_held_public_amt"),
        ("/v1/accounting/dts/public_debt_transactions", "record_date,security_market,transaction_today_amt"),
    ):
        whole = await get_json(client, base + path, **dated)
        projected = await get_json(client, base + path, **dated, fields=fields)
        names = fields.split(",")
        assert whole["data"], path
        assert [list(row) for row in projected["data"]] == [names] * len(whole["data"])
        assert projected["data"] == [{f: row[f] for f in names} for row in whole["data"]]
        assert projected["meta"]["total-pages"] == whole["meta"]["total-pages"]
    for path in ("/v2/accounting/od/debt_to_penny", OCB):
        refused = await client.get(base + path, params={"fields": "record_date,nope"})
        assert refused.status_code == 400 and "fields" in refused.json()["message"]


# ---------------------------------------------------------------------------------------------------------
# Faults


ROUTES = {
    "nyfed": "/nyfed/api/rates/secured/sofr/search.json?startDate=2026-02-02&endDate=2026-02-06",
    "fred": "/fred/graph/fredgraph.csv?id=IORB&cosd=2026-06-01",
    "fiscaldata": "/fiscal/services/api/fiscal_service" + OCB + "?filter=record_date:gte:2026-06-01",
}
BODY_FAULT_MARKS = {
    "nyfed": {"renamed_field": '"rate":', "wrong_type": '"percentRate":"n/a"', "empty": '{"refRates":[]}'},
    "fred": {"renamed_field": "period,value", "wrong_type": ",n/a\n", "empty": "observation_date,IORB\n"},
    "fiscaldata": {
        "renamed_field": '{"rows":[',
        "wrong_type": '"open_today_bal":{"value":',
        "empty": '{"data":[],"meta":{"count":0,',
    },
}


@pytest.mark.parametrize("source", sorted(ROUTES))
@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "timeout"])
async def test_each_fault_once_then_healthy(
    fake: FakeSources, client: httpx.AsyncClient, source: str, fault: str
) -> None:
    url = fake.base_url + ROUTES[source]
    healthy = (await client.get(url)).text
    fake.set_fault(source, fault, count=1)
    if fault == "drop":
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)
    else:
        response = await client.get(url)
        if fault in ("429", "500", "503"):
            assert response.status_code == int(fault)
            assert fault != "429" or response.headers["Retry-After"] == "1"
        elif fault == "html":
            assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        elif fault == "truncated":
            assert response.text == healthy[: len(healthy) // 2]
        elif fault == "empty":
            assert response.text.startswith(BODY_FAULT_MARKS[source][fault])
            assert len(response.text) < len(healthy) // 2
        else:
            assert BODY_FAULT_MARKS[source][fault] in response.text
    assert (await client.get(url)).text == healthy
    assert fake.request_count(source) == 3


async def test_timeout_fault_hangs_until_the_client_gives_up(fake: FakeSources) -> None:
    fake.set_fault("fred", "timeout")
    async with httpx.AsyncClient(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(fake.base_url + ROUTES["fred"])
    fake.clear_faults()
    async with httpx.AsyncClient(timeout=2) as client:
        assert (await client.get(fake.base_url + ROUTES["fred"])).status_code == 200
    fake.set_fault("fred", "timeout")
    async with httpx.AsyncClient(timeout=10) as client:
        hanging = asyncio.ensure_future(client.get(fake.base_url + ROUTES["fred"]))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.close()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.HTTPError):
            await hanging
    assert fake.requests[0] == ROUTES["fred"]


def test_threaded_fake_serves_subprocess_style_clients() -> None:
    with FakeSourcesThread(real_cases_history()) as fake:
        assert set(fake.env()) == {"NYFED_BASE_URL", "FRED_CSV_URL", "FRED_API_URL", "FISCALDATA_BASE_URL"}
        response = httpx.get(fake.fred_csv_url, params={"id": "DFEDTARU", "cosd": "2026-06-30"})
        assert response.text == "observation_date,DFEDTARU\n2026-06-30,3.75\n"
        fake.set_fault("nyfed", "503", count=1)
        assert httpx.get(fake.nyfed_base_url + "/api/rates/all/latest.json").status_code == 503
        assert fake.request_count("nyfed") == 1
