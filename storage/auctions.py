"""Treasury auctions: announced rows and their results, one row per auction."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import sqlite_utils

from bot.core.models import Auction

_COLUMNS = [f.name for f in fields(Auction)]
# An Auction's fields as a tuple in column order (dataclasses.astuple deep-copies, ten times slower).
_VALUES = operator.attrgetter(*_COLUMNS)
# An announcement read after the results must not blank them: a NULL never overwrites a value.
_UPSERT = (
    "INSERT INTO auctions ("
    "auction_date, security_type, security_term, cusip, reopening, announced_date, issue_date, "
    "maturity_date, offering_bn, total_tendered_bn, total_accepted_bn, dealer_bn, direct_bn, "
    "indirect_bn, soma_bn, bid_to_cover, high_yield, high_discount_rate, high_investment_rate, fetched_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (auction_date, security_type, security_term) DO UPDATE SET "
    "cusip = CASE WHEN excluded.cusip = '' THEN auctions.cusip ELSE excluded.cusip END, "
    "reopening = COALESCE(excluded.reopening, auctions.reopening), "
    "announced_date = COALESCE(excluded.announced_date, auctions.announced_date), "
    "issue_date = COALESCE(excluded.issue_date, auctions.issue_date), "
    "maturity_date = COALESCE(excluded.maturity_date, auctions.maturity_date), "
    "offering_bn = COALESCE(excluded.offering_bn, auctions.offering_bn), "
    "total_tendered_bn = COALESCE(excluded.total_tendered_bn, auctions.total_tendered_bn), "
    "total_accepted_bn = COALESCE(excluded.total_accepted_bn, auctions.total_accepted_bn), "
    "dealer_bn = COALESCE(excluded.dealer_bn, auctions.dealer_bn), "
    "direct_bn = COALESCE(excluded.direct_bn, auctions.direct_bn), "
    "indirect_bn = COALESCE(excluded.indirect_bn, auctions.indirect_bn), "
    "soma_bn = COALESCE(excluded.soma_bn, auctions.soma_bn), "
    "bid_to_cover = COALESCE(excluded.bid_to_cover, auctions.bid_to_cover), "
    "high_yield = COALESCE(excluded.high_yield, auctions.high_yield), "
    "high_discount_rate = COALESCE(excluded.high_discount_rate, auctions.high_discount_rate), "
    "high_investment_rate = COALESCE(excluded.high_investment_rate, auctions.high_investment_rate), "
    "fetched_at = excluded.fetched_at"
)
_SELECT = (
    "SELECT "
    "auction_date, security_type, security_term, cusip, reopening, announced_date, issue_date, "
    "maturity_date, offering_bn, total_tendered_bn, total_accepted_bn, dealer_bn, direct_bn, "
    "indirect_bn, soma_bn, bid_to_cover, high_yield, high_discount_rate, high_investment_rate "
    "FROM auctions"
)


def _from_row(row: tuple[Any, ...]) -> Auction:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["reopening"] = bool(values["reopening"])
    return Auction(**values)


def upsert_auctions(
    db: sqlite_utils.Database, auctions: Iterable[Auction], *, fetched_at: str
) -> list[Auction]:
    """Store auctions; returns those that are new or whose stored row changed (results arriving), once
    each, as stored now, in the order they came."""
    incoming = list(auctions)
    if not incoming:
        return []
    keys = list(dict.fromkeys((a.auction_date, a.security_type, a.security_term) for a in incoming))
    days = (min(k[0] for k in keys), max(k[0] for k in keys))

    def stored() -> dict[tuple[str, str, str], tuple[Any, ...]]:
        rows = db.execute(_SELECT + " WHERE auction_date BETWEEN ? AND ?", days).fetchall()
        return {(row[0], row[1], row[2]): tuple(row) for row in rows}

    # One read before, one batch of upserts, one read after: a backfill's thousand auctions were three
    # statements each.
    before = stored()
    db.conn.executemany(_UPSERT, [(*_VALUES(auction), fetched_at) for auction in incoming])
    after = stored()
    return [_from_row(after[key]) for key in keys if before.get(key) != after[key]]


def auctions_between(db: sqlite_utils.Database, since: str, until: str) -> list[Auction]:
    """Auctions held in a date range, oldest first."""
    rows = db.execute(
        _SELECT + " WHERE auction_date BETWEEN ? AND ? ORDER BY auction_date, security_type, security_term",
        (since, until),
    ).fetchall()
    return [_from_row(r) for r in rows]


def settling_between(db: sqlite_utils.Database, since: str, until: str) -> list[Auction]:
    """Auctions whose issue (settlement) date falls in a range, oldest first."""
    rows = db.execute(
        _SELECT + " WHERE issue_date BETWEEN ? AND ? ORDER BY issue_date, security_type, security_term",
        (since, until),
    ).fetchall()
    return [_from_row(r) for r in rows]


def recent_results(db: sqlite_utils.Database, limit: int = 8, until: str = "9999-12-31") -> list[Auction]:
    """The latest auctions with results, newest first."""
    rows = db.execute(
        _SELECT + " WHERE bid_to_cover IS NOT NULL AND auction_date <= ? ORDER BY auction_date DESC, "
        "security_type, security_term LIMIT ?",
        (until, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]


def same_tenor_results(
    db: sqlite_utils.Database, security_type: str, security_term: str, since: str, before: str
) -> list[Auction]:
    """Results of the same security type and term in [since, before), oldest first."""
    rows = db.execute(
        _SELECT + " WHERE security_type = ? AND security_term = ? AND auction_date >= ? AND auction_date < ? "
        "AND bid_to_cover IS NOT NULL ORDER BY auction_date",
        (security_type, security_term, since, before),
    ).fetchall()
    return [_from_row(r) for r in rows]
