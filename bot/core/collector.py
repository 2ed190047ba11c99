"""Pausing the cyclic garbage collector around bulk work; overlapping pauses nest, from any thread."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic collector off until the last overlapping pause ends.

    A backfill builds hundreds of thousands of short-lived acyclic objects (decoded rows, observations,
    rows to insert); the collector's passes over them cost a sixth of its CPU time. Reference counting
    still frees everything at once, and a collector that was on is back on when the last pause ends."""
    with _PAUSES.lock:
        if _PAUSES.depth == 0:
            _PAUSES.resume = gc.isenabled()
            gc.disable()
        _PAUSES.depth += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.depth -= 1
            if _PAUSES.depth == 0 and _PAUSES.resume:
                gc.enable()
