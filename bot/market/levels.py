"""The corridor's rules on levels, written once: the breach test, nearness to the ceiling, the TGA target."""

from __future__ import annotations

# Treasury's stated end-of-quarter cash balance target ($bn) that /tga and the summary compare against.
TGA_TARGET_BN = 850.0

# Rates are published to two to four decimals, so a gap this small is rounding noise, not a breach.
_TOLERANCE_BP = 1e-7


def gap_bp(sofr: float, ceiling: float) -> float:
    """Room left under the ceiling in basis points (negative when SOFR is above it)."""
    return (ceiling - sofr) * 100


def is_breach(sofr: float, ceiling: float | None) -> bool:
    """SOFR printed above the ceiling."""
    return ceiling is not None and gap_bp(sofr, ceiling) < -_TOLERANCE_BP


def is_near(sofr: float, ceiling: float | None, within_bp: float) -> bool:
    """SOFR at or under the ceiling by at most within_bp (a breach is not 'near')."""
    if ceiling is None or is_breach(sofr, ceiling):
        return False
    return gap_bp(sofr, ceiling) <= within_bp + _TOLERANCE_BP
