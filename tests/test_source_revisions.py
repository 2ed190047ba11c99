"""The NY Fed's revisionIndicator: read from the wire, kept in storage, said in replies in both languages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.clock import iso_utc
from bot.core.models import Observation
from bot.sources import nyfed
from bot.words.reply import Context
from handlers.table import dispatch
from storage.observations import flag_source_revisions, source_revised, upsert_observations
from tests.seed import SCENARIOS, seeded

FIXTURES = Path(__file__).parent / "fixtures" / "nyfed"
BASE = "https://markets.example.test"
EMPTY_RATES: dict[str, Any] = {"refRates": []}
EMPTY_OPS: dict[str, Any] = {"repo": {"operations": []}}


def _handler(routes: dict[str, Any]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=routes.get(request.url.path, EMPTY_RATES))

    return handle


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        # 2025-10-30 (the day the cut took effect) comes back marked "Y"; 2025-10-31 does not.
        ("sofr_2025-10-30_to_10-31.json", {("sofr", "2025-10-30")}),
        ("sofr_2024-06-03_to_06-06.json", set()),
    ],
)
async def test_fetch_carries_the_dates_the_ny_fed_marks_revised(fixture: str, expected: set[Any]) -> None:
    routes = {
        "/api/rates/secured/sofr/search.json": json.loads((FIXTURES / fixture).read_text()),
        "/api/rp/results/search.json": EMPTY_OPS,
    }
    async with httpx.AsyncClient(transport=httpx.MockTransport(_handler(routes))) as client:
        batch = await nyfed.fetch(client, BASE, date(2024, 6, 1), date(2025, 10, 31))
    assert batch.revised == expected


def test_the_first_sighting_of_a_flag_is_kept() -> None:
    db = seeded("empty")
    flag_source_revisions(db, [("sofr", "2025-10-30")], "2025-10-31T12:00:00Z")
    flag_source_revisions(db, [("sofr", "2025-10-30"), ("effr", "2025-10-30")], "2025-11-01T12:00:00Z")
    rows = db.execute("SELECT series, date, flagged_at FROM source_revisions ORDER BY series").fetchall()
    assert rows == [
        ("effr", "2025-10-30", "2025-11-01T12:00:00Z"),
        ("sofr", "2025-10-30", "2025-10-31T12:00:00Z"),
    ]
    assert source_revised(db, "sofr", ["2025-10-29", "2025-10-30"]) == {"2025-10-30"}
    assert source_revised(db, "sofr", []) == set()


def _ask(db: Any, line: str, lang: str) -> str:
    scenario = SCENARIOS["month_end_2025"]
    ctx = Context("telegram", chat_id="1", user_id="2", now=scenario.now, lang=lang)
    reply = dispatch(line, ctx, db)
    assert reply is not None
    return reply.plain_text()


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("en", "\u270f\ufe0f SOFR 2025-10-31: a revised figure, as the NY Fed Markets API marks it."),
        ("zh-TW", "紐約聯準銀行市場資料標示此為修正後數值。"),
    ],
)
def test_a_value_the_source_marks_revised_says_so_without_a_stored_first_print(lang: str, note: str) -> None:
    db = seeded("month_end_2025")
    assert note not in _ask(db, "/sofr", lang)
    flag_source_revisions(db, [("sofr", "2025-10-31")], "2025-11-03T13:05:00Z")
    assert note in _ask(db, "/sofr", lang)


def test_a_revision_the_bot_saw_itself_names_the_first_print_instead() -> None:
    db = seeded("month_end_2025")
    flag_source_revisions(db, [("sofr", "2025-10-31")], "2025-11-03T13:05:00Z")
    at = iso_utc(SCENARIOS["month_end_2025"].now)
    upsert_observations(db, [Observation("sofr", "2025-10-31", 4.23, "nyfed")], fetched_at=at)
    text = _ask(db, "/sofr", "en")
    assert "revised from 4.22%" in text
    assert "as the NY Fed Markets API marks it" not in text
