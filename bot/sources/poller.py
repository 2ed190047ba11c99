"""The poller: fetch every source concurrently, store what changed, log every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import httpx
import sqlite_utils

from bot.core.clock import Clock, iso_utc, ny_today, utcnow
from bot.core.collector import collector_paused
from bot.core.config import Settings
from bot.core.models import Operation, SourceBatch, SourceError
from bot.core.offload import off_loop
from bot.core.series import DVP_INPUTS, NET_LIQUIDITY_INPUTS, UNTRACKED_SERIES
from bot.sources.derived import dvp_proxy, net_liquidity
from bot.sources.registry import SOURCES, SourceSpec
from bot.sources.validate import validate_batch
from storage.auctions import upsert_auctions
from storage.fetchlog import FetchRecord, record_fetch
from storage.meta import delete_meta, get_meta, set_meta
from storage.observations import Change, flag_source_revisions, history, newest_dates, upsert_observations
from storage.operations import upsert_operations

log = logging.getLogger(__name__)
R = TypeVar("R")

# An empty database starts with this much history so charts and comparisons work at once.
INITIAL_HISTORY_DAYS = 5 * 366
# The as-of join looks back this far for the latest weekly input before the first recomputed date.
_DERIVED_LOOKBACK_DAYS = 14
# How often an incremental poll looks back deep_lookback_days instead of lookback_days.
DEEP_LOOKBACK_EVERY = timedelta(days=7)


@dataclass(slots=True)
class SourceOutcome:
    source: str
    ok: bool
    error: str | None = None
    changes: list[Change] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    duration_ms: int = 0
    window: tuple[date, date] | None = None


@dataclass(slots=True)
class PollResult:
    outcomes: dict[str, SourceOutcome] = field(default_factory=dict)
    derived: list[Change] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        """Every stored change of this cycle, derived series included."""
        found = [c for o in self.outcomes.values() for c in o.changes]
        return found + self.derived

    @property
    def operations(self) -> list[Operation]:
        return [op for o in self.outcomes.values() for op in o.operations]

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes.values() if not o.ok]


class PollerClosedError(RuntimeError):
    """A write was asked for after shutdown began."""


class Poller:
    """Fetches sources into the database; one instance per process, writes serialised by a lock."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        db: sqlite_utils.Database,
        *,
        clock: Clock = utcnow,
        sources: dict[str, SourceSpec] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.db = db
        self.clock = clock
        self.sources = SOURCES if sources is None else sources
        self._write_lock = asyncio.Lock()
        self._closed = False

    async def poll(self, names: Iterable[str] | None = None, *, since: date | None = None) -> PollResult:
        """One cycle over the named sources (all by default); a failing source never stops the others."""
        specs = [self.sources[n] for n in (names if names is not None else self.sources)]
        # A backfill (an explicit since) is bulk work: decades of rows, see collector_paused.
        with collector_paused() if since is not None else contextlib.nullcontext():
            outcomes = await asyncio.gather(*(self._poll_source(spec, since) for spec in specs))
            result = PollResult(outcomes={o.source: o for o in outcomes})
            if any(o.ok or o.changes for o in outcomes):
                # Whatever was marked stale, by this poll or by one killed before its derive step.
                result.derived = await self.write(self._derive_stale)
        return result

    def window(self, spec: SourceSpec, since: date | None) -> tuple[date, date]:
        """The date range to fetch: since, or a short lookback from the stored data, or initial history."""
        today = ny_today(self.clock())
        end = today + timedelta(days=1)
        if since is not None:
            return max(since, spec.earliest), end
        newest = newest_dates(self.db)
        if _lacks_history(spec, newest):
            return max(today - timedelta(days=INITIAL_HISTORY_DAYS), spec.earliest), end
        stored = [newest[s] for s in spec.series]
        # A future date stored before validation existed must not hold the window past today for good.
        anchor = min(date.fromisoformat(min(stored)), today)
        lookback = spec.deep_lookback_days if self._deep_due(spec) else spec.lookback_days
        return anchor - timedelta(days=lookback), end

    def needing_history(self, names: Iterable[str]) -> list[str]:
        """The named sources whose poll would fetch the initial history (INITIAL_HISTORY_DAYS): one of their
        series has nothing stored yet (an empty database, or a series added since). One indexed read."""
        newest = newest_dates(self.db)
        return [name for name in names if _lacks_history(self.sources[name], newest)]

    def _deep_due(self, spec: SourceSpec) -> bool:
        last = get_meta(self.db, _deep_key(spec.name))
        today = ny_today(self.clock())
        return last is None or today - date.fromisoformat(last) >= DEEP_LOOKBACK_EVERY

    async def _poll_source(self, spec: SourceSpec, since: date | None) -> SourceOutcome:
        started = self.clock()
        t0 = time.perf_counter()
        start, end = self.window(spec, since)
        outcome = SourceOutcome(spec.name, ok=True, window=(start, end))
        try:
            batch = await spec.fetch(self.client, self.settings, start, end)
            if batch.source != spec.name:
                raise SourceError(spec.name, f"fetch returned a batch for {batch.source!r}")
            # All or nothing: a batch with one implausible value raises here, before any write. A backfill
            # checks a hundred thousand values: on a worker thread, not the event loop.
            batch = await off_loop(validate_batch, batch, start=start, end=end, today=ny_today(started))
            outcome.changes, outcome.operations = await self.write(self._store, batch)
            if batch.errors:
                outcome.ok = False
                outcome.error = "; ".join(batch.errors)
                log.warning("%s: partly failed: %s; the rest was stored", spec.name, outcome.error)
        except SourceError as exc:
            outcome.ok = False
            outcome.error = exc.problem
            log.warning("%s: poll failed: %s; stored data left as it was", spec.name, exc.problem)
        except Exception as exc:  # a bug in a parser must not take the poller down
            outcome.ok = False
            outcome.error = f"internal error ({type(exc).__name__})"
            log.exception("%s: poll crashed", spec.name)
        outcome.duration_ms = int((time.perf_counter() - t0) * 1000)
        record = FetchRecord(
            spec.name,
            iso_utc(started),
            outcome.duration_ms,
            "ok" if outcome.ok else "error",
            outcome.error,
            len(outcome.changes) + len(outcome.operations),
        )
        await self.write(record_fetch, record)
        today = ny_today(started)
        if outcome.ok and start <= today - timedelta(days=spec.deep_lookback_days):
            await self.write(set_meta, _deep_key(spec.name), today.isoformat())
        if outcome.ok and (outcome.changes or outcome.operations):
            log.info(
                "%s: %d values and %d operations changed (%s..%s)",
                spec.name,
                len(outcome.changes),
                len(outcome.operations),
                start,
                end,
            )
        return outcome

    async def write(self, fn: Callable[..., R], *args: object) -> R:
        """Run fn(db, *args) in a worker thread, one writer at a time (poller, engine and jobs share it)."""
        async with self._write_lock:
            if self._closed:
                raise PollerClosedError("the poller is shutting down")
            work = asyncio.get_running_loop().run_in_executor(None, fn, self.db, *args)
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # The thread cannot be stopped: hold the lock until it finishes, so nobody closes the
                # connection under it (that crashed the interpreter at shutdown).
                await asyncio.wait([work])
                raise

    async def close(self) -> None:
        """Wait for any write in flight and refuse new ones; call before closing the database."""
        async with self._write_lock:
            self._closed = True

    def _store(self, db: sqlite_utils.Database, batch: SourceBatch) -> tuple[list[Change], list[Operation]]:
        fetched_at = iso_utc(self.clock())
        with db.atomic():
            ops = upsert_operations(db, batch.operations, fetched_at=fetched_at)
            changes = upsert_observations(
                db, batch.observations, fetched_at=fetched_at, untracked=UNTRACKED_SERIES
            )
            if batch.auctions:
                upsert_auctions(db, batch.auctions, fetched_at=fetched_at)
            if batch.revised:
                flag_source_revisions(db, batch.revised, fetched_at)
            _mark_stale(db, changes)
        return changes, ops

    def _derive_stale(self, db: sqlite_utils.Database) -> list[Change]:
        """Net liquidity and the DVP proxy, recomputed from the earliest date their inputs changed.

        Those dates are marked in the transaction that stored the inputs (see _mark_stale) and cleared in
        the one that recomputes: a process killed in between (the history process with its bot, or the
        bot itself) leaves the mark, and the next poll derives what it never did."""
        derived: list[Change] = []
        with db.atomic():
            net_liquidity_from = get_meta(db, _STALE_NET_LIQUIDITY)
            dvp_from = get_meta(db, _STALE_DVP)
            if net_liquidity_from is not None:
                derived += self._recompute_net_liquidity(db, net_liquidity_from)
                delete_meta(db, _STALE_NET_LIQUIDITY)
            if dvp_from is not None:
                derived += self._recompute_dvp(db, dvp_from)
                delete_meta(db, _STALE_DVP)
        return derived

    def _recompute_net_liquidity(self, db: sqlite_utils.Database, first_changed: str) -> list[Change]:
        lookback = (date.fromisoformat(first_changed) - timedelta(days=_DERIVED_LOOKBACK_DAYS)).isoformat()
        assets, tga, rrp = (history(db, name, since=lookback) for name in NET_LIQUIDITY_INPUTS)
        derived = net_liquidity(assets, tga, rrp, since=first_changed)
        return upsert_observations(db, derived, fetched_at=iso_utc(self.clock()), untracked=UNTRACKED_SERIES)

    def _recompute_dvp(self, db: sqlite_utils.Database, first_changed: str) -> list[Change]:
        sofr_volume, bgcr_volume = (history(db, name, since=first_changed) for name in DVP_INPUTS)
        derived = dvp_proxy(sofr_volume, bgcr_volume, since=first_changed)
        return upsert_observations(db, derived, fetched_at=iso_utc(self.clock()), untracked=UNTRACKED_SERIES)


_STALE_NET_LIQUIDITY = "derived_stale_from.net_liquidity"
_STALE_DVP = "derived_stale_from.dvp_volume"


def _mark_stale(db: sqlite_utils.Database, changes: list[Change]) -> None:
    """Note, with the inputs just stored, the earliest date each derived series must be recomputed from.
    A backfill's 99,000 changes are looked through here, on the writer thread, not on the loop."""
    touched: list[str] = []
    repo: list[str] = []
    for change in changes:  # one pass
        if change.series in NET_LIQUIDITY_INPUTS:
            touched.append(change.date)
        elif change.series in DVP_INPUTS:
            repo.append(change.date)
    for key, dates in ((_STALE_NET_LIQUIDITY, touched), (_STALE_DVP, repo)):
        if dates:
            earliest = min(dates)
            marked = get_meta(db, key)
            set_meta(db, key, earliest if marked is None else min(marked, earliest))


def _lacks_history(spec: SourceSpec, newest: dict[str, str]) -> bool:
    """One of the source's series has nothing stored: its poll fetches the initial history."""
    return any(series not in newest for series in spec.series)


def _deep_key(source: str) -> str:
    return f"deep_lookback.{source}"
