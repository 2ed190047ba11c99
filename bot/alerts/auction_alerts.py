"""The weak-auction alert: once per auction whose result falls outside its tenor's last year.

Marks (rule "auction_weak", one per auction) record what was judged, so an auction is alerted at most once
and a first run over stored history only takes a baseline.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlite_utils

from bot.alerts.rules import Alert
from bot.market.auctions import LOOKBACK_DAYS, weakness
from storage.auctions import auctions_between, same_tenor_results
from storage.marks import Mark, last_mark, load_marks, save_marks

RULE = "auction_weak"
# Results are re-judged this far back, so late-filled result fields are still noticed once.
RECHECK_DAYS = 10


def _item(auction_date: str, security_type: str, security_term: str) -> str:
    return f"{auction_date}|{security_type}|{security_term}"


def weak_auction_alerts(db: sqlite_utils.Database, today: str) -> tuple[list[Alert], bool]:
    """New weak-auction alerts, and whether this run took the baseline (nothing judged before); the
    marks of every judged result are saved, so each auction is judged once."""
    baseline = last_mark(db, RULE) is None
    since = date.fromisoformat(today) - timedelta(days=RECHECK_DAYS if not baseline else LOOKBACK_DAYS)
    marks = load_marks(db, RULE, since.isoformat())
    alerts: list[Alert] = []
    new_marks: list[Mark] = []
    for auction in auctions_between(db, since.isoformat(), today):
        if not auction.has_results or auction.bid_to_cover is None:
            continue
        item = _item(auction.auction_date, auction.security_type, auction.security_term)
        if item in marks:
            continue
        lookback = (date.fromisoformat(auction.auction_date) - timedelta(days=LOOKBACK_DAYS)).isoformat()
        prior = same_tenor_results(
            db, auction.security_type, auction.security_term, lookback, auction.auction_date
        )
        found = weakness(auction, prior)
        new_marks.append(Mark(item, auction.auction_date, auction.bid_to_cover, None, bool(found)))
        if not found or baseline:
            continue
        facts: dict[str, float | str | int | None] = {
            "security_type": auction.security_type,
            "security_term": auction.security_term,
            "offering": auction.offering_bn,
            "rate": auction.rate,
            "btc": auction.bid_to_cover,
            "indirect": auction.share("indirect"),
            "direct": auction.share("direct"),
            "dealer": auction.share("dealer"),
        }
        for w in found:
            facts[f"{w.measure}_mean"] = w.mean
            facts[f"{w.measure}_sd"] = w.sd
            facts[f"{w.measure}_n"] = w.count
        alerts.append(Alert(f"{RULE}:{item}", RULE, "start", auction.auction_date, facts))
    save_marks(db, RULE, new_marks)
    return alerts, baseline and bool(new_marks)
