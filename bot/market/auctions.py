"""The weak-auction rule, pure: a result far outside the last year of same-tenor auctions."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.models import Auction

# A result is weak when its bid-to-cover is more than SIGMAS standard deviations below, or its dealer
# share more than SIGMAS above, the mean of the same security type and term over the last LOOKBACK_DAYS.
SIGMAS = 2.0
LOOKBACK_DAYS = 365
# Fewer prior auctions than this and no verdict is given (a new tenor, a short history).
MIN_HISTORY = 6


@dataclass(frozen=True, slots=True)
class Weakness:
    measure: str  # "btc" or "dealer"
    value: float
    mean: float
    sd: float
    count: int


def weakness(auction: Auction, prior: Sequence[Auction]) -> list[Weakness]:
    """Which of the auction's measures fall outside the band of the prior same-tenor results."""
    found: list[Weakness] = []
    if not auction.has_results:
        return found
    measures: list[tuple[str, float | None, list[float], float]] = [
        ("btc", auction.bid_to_cover, [a.bid_to_cover for a in prior if a.bid_to_cover is not None], -1.0),
    ]
    dealer_prior = [s for a in prior if (s := a.share("dealer")) is not None]
    measures.append(("dealer", auction.share("dealer"), dealer_prior, 1.0))
    for name, value, values, direction in measures:
        if value is None or len(values) < MIN_HISTORY:
            continue
        mean = statistics.fmean(values)
        sd = statistics.stdev(values)
        if sd <= 0:
            continue
        if direction * (value - mean) > SIGMAS * sd:
            found.append(Weakness(name, value, round(mean, 4), round(sd, 4), len(values)))
    return found
