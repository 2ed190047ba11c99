"""Per-chat command rate limiting, so one flooding chat cannot starve the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False  # the chat was told to slow down in this flood


class ChatRateLimiter:
    """A token bucket per chat: `burst` commands at once, refilled at `per_minute` a minute."""

    def __init__(
        self, burst: int = 6, per_minute: float = 20.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def check(self, chat: str) -> float:
        """0.0 if the chat may run a command now (and takes a token), else seconds until it may."""
        now = self.clock()
        bucket = self._buckets.get(chat)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._evict(now)
            bucket = self._buckets[chat] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False  # under the limit again: the next flood gets its one warning
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def warn_once(self, chat: str) -> bool:
        """After check() refused: True the first time in a flood (say "slow down" once), then silence."""
        bucket = self._buckets.get(chat)
        if bucket is None or bucket.warned:
            return False
        bucket.warned = True
        return True

    def _evict(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.updated > full_after]:
            del self._buckets[key]
