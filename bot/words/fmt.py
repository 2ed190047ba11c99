"""Number formatting shared by every reply: rates, basis points and dollar amounts."""

from __future__ import annotations

from datetime import date


def pct(value: float | None, digits: int = 2) -> str:
    """4.22 -> '4.22%'."""
    return "n/a" if value is None else f"{value:.{digits}f}%"


def bp(value: float | None) -> str:
    """A signed spread in basis points: +22 bp, -3 bp, 0 bp."""
    if value is None:
        return "n/a"
    rounded = round(value)
    if rounded == 0:
        return "0 bp"
    return f"{rounded:+d} bp".replace("-", "\u2212")


def usd_bn(value: float | None, digits: int | None = None) -> str:
    """Billions in a readable unit: $925.9B, $6.606T, $0.004B for small SRF take-up."""
    if value is None:
        return "n/a"
    sign = "\u2212" if value < 0 else ""
    size = abs(value)
    if size >= 1000 and digits is None:
        return f"{sign}${size / 1000:,.3f}T"
    if digits is None:
        digits = 3 if size < 1 else (2 if size < 100 else 1)
    return f"{sign}${size:,.{digits}f}B"


def usd_bn_delta(value: float) -> str:
    """A signed change in billions: +$12.3B, -$1.204T."""
    text = usd_bn(abs(value))
    return ("+" if value >= 0 else "\u2212") + text


def weekday_date(iso: str) -> str:
    """'2025-10-31' -> 'Fri 2025-10-31'."""
    return date.fromisoformat(iso).strftime("%a ") + iso
