"""CPU-bound work (decoding, parsing and checking years of rows) off the event loop, on one thread.

One thread, not a pool: under the GIL more threads parse no faster, and every extra busy thread is one
more in line for the GIL ahead of the event loop. With a single one, the loop waits about one switch
interval (5 ms) for its turn; with four, a backfill stalled it 40-60 ms (measured).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

_CPU = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu")


async def off_loop(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Run fn(*args, **kwargs) on the CPU thread and await its result."""
    call = functools.partial(fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_CPU, call)
