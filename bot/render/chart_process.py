"""Charts are drawn in a child process, never in the bot's.

matplotlib's C++ rasteriser holds the GIL for tens of milliseconds per panel (a long SRF history, a
corridor since 2018), and a thread cannot preempt it: every chat on the bot's loop would wait. In a child
process it cannot stall the loop, and its imports, font caches and freed figure memory (about 40 MB) stay
out of the bot. The child (`python -m bot.render.chart_worker`) starts on the first chart, draws one chart
at a time, is replaced if it dies or hangs, and exits after `idle_seconds` without a chart, so a quiet bot
holds no matplotlib at all.

The pipe is read and written from a worker thread with blocking calls, which release the GIL while they
wait; the process belongs to no event loop, so one drawing process serves the front-ends, the delivery
worker and the console alike. This module imports neither matplotlib nor numpy.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import logging
import os
import pickle
import select
import subprocess
import threading
import time
from typing import IO

from bot.core.child import module_command
from bot.render.chart_worker import ANSWER, ERROR, HEADER
from bot.words.messages import t
from bot.words.reply import ChartData, Reply, Text

log = logging.getLogger(__name__)

IDLE_SECONDS = 600.0  # a chart every few minutes keeps the process warm; a quiet bot gives it back
TIMEOUT_SECONDS = 60.0  # a chart that takes longer is a hung process: it is killed and replaced


class ChartError(RuntimeError):
    """The chart could not be drawn; the message says why."""


class _Died(Exception):
    """The drawing process exited or closed its pipe before answering."""


class ChartProcess:
    """One drawing process, started when needed, replaced if it dies, stopped when idle."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self.timeout_seconds = timeout_seconds
        self.started = 0  # drawing processes started so far (tests and the soak read it)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one chart at a time through the pipe
        self._idle_timer: threading.Timer | None = None
        self._last_used = 0.0

    @property
    def pid(self) -> int | None:
        """The drawing process's pid while it runs (the soak samples its memory)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def warm(self) -> None:
        """Start the drawing process now (it loads matplotlib on its own), so the first chart a user asks
        for does not wait for it; it still stops after `idle_seconds` without a chart."""
        with self._lock:
            self._process()
            self._last_used = time.monotonic()
            self._arm_idle_timer()

    async def render(self, data: ChartData) -> bytes:
        """The chart as PNG bytes, drawn off the loop in the drawing process (see `draw`)."""
        return await asyncio.to_thread(self.draw, data)

    def draw(self, data: ChartData) -> bytes:
        """Blocking: the chart as PNG bytes. A process that died (killed, out of memory) is replaced and
        asked again, once; a hung one is killed; an error in drawing is raised as ChartError."""
        body = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            try:
                for attempt in (1, 2):
                    try:
                        return self._ask(body)
                    except _Died:
                        self._discard()
                        if attempt == 2:
                            raise ChartError("the drawing process exited before answering") from None
                        log.warning("charts: the drawing process died; starting a new one")
                    except TimeoutError:
                        self._discard()
                        raise ChartError(f"no chart after {self.timeout_seconds:.0f} s") from None
                raise AssertionError("unreachable")
            finally:
                self._last_used = time.monotonic()
                self._arm_idle_timer()

    def _ask(self, body: bytes) -> bytes:
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + self.timeout_seconds
        try:
            proc.stdin.write(HEADER.pack(len(body)) + body)
            proc.stdin.flush()
            status, size = ANSWER.unpack(_read(proc.stdout, ANSWER.size, deadline))
            payload = _read(proc.stdout, size, deadline)
        except (BrokenPipeError, ConnectionError, ValueError) as exc:
            raise _Died from exc
        if status == ERROR:
            raise ChartError(payload.decode(errors="replace"))
        return payload

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc
            self._stop()  # it died between charts: close its pipes before starting the next
        argv, env = module_command("bot.render.chart_worker")
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        self.started += 1
        log.info("charts: drawing process %d started", self._proc.pid)
        return self._proc

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = threading.Timer(self.idle_seconds, self._on_idle)
        self._idle_timer.daemon = True
        self._idle_timer.start()

    def _on_idle(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # drawing now: the next chart re-arms the timer
        try:
            if self._proc is None or time.monotonic() - self._last_used < self.idle_seconds:
                return
            log.info("charts: no chart for %.0f s; stopping the drawing process", self.idle_seconds)
            self._stop()
        finally:
            self._lock.release()

    def _stop(self, grace: float = 5.0) -> None:
        """Close the child's input (it exits at its end); kill it if it has not within the grace."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self._proc = None

    def _discard(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        self._stop()

    def close(self) -> None:
        """Stop the drawing process and wait for it to exit (blocking; at most a few seconds)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        with self._lock:
            self._stop()


def _read(stream: IO[bytes], size: int, deadline: float) -> bytes:
    """Exactly `size` bytes from the child, or _Died at its end, or TimeoutError past the deadline."""
    chunks: list[bytes] = []
    left = size
    while left:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError
        chunk = os.read(stream.fileno(), min(left, 1 << 20))
        if not chunk:
            raise _Died
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# The bot's one drawing process: every front-end, the delivery worker and the console share it.
CHARTS = ChartProcess()
atexit.register(CHARTS.close)


async def render_png_async(data: ChartData) -> bytes:
    """Draw a chart in the drawing process, off the event loop and out of the bot's memory."""
    return await CHARTS.render(data)


async def with_chart(reply: Reply) -> tuple[Reply, bytes | None]:
    """The reply and its chart as PNG. When the chart cannot be drawn the reply still goes out, as text,
    with a line saying the chart will be back (the chat never sees an error for it)."""
    if reply.chart is None:
        return reply, None
    try:
        return reply, await render_png_async(reply.chart)
    except ChartError as exc:
        log.warning("charts: could not draw %r (%s); answering with the text", reply.chart.title, exc)
        note = Text(t("chart.unavailable", reply.chart.lang))
        return dataclasses.replace(reply, chart=None, blocks=[*reply.blocks, note]), None
