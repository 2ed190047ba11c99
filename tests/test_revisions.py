"""/revisions and the "revised from" notes: a changed published value is always said to be one."""

from __future__ import annotations

import pytest

from bot.words.reply import Context, Mono, Reply, Text
from handlers.table import COMMANDS, dispatch
from tests.seed import SCENARIOS, ny, seeded, store

USAGE = "/revisions [sofr|effr|iorb|range|rrp|tga|reserves|assets]"
NOW = SCENARIOS["srf_feb_2026"].now  # 2026-02-19 08:35 New York


def ask(db: object, line: str) -> Reply:
    reply = dispatch(line, Context("telegram", "1001", "42", NOW), db)  # type: ignore[arg-type]
    assert reply is not None
    return reply


def texts(reply: Reply) -> list[str]:
    return [b.text for b in reply.blocks if isinstance(b, Text)]


def revised_db() -> object:
    db = seeded("srf_feb_2026")
    # hypothetical revisions, as the poller records them: TGA 02-17 restated, then SOFR 02-18 revised
    # twice (3.73 -> 3.66 -> 3.70); a reply names the value first published
    store(db, "tga", {"2026-02-17": 812.345}, "fiscaldata", ny(2026, 2, 18, 16, 5))
    store(db, "sofr", {"2026-02-18": 3.66}, "nyfed", ny(2026, 2, 19, 8, 2))
    store(db, "sofr", {"2026-02-18": 3.70}, "nyfed", ny(2026, 2, 19, 8, 20))
    return db


def test_revisions_lists_recent_changes_newest_first() -> None:
    db = revised_db()
    reply = ask(db, "/revisions")
    assert reply.title == "Revisions \u2014 all series"
    (lines,) = [b.lines for b in reply.blocks if isinstance(b, Mono)]
    assert lines[:2] == (
        "SOFR 2026-02-18: 3.66% \u2192 3.70% (on 2026-02-19)",
        "SOFR 2026-02-18: 3.73% \u2192 3.66% (on 2026-02-19)",
    )
    assert any(
        line.startswith("TGA 2026-02-17: ") and line.endswith("\u2192 $812.345B (on 2026-02-18)")
        for line in lines
    )
    one = ask(db, "/revisions sofr")
    assert one.title == "Revisions \u2014 SOFR"
    assert all(line.startswith("SOFR ") for b in one.blocks if isinstance(b, Mono) for line in b.lines)


def test_revisions_with_nothing_revised_says_so() -> None:
    reply = ask(seeded("srf_feb_2026"), "/revisions tga")
    assert texts(reply) == ["No published value was revised in the last 90 days."]


@pytest.mark.parametrize("line", ["/revisions bitcoin", "/revisions net_liquidity", "/revisions sofr tga"])
def test_revisions_bad_series_gets_a_clear_message(line: str) -> None:
    reply = ask(seeded("srf_feb_2026"), line)
    assert reply.level == "error"
    assert reply.title == f"Usage: {USAGE}"  # the usage line only: hostile input is never echoed


def test_a_reply_showing_a_revised_value_says_so() -> None:
    db = revised_db()
    sofr = ask(db, "/sofr")
    assert "\u270f\ufe0f SOFR 2026-02-18: revised from 3.73% on 2026-02-19." in texts(sofr)
    corridor = ask(db, "/corridor")
    assert "\u270f\ufe0f SOFR 2026-02-18: revised from 3.73% on 2026-02-19." in texts(corridor)
    # the SRF take-up is an intraday sum: its growth is not a revision
    assert not [line for line in texts(ask(db, "/srf")) if line.startswith("\u270f")]


def test_revisions_is_in_the_command_table_and_help() -> None:
    assert COMMANDS["revisions"].usage == USAGE
    help_text = ask(seeded("srf_feb_2026"), "/help").plain_text()
    assert f"{USAGE} \u2014 Published values revised in the last 90 days" in help_text


def test_revised_note_and_revisions_in_traditional_chinese() -> None:
    db = revised_db()
    sofr = dispatch("/sofr", Context("telegram", "1001", "42", NOW, lang="zh-TW"), db)
    assert sofr is not None
    assert (
        "\u270f\ufe0f 擔保隔夜融資利率（SOFR） 2026年2月18日：已由 3.73% 修正（2026年2月19日修正）。"
        in texts(sofr)
    )
    listing = dispatch("/revisions tga", Context("telegram", "1001", "42", NOW, lang="zh-TW"), db)
    assert listing is not None and listing.title == "修正紀錄 \u2014 財政部一般帳戶（TGA）餘額"
    lines = [line for b in listing.blocks if isinstance(b, Mono) for line in b.lines]
    assert lines == ["TGA 2026年2月17日：9,246.59億美元 \u2192 8,123.45億美元（2026年2月18日）"]


def test_srf_revised_alert_in_traditional_chinese() -> None:
    from bot.alerts.messages import alert_reply
    from bot.alerts.rules import Alert

    facts: dict[str, float | str | int | None] = {
        "amount": 14.0,
        "old_amount": 0.004,
        "session": "PM",
        "threshold": 1.0,
        "day_total": 14.004,
        "operation_id": "RP 021826 29",
    }
    reply = alert_reply(Alert("k", "srf_positive@1", "revised", "2026-02-18", facts), "zh-TW")
    assert reply.title == "\U0001f6a8 SRF 承作量修正：140.00億美元 \u2014 2026年2月18日"
    assert texts(reply)[0] == (
        "紐約聯準銀行將下午操作的承作量修正為 140.00億美元（原為 0.04億美元），超過你的門檻 10億美元。"
        "當日承作累計 140.04億美元。"
    )
