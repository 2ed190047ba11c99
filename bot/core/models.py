"""Plain data records passed between sources, storage and handlers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Observation:
    """One value of one series on one date, in canonical units (percent or $bn)."""

    series: str
    date: str  # ISO YYYY-MM-DD
    value: float
    source: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One NY Fed open market repo or reverse repo operation, amounts in $bn."""

    operation_id: str
    operation_date: str
    operation_type: str  # "Repo" or "Reverse Repo"
    method: str
    settlement_type: str
    term: str
    session: str  # "AM", "PM" or "" (midday SVEs, odd times)
    is_sve: bool
    close_time: str
    total_submitted: float
    total_accepted: float
    rate: float | None  # Repo: minimumBidRate (ceiling); Reverse Repo: award rate (floor)
    treasury: float
    agency: float
    mbs: float
    last_updated: str
    note: str = ""
    release_time: str = ""


@dataclass(frozen=True, slots=True)
class Auction:
    """One Treasury auction, announced or with results; amounts in $bn, rates in percent."""

    auction_date: str
    security_type: str  # Bill, Note, Bond, TIPS, FRN, CMB
    security_term: str  # "4-Week", "10-Year", "9-Year 10-Month" (a reopening)
    cusip: str = ""
    reopening: bool = False
    announced_date: str | None = None
    issue_date: str | None = None
    maturity_date: str | None = None
    offering_bn: float | None = None
    total_tendered_bn: float | None = None
    total_accepted_bn: float | None = None
    dealer_bn: float | None = None
    direct_bn: float | None = None
    indirect_bn: float | None = None
    soma_bn: float | None = None
    bid_to_cover: float | None = None
    high_yield: float | None = None  # coupons
    high_discount_rate: float | None = None  # bills
    high_investment_rate: float | None = None  # bills, bond-equivalent

    @property
    def has_results(self) -> bool:
        return self.bid_to_cover is not None

    @property
    def rate(self) -> float | None:
        """The high yield of a coupon, or the high investment rate of a bill."""
        if self.high_yield is not None:
            return self.high_yield
        return self.high_investment_rate if self.high_investment_rate is not None else self.high_discount_rate

    def share(self, bidder: str) -> float | None:
        """A bidder class's share of the awards to the public (dealer, direct, indirect), in percent."""
        parts = {"dealer": self.dealer_bn, "direct": self.direct_bn, "indirect": self.indirect_bn}
        if any(v is None for v in parts.values()):
            return None
        total = sum(v for v in parts.values() if v is not None)
        value = parts[bidder]
        return None if total <= 0 or value is None else round(100 * value / total, 2)


@dataclass(slots=True)
class SourceBatch:
    """What one source fetch produced: observations and raw operations."""

    source: str
    observations: list[Observation] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    auctions: list[Auction] = field(default_factory=list)
    # Parts of the source that failed while the rest succeeded; what did arrive is still stored.
    errors: list[str] = field(default_factory=list)
    # (series, date) keys the source itself marks as revised (the NY Fed's revisionIndicator).
    revised: set[tuple[str, str]] = field(default_factory=set)


class SourceError(Exception):
    """A data source failed or sent something we cannot trust; names the source and why."""

    def __init__(self, source: str, problem: str, *, transient: bool = False) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem
        self.transient = transient
