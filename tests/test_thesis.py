"""/thesis, /auctions, the funding calendar and the weak-auction rule, on the 2025-10-31 month-end."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.alerts.engine import AlertEngine
from bot.core.clock import iso_utc
from bot.core.models import Auction
from bot.market.auctions import MIN_HISTORY, weakness
from bot.market.calendar import day_tags, fed_holidays, is_business_day
from bot.market.thesis import read_thesis, volume_share_above
from bot.web.data import episodes_payload
from bot.words.payload import reply_from_json
from bot.words.reply import Context, Reply, Text
from handlers.table import dispatch
from storage.auctions import auctions_between, upsert_auctions
from storage.chats import ensure_chat, subscribe
from storage.db import open_db
from tests.seed import PRIOR_TEN_YEAR as PRIOR
from tests.seed import SCENARIOS, ny, seed_chain, seeded, store, ten_year

NOW = SCENARIOS["month_end_2025"].now  # Mon 2025-11-03 09:05 ET
AT = ny(2025, 11, 3, 9, 5)


def ask_db(db: sqlite_utils.Database, line: str, now: datetime = NOW) -> Reply:
    reply = dispatch(line, Context("console", "1", "1", now), db)
    assert reply is not None
    return reply


def body(reply: Reply) -> str:
    return reply.plain_text()


@pytest.fixture
def db() -> sqlite_utils.Database:
    database = seeded("month_end_2025")
    seed_chain(database)
    return database


def test_thesis_walks_every_link_of_the_month_end(db: sqlite_utils.Database) -> None:
    text = body(ask_db(db, "/thesis"))
    assert "Public debt $38.040T (2025-10-31): +$400.0B in 1 m, +$2.090T in 12 m." in text
    assert "bills +$25.99B, coupons +$99.78B (21% bills)" in text
    assert (
        "Foreign official custody $2.895T (week of 2025-10-29), \u2212$15.00B in 1 m, \u2212$95.00B in 12 m."
        in text
    )
    assert "Banks' Treasuries and agencies $4.290T (week of 2025-10-29), +$20.00B in 1 m" in text
    assert "Foreign central banks are not the marginal buyer." in text
    assert "DVP repo (SOFR \u2212 BGCR volume) $1.850T (2025-10-31), +$150.0B in 1 m" in text
    # SOFR 4.22 vs IORB 3.90; IORB sits below the 1st percentile (4.05): all the volume traded above it.
    assert "SOFR \u2212 IORB +32 bp; share of volume above IORB: >99%" in text
    assert (
        "SRF latest $50.350B (2025-10-31); 30 days $50.35B; year to date $50.35B \u2014 hidden QE so far."
        in text
    )
    assert "TGA $1.001T vs the $850B target (+$150.6B)." in text
    assert "Hidden QE is flickering: SRF take-up of $1B or more on 1 of the last 20 business days" in text
    assert "2025-10-31 is a month-end." in text
    assert "Missing" not in text


def test_thesis_rule_turns_on_at_five_days(db: sqlite_utils.Database) -> None:
    days = {"2025-10-27": 3.0, "2025-10-28": 1.5, "2025-10-29": 2.0, "2025-10-30": 0.5}
    store(db, "srf", days, "nyfed", AT)
    th = read_thesis(db)
    assert (th.srf_days, th.verdict) == (4, "flickering")  # 0.5 on 10-30 is a token bid
    store(db, "srf", {"2025-10-30": 1.0}, "nyfed", AT)
    reply = ask_db(db, "/thesis")
    assert reply.level == "breach"
    assert "\U0001f534 Hidden QE is on: SRF take-up of $1B or more on 5 of the last 20 business days" in body(
        reply
    )


def test_thesis_with_a_source_down_answers_with_what_it_has() -> None:
    db = seeded("month_end_2025")  # no Treasury, buyer or GC data stored: those sources never answered
    reply = ask_db(db, "/thesis")
    text = body(reply)
    assert reply.level == "tight"  # the verdict stands on the SRF data, which is there
    assert "SRF latest $50.350B (2025-10-31)" in text and "SOFR \u2212 IORB +32 bp" in text
    assert "\u2460 Issuance" not in text
    missing = next(b.text for b in reply.blocks if isinstance(b, Text) and b.text.startswith("Missing"))
    assert missing.startswith(
        "Missing: Total public debt outstanding (Treasury Fiscal Data (debt, issuance, auctions)), "
        "Net marketable bill issuance (Treasury Fiscal Data (debt, issuance, auctions)), "
    )
    assert "Foreign official custody holdings (FRED)" in missing
    assert "DVP repo (SOFR \u2212 BGCR volume) (derived)" in missing


@pytest.mark.parametrize(
    ("level", "share"),
    [(4.00, ">99%"), (4.10, "75\u201399%"), (4.20, "25\u201375%"), (4.35, "1\u201325%"), (4.45, "<1%")],
)
def test_volume_share_above_iorb_is_bracketed_by_percentiles(level: float, share: str) -> None:
    assert volume_share_above(level, 4.05, 4.15, 4.30, 4.45) == share  # 2025-10-31 percentiles


@pytest.mark.parametrize(
    ("day", "tags"),
    [
        ("2025-10-31", ["month_end"]),
        ("2025-09-30", ["quarter_end"]),
        ("2025-12-31", ["year_end"]),
        ("2025-10-30", []),
        ("2026-02-17", ["coupon_settlement"]),  # the 15th is a Sunday, the 16th Presidents Day
        ("2026-04-15", ["coupon_settlement", "tax_date"]),
        ("2026-01-15", ["coupon_settlement", "tax_date"]),
        ("2026-07-31", ["month_end"]),
        ("2027-04-30", ["month_end"]),
        ("2026-05-29", ["month_end"]),  # the 31st is a Sunday
        ("2025-11-17", ["coupon_settlement"]),  # the 15th is a Saturday
    ],
)
def test_calendar_tags(day: str, tags: list[str]) -> None:
    assert day_tags(date.fromisoformat(day)) == tags


def test_calendar_holidays_and_large_settlements() -> None:
    assert date(2026, 7, 3) not in fed_holidays(2026)  # July 4 on a Saturday is not moved
    assert date(2022, 6, 20) in fed_holidays(2022)  # Juneteenth on a Sunday, observed Monday
    assert not is_business_day(date(2025, 11, 11)) and not is_business_day(date(2025, 11, 27))
    assert day_tags(date(2025, 11, 13), {"2025-11-13": 99.9}) == []
    assert day_tags(date(2025, 11, 13), {"2025-11-13": 180.0}) == ["large_settlement"]


def test_weak_auction_rule() -> None:
    weak = weakness(ten_year("2025-11-12", 2.29, 0.19), PRIOR)
    assert [(w.measure, w.count) for w in weak] == [("btc", 10), ("dealer", 10)]
    assert weakness(ten_year("2025-11-12", 2.5, 0.13), PRIOR) == []
    assert weakness(ten_year("2025-11-12", 1.9, 0.4), PRIOR[: MIN_HISTORY - 1]) == []  # too little history


def test_auctions_reply(db: sqlite_utils.Database) -> None:
    upcoming = Auction("2025-11-13", "Bill", "4-Week", issue_date="2025-11-18", offering_bn=80.0)
    tba = Auction("2025-11-18", "Bill", "6-Week", reopening=True, issue_date="2025-11-25")
    thirty = Auction("2025-11-13", "Bond", "30-Year", issue_date="2025-11-17", offering_bn=25.0)
    three = Auction("2025-11-10", "Note", "3-Year", issue_date="2025-11-17", offering_bn=58.0)
    upsert_auctions(db, [upcoming, tba, thirty, three], fetched_at="x")
    reply = ask_db(db, "/auctions", ny(2025, 11, 12, 14, 0))
    text = body(reply)
    assert "11-13 4-Week Bill  $80.00B  settles 11-18" in text
    assert "11-18 6-Week Bill (reopening)  size TBA  settles 11-25" in text
    assert "11-12 10-Year Note  $42.00B  4.100%  btc 2.29  ind 64% dir 17% dlr 19%  \u26a0 weak" in text
    assert "10-08 10-Year Note  $42.00B  4.100%  btc 2.46  ind 71% dir 17% dlr 12%\n" in text
    assert "2 standard deviations of the last year of same-tenor auctions" in text
    assert "No tail is shown" in text
    # 3-, 10- and 30-year settle together on the 17th: $125B, a large settlement and the coupon date.
    assert (
        "Ahead: Mon 2025-11-17 a mid-month coupon settlement and a large auction settlement ($125.0B)."
        in text
    )


def test_auctions_without_data() -> None:
    reply = ask_db(seeded("empty"), "/auctions", SCENARIOS["empty"].now)
    assert reply.level == "warning"
    assert "No auction results stored yet." in body(reply)


def test_results_fill_an_announced_row_and_are_never_blanked(db: sqlite_utils.Database) -> None:
    announced = Auction("2025-11-12", "Bond", "30-Year", issue_date="2025-11-17", offering_bn=25.0)
    assert upsert_auctions(db, [announced], fetched_at="a") == [announced]
    result = replace(ten_year("2025-11-12", 2.37, 0.15), security_type="Bond", security_term="30-Year")
    result = replace(result, offering_bn=25.0, issue_date="2025-11-17")
    assert upsert_auctions(db, [result], fetched_at="b") == [result]
    assert upsert_auctions(db, [announced], fetched_at="c") == []  # the upcoming feed again: nothing lost
    (stored,) = [a for a in auctions_between(db, "2025-11-12", "2025-11-12") if a.security_type == "Bond"]
    assert stored == result


def test_weak_auction_alert_once_to_opted_in_chats_only(tmp_path: Path) -> None:
    """History is a silent baseline; a weak 10-year then reaches /subscribe auctions chats, once."""
    db = open_db(tmp_path / "a.db")
    at = iso_utc(NOW)
    opted = ensure_chat(db, "telegram", "100", title="desk", is_group=False, now=at)
    other = ensure_chat(db, "telegram", "200", title="other", is_group=False, now=at)
    subscribe(db, opted.id, "auctions", now=at)
    subscribe(db, other.id, "alerts", now=at)
    upsert_auctions(db, PRIOR, fetched_at=at)
    clock = {"now": ny(2025, 11, 12, 13, 5)}
    engine = AlertEngine(db, clock=lambda: clock["now"])
    first = engine.evaluate()
    assert "auction_weak" in first.baselined and first.queued == 0
    upsert_auctions(db, [ten_year("2025-11-12", 2.29, 0.19, issue="2025-11-17")], fetched_at=at)
    second = engine.evaluate()
    assert [a.key for a in second.alerts] == ["auction_weak:2025-11-12|Note|10-Year"]
    assert second.queued == 1
    (chat_id, payload) = db.execute(
        "SELECT o.chat_id, e.payload FROM outbox o JOIN events e ON e.key = o.event_key"
    ).fetchone()
    assert chat_id == opted.id
    text = reply_from_json(payload)[0].plain_text()
    assert text.startswith("\u26a0\ufe0f Weak auction: 10-Year Note \u2014 2025-11-12")
    assert "Bid-to-cover 2.29 vs a 2.50 average of the last year (10 auctions, 2 sd = 0.07)." in text
    assert "Dealers took 19.0% vs a 12.9% average of the last year (10 auctions, 2 sd = 1.8 pp)." in text
    assert engine.evaluate().queued == 0  # judged once
    # The public page lists it with the other alerts, in the reader's language.
    (en,) = [a for a in episodes_payload(db)["alerts"] if a["rule"] == "auction_weak"]
    (zh,) = [a for a in episodes_payload(db, "zh-TW")["alerts"] if a["rule"] == "auction_weak"]
    assert (en["date"], en["level"]) == ("2025-11-12", zh["level"])
    assert en["title"].startswith("\u26a0\ufe0f Weak auction: 10-Year Note")
    assert zh["title"] != en["title"] and any("\u4e00" <= ch <= "\u9fff" for ch in zh["title"])
    db.close()


def test_subscribe_auctions_command() -> None:
    db = seeded("empty")
    reply = ask_db(db, "/subscribe auctions", SCENARIOS["empty"].now)
    assert reply.title.startswith("\U0001f514 Weak-auction alerts on for this chat")
    assert "Weak-auction alerts: on" in body(ask_db(db, "/settings", SCENARIOS["empty"].now))
    off = body(ask_db(db, "/unsubscribe auctions", SCENARIOS["empty"].now))
    assert off == "Unsubscribed from weak-auction alerts."
