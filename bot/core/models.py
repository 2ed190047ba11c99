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


@dataclass(slots=True)
class SourceBatch:
    """What one source fetch produced: observations and raw operations."""

    source: str
    observations: list[Observation] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    # Parts of the source that failed while the rest succeeded; what did arrive is still stored.
    errors: list[str] = field(default_factory=list)


class SourceError(Exception):
    """A data source failed or sent something we cannot trust; names the source and why."""

    def __init__(self, source: str, problem: str, *, transient: bool = False) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem
        self.transient = transient
