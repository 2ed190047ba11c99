"""A source's initial history is loaded in a process of its own, never beside the bot's event loop.

An empty database (or a series added since) starts with INITIAL_HISTORY_DAYS of history: about 100,000
values from every source together, decoded from megabytes of JSON and CSV, checked and stored. In the
bot's process that work runs on worker threads, but in pieces the loop cannot preempt: one `json.loads`
of a 4.6 MB Fiscal Data page holds the GIL 15-20 ms, a collector pass over the rows in flight 25-35 ms,
and the threads queue for the GIL ahead of the loop. Every chat waited 38-100 ms at a time during the
first poll (bench/bench_loop.py). In a child process (`python -m bot.sources.history_worker`) it cannot
stall the loop, which only reads the child's pipes; the child runs at a lower CPU priority, and its peak
memory is given back when it exits.

The child stores through its own connection with the bot's own poller code, so validation, the
all-or-nothing batches, the fetch log and the derived series are exactly the bot's. Its log records are
logged here as the bot's own. When it fails (killed, crashed, hung past the timeout) every source it did
not report gets a failed outcome and a fetch-log entry, so the usual backoff applies and the next poll
tries again; nothing half-stored is left, as each source's batch is one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.core.child import module_command
from bot.core.clock import iso_utc
from bot.core.config import Settings
from bot.sources.http import RetryPolicy
from bot.sources.poller import Poller, SourceOutcome
from storage.fetchlog import FetchRecord, record_fetch

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20 * 60.0  # five years from every source takes well under a minute; past this it is hung
STOP_GRACE_SECONDS = 5.0
_LINE_LIMIT = 1 << 20  # a log record with a traceback is one (long) line


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """What the history process is asked to do (pickled onto its stdin)."""

    settings: Settings
    retry: RetryPolicy
    names: tuple[str, ...]
    now: datetime  # the bot's clock when it asked; the process's clock runs on from it


def outcome_to_json(outcome: SourceOutcome) -> dict[str, Any]:
    """What the bot needs of an outcome: the stored rows stay in the database, and the process logs their
    counts."""
    window = outcome.window
    return {
        "source": outcome.source,
        "ok": outcome.ok,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "window": None if window is None else [window[0].isoformat(), window[1].isoformat()],
    }


def outcome_from_json(item: dict[str, Any]) -> SourceOutcome:
    """The bot's side of outcome_to_json: the change lists stay empty here."""
    window = item.get("window")
    return SourceOutcome(
        source=str(item["source"]),
        ok=bool(item["ok"]),
        error=None if item.get("error") is None else str(item["error"]),
        duration_ms=int(item.get("duration_ms", 0)),
        window=None if window is None else (date.fromisoformat(window[0]), date.fromisoformat(window[1])),
    )


class HistoryProcess:
    """Runs initial-history loads in a child process, one at a time, for the bot's poller."""

    def __init__(
        self, poller: Poller, retry: RetryPolicy, *, timeout_seconds: float = TIMEOUT_SECONDS
    ) -> None:
        self.poller = poller
        self.retry = retry
        self.timeout_seconds = timeout_seconds
        self.started = 0  # history processes started so far (tests read it)
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The history process's pid while one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def load(self, names: Sequence[str]) -> dict[str, SourceOutcome]:
        """Load the named sources' initial history; an outcome for every name, whatever the process does."""
        async with self._lock:
            started = self.poller.clock()
            t0 = time.perf_counter()
            if self._stopping:  # a tick that began as the bot stopped starts no process
                answer, code = b"", None
            else:
                answer, code = await self._run(
                    HistoryRequest(self.poller.settings, self.retry, tuple(names), started)
                )
            outcomes = _outcomes(answer)
            missing = [name for name in names if name not in outcomes]
            if not missing:
                return outcomes
            why = self._failure(code)
            duration_ms = int((time.perf_counter() - t0) * 1000)
            for name in missing:
                outcomes[name] = SourceOutcome(name, ok=False, error=why, duration_ms=duration_ms)
            if self._stopping:  # the bot is stopping: those sources are simply due at the next start
                return outcomes
            log.warning(
                "%s: initial history not loaded: %s; the next poll tries again", ", ".join(missing), why
            )
            for name in missing:
                record = FetchRecord(name, iso_utc(started), duration_ms, "error", why, 0)
                await self.poller.write(record_fetch, record)
            return outcomes

    async def _run(self, request: HistoryRequest) -> tuple[bytes, int | None]:
        """The process's answer and exit status (None when it was stopped for taking too long)."""
        argv, env = module_command("bot.sources.history_worker")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            limit=_LINE_LIMIT,
        )
        self._proc = proc
        self.started += 1
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        relay = asyncio.create_task(_relay_logs(proc.stderr))
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it died at once: no answer
                proc.stdin.write(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
                await proc.stdin.drain()
            try:
                answer = await asyncio.wait_for(proc.stdout.read(), self.timeout_seconds)
            except TimeoutError:
                return b"", None  # hung: stopped below, and load() says so
            return answer, await proc.wait()
        finally:
            await _stop(proc)  # cancelled (the bot is stopping) or done: never leave it running
            await relay
            self._proc = None

    def _failure(self, code: int | None) -> str:
        if self._stopping:
            return "stopped with the bot"
        if code is None:
            limit = self.timeout_seconds
            took = f"{limit / 60:.0f} min" if limit >= 120 else f"{limit:g} s"
            return f"the history load took over {took} and was stopped"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the history process was killed ({signal.Signals(-code).name})"
        return f"the history process exited with status {code} before reporting"

    async def close(self) -> None:
        """Stop a load in flight (its uncommitted batch is simply not stored) and wait for the process."""
        self._stopping = True
        proc = self._proc
        if proc is not None:
            await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """End of its input tells the process to exit at once; kill it if it has not within the grace."""
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    if proc.returncode is not None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def _relay_logs(stream: asyncio.StreamReader) -> None:
    """Log each of the process's records as the bot's own (same logger, same level)."""
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line past the limit: skip what is left of it
            continue
        if not line:
            return
        _log_line(line)


def _log_line(raw: bytes) -> None:
    text = raw.decode(errors="replace").rstrip()
    if not text:
        return
    try:
        item = json.loads(text)
        name, level, message = str(item["name"]), int(item["level"]), str(item["message"])
    except (ValueError, KeyError, TypeError):  # not a record: an interpreter error before logging began
        log.warning("history process: %s", text)
        return
    logging.getLogger(name).log(level, "%s", message)


def _outcomes(answer: bytes) -> dict[str, SourceOutcome]:
    try:
        items = json.loads(answer)["outcomes"]
        found = [outcome_from_json(item) for item in items]
    except (ValueError, KeyError, TypeError):
        return {}
    return {outcome.source: outcome for outcome in found}
