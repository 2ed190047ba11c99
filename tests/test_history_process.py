"""The history process: a source's initial history is loaded in a child, through the bot's own poller
code; whatever the child does (answers, fails, dies, hangs, outlives the bot), the bot knows it, logs it
and recovers."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.app import PollDriver
from bot.core.child import module_command
from bot.core.config import Settings, load_settings
from bot.sources.history_process import (
    HistoryProcess,
    HistoryRequest,
    _log_line,
    outcome_from_json,
    outcome_to_json,
)
from bot.sources.http import RetryPolicy, make_client
from bot.sources.poller import Poller, PollResult, SourceOutcome
from bot.sources.registry import SOURCES
from storage.db import open_db
from storage.fetchlog import last_fetches
from storage.observations import value_on
from tests.fakes.history import real_cases_history
from tests.fakes.sources import FakeSources
from tests.processes import alive

NOW = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
# Every source is due at every tick: the tests say when a tick happens.
EVERY_TICK = timedelta(0)


class Recording(HistoryProcess):
    """The real history process, noting which sources each load was asked for."""

    def __init__(self, poller: Poller, retry: RetryPolicy, **kwargs: float) -> None:
        super().__init__(poller, retry, **kwargs)
        self.asked: list[list[str]] = []

    async def load(self, names: Sequence[str]) -> dict[str, SourceOutcome]:
        self.asked.append(list(names))
        return await super().load(names)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSources]:
    async with FakeSources(real_cases_history()) as server:
        yield server


def _settings(fake: FakeSources, tmp_path: Path, timeout: str = "15") -> Settings:
    env = {**fake.env(), "DATABASE_PATH": str(tmp_path / "p.db"), "HTTP_TIMEOUT_SECONDS": timeout}
    return load_settings(env, env_file=None)


class _Bot:
    """A poll driver with the history process, as `plumbline run` builds it."""

    def __init__(self, settings: Settings, **history: float) -> None:
        self.db = open_db(settings.database_path)
        self.client = make_client(settings.http_timeout_seconds, FAST)
        self.poller = Poller(settings, self.client, open_db(settings.database_path), clock=lambda: NOW)
        self.history = Recording(self.poller, FAST, **history)
        self.driver = PollDriver(
            self.poller, fixed_interval=EVERY_TICK, clock=lambda: NOW, history=self.history
        )

    async def tick(self) -> PollResult:
        result = await self.driver.tick()
        assert result is not None
        return result

    async def close(self) -> None:
        await self.driver.close()
        await self.poller.close()
        await self.client.aclose()
        self.poller.db.close()
        self.db.close()


@pytest.fixture
async def bot(fake: FakeSources, tmp_path: Path) -> AsyncIterator[_Bot]:
    running = _Bot(_settings(fake, tmp_path))
    yield running
    await running.close()


async def _history_pid(history: HistoryProcess, within: float = 30.0) -> int:
    deadline = time.monotonic() + within
    while history.pid is None:
        assert time.monotonic() < deadline, "no history process started"
        await asyncio.sleep(0.02)
    return history.pid


def _fetch_outcomes(db: sqlite_utils.Database) -> dict[str, tuple[str, str | None]]:
    return {name: (record.outcome, record.error) for name, record in last_fetches(db).items()}


# Real values the fake serves, from the NY Fed, the H.4.1 (FRED) and the Daily Treasury Statement.
REAL_VALUES = [
    ("sofr", "2026-02-05", 3.65),
    ("sofr_volume", "2026-02-05", 3228),
    ("fed_assets", "2026-02-18", 6605.432),  # $ billions, from millions
    ("tga", "2026-06-23", 925.876),
]


async def test_an_empty_database_loads_its_history_in_the_child_then_polls_in_process(
    bot: _Bot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        first = await bot.tick()
    assert bot.history.asked == [list(SOURCES)]
    assert bot.history.started == 1
    assert all(o.ok for o in first.outcomes.values()), {n: o.error for n, o in first.outcomes.items()}
    assert set(first.outcomes) == set(SOURCES)
    for series, day, value in REAL_VALUES:
        assert value_on(bot.db, series, day) == pytest.approx(value), series
    assert {name: outcome for name, (outcome, _) in _fetch_outcomes(bot.db).items()} == dict.fromkeys(
        SOURCES, "ok"
    )
    # The child's log records are the bot's own: same logger, same level, same words.
    relayed = [
        r for r in caplog.records if r.name == "bot.sources.poller" and "operations changed" in r.getMessage()
    ]
    assert {r.getMessage().split(":")[0] for r in relayed} >= {"nyfed", "fred", "fiscaldata"}
    assert all(r.levelno == logging.INFO for r in relayed)

    second = await bot.tick()
    assert bot.history.started == 1  # history is stored: the short lookback runs in the bot's process
    assert all(o.ok for o in second.outcomes.values())
    assert not second.changes  # nothing new at the source


async def test_only_a_source_missing_a_series_goes_back_to_the_child(bot: _Bot) -> None:
    await bot.tick()
    # A series added to FRED's list in an upgrade: nothing stored for it yet.
    with bot.db.atomic():
        bot.db.execute("DELETE FROM observations WHERE series = 'reserves'")
    result = await bot.tick()
    assert bot.history.asked == [list(SOURCES), ["fred"]]
    assert result.outcomes["fred"].ok and result.outcomes["nyfed"].ok
    assert value_on(bot.db, "reserves", "2026-02-18") == pytest.approx(2960.0)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("html", "expected JSON but got an HTML page"),
        ("renamed_field", "SOFR 2026-06-30: percentRate is missing"),
        ("500", "HTTP 500 after 2 attempts"),
    ],
)
async def test_a_bad_source_in_the_child_stores_nothing_of_it_and_recovers(
    bot: _Bot, fake: FakeSources, fault: str, error: str
) -> None:
    fake.set_fault("nyfed", fault)
    result = await bot.tick()
    nyfed = result.outcomes["nyfed"]
    assert not nyfed.ok and nyfed.error is not None and error in nyfed.error
    assert value_on(bot.db, "sofr", "2026-02-05") is None  # all or nothing
    assert value_on(bot.db, "tga", "2026-06-23") == pytest.approx(925.876)  # the others are stored
    assert _fetch_outcomes(bot.db)["nyfed"][0] == "error"

    fake.clear_faults()
    again = await bot.tick()
    assert bot.history.asked[-1] == ["nyfed"] and again.outcomes["nyfed"].ok
    assert value_on(bot.db, "sofr", "2026-02-05") == pytest.approx(3.65)


async def test_a_killed_history_process_fails_what_it_did_not_report_and_the_next_tick_retries(
    fake: FakeSources, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = _Bot(_settings(fake, tmp_path, timeout="60"))
    try:
        fake.set_fault("treasury", "timeout")  # the child waits on the Treasury until it is killed
        tick = asyncio.create_task(running.tick())
        pid = await _history_pid(running.history)
        deadline = time.monotonic() + 30
        while set(_fetch_outcomes(running.db)) != {"nyfed", "fred", "fiscaldata"}:  # the others commit first
            assert time.monotonic() < deadline, _fetch_outcomes(running.db)
            await asyncio.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING):
            result = await asyncio.wait_for(tick, 30)
        assert not alive(pid)
        why = "the history process was killed (SIGKILL)"
        assert {o.error for o in result.outcomes.values()} == {why}
        assert _fetch_outcomes(running.db) == dict.fromkeys(SOURCES, ("error", why))  # the backoff applies
        assert any("initial history not loaded" in r.getMessage() for r in caplog.records)

        fake.clear_faults()
        again = await running.tick()
        assert all(o.ok for o in again.outcomes.values()), {n: o.error for n, o in again.outcomes.items()}
        # What the killed process had committed stayed; only what it had not is fetched again.
        assert running.history.asked[-1] == ["treasury"]
        for series, day, value in REAL_VALUES:
            assert value_on(running.db, series, day) == pytest.approx(value), series
    finally:
        await running.close()


async def test_a_hung_history_process_is_stopped_after_its_timeout(fake: FakeSources, tmp_path: Path) -> None:
    running = _Bot(_settings(fake, tmp_path, timeout="60"), timeout_seconds=3.0)
    try:
        fake.set_fault("fred", "timeout")
        tick = asyncio.create_task(running.tick())
        pid = await _history_pid(running.history)
        result = await asyncio.wait_for(tick, 30)
        assert not alive(pid) and running.history.pid is None
        assert result.outcomes["fred"].error == "the history load took over 3 s and was stopped"
        assert _fetch_outcomes(running.db)["fred"] == (
            "error",
            "the history load took over 3 s and was stopped",
        )
    finally:
        await running.close()


async def test_stopping_the_bot_mid_load_stops_the_process_and_leaves_the_sources_due(
    fake: FakeSources, tmp_path: Path
) -> None:
    running = _Bot(_settings(fake, tmp_path, timeout="60"))
    try:
        fake.set_fault("fred", "timeout")
        tick = asyncio.create_task(running.tick())
        pid = await _history_pid(running.history)
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        await running.driver.close()
        assert time.monotonic() - t0 < 3.0  # the end of its input stops it at once, not after the grace
        assert not alive(pid)
        result = await asyncio.wait_for(tick, 10)
        assert result.outcomes["fred"].error == "stopped with the bot"
        # No failure is recorded for what the bot itself stopped: fred is simply due at the next start.
        assert "fred" not in last_fetches(running.db)
        assert value_on(running.db, "reserves", "2026-02-18") is None
    finally:
        await running.close()


def test_the_history_process_exits_as_soon_as_the_bot_is_gone(fake: FakeSources, tmp_path: Path) -> None:
    """kill -9 of the bot closes the child's input; the child must not go on writing to the database."""
    settings = _settings(fake, tmp_path, timeout="60")
    open_db(settings.database_path).close()
    fake.set_fault("fred", "timeout")
    argv, env = module_command("bot.sources.history_worker")
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert child.stdin is not None
    child.stdin.write(pickle.dumps(HistoryRequest(settings, FAST, ("fred",), NOW)))
    child.stdin.flush()
    time.sleep(1.0)
    assert child.poll() is None  # still waiting on FRED
    child.stdin.close()  # what the bot's death does to the pipe
    assert child.wait(5) == 3
    assert child.stdout is not None and child.stderr is not None
    with child.stdout, child.stderr:
        assert child.stdout.read() == b""  # no answer: nothing to report


def test_a_request_that_never_came_ends_the_process_quietly() -> None:
    argv, env = module_command("bot.sources.history_worker")
    done = subprocess.run(argv, input=b"", capture_output=True, env=env, timeout=60, check=False)
    assert done.returncode == 3 and done.stdout == b"" and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("line", "logger", "level", "message"),
    [
        (
            b'{"name": "bot.sources.poller", "level": 30, "message": "fred: poll failed: timed out"}\n',
            "bot.sources.poller",
            logging.WARNING,
            "fred: poll failed: timed out",
        ),
        (
            b'{"name": "bot.sources.poller", "level": 20, "message": "nyfed: 42941 values changed"}\n',
            "bot.sources.poller",
            logging.INFO,
            "nyfed: 42941 values changed",
        ),
        (
            b"Traceback (most recent call last):\n",
            "bot.sources.history_process",
            logging.WARNING,
            "history process: Traceback (most recent call last):",
        ),
        (
            b'["not", "a", "record"]\n',
            "bot.sources.history_process",
            logging.WARNING,
            'history process: ["not", "a", "record"]',
        ),
        (
            b'{"name": "x", "level": "loud", "message": "m"}\n',
            "bot.sources.history_process",
            logging.WARNING,
            None,
        ),
        (
            b"\xff\xfe garbage\n",
            "bot.sources.history_process",
            logging.WARNING,
            "history process: \ufffd\ufffd garbage",
        ),
    ],
)
def test_each_line_the_process_writes_is_logged_as_the_bots_own(
    caplog: pytest.LogCaptureFixture, line: bytes, logger: str, level: int, message: str | None
) -> None:
    with caplog.at_level(logging.DEBUG):
        _log_line(line)
    assert [(r.name, r.levelno) for r in caplog.records] == [(logger, level)]
    if message is not None:
        assert caplog.records[0].getMessage() == message


def test_an_empty_line_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        _log_line(b"\n")
    assert caplog.records == []


def test_an_outcome_crosses_the_pipe_with_what_the_bot_needs() -> None:
    outcome = SourceOutcome(
        "nyfed", ok=False, error="changed schema: no refRates list", duration_ms=812,
        window=(date(2021, 6, 30), date(2026, 7, 2)),
    )  # fmt: skip
    back = outcome_from_json(outcome_to_json(outcome))
    assert back == outcome
    assert outcome_to_json(SourceOutcome("fred", ok=True))["window"] is None


async def test_a_load_asked_for_after_the_bot_stopped_starts_no_process(bot: _Bot) -> None:
    await bot.driver.close()
    outcomes = await bot.history.load(["nyfed"])
    assert bot.history.started == 0
    assert outcomes["nyfed"].error == "stopped with the bot"
    assert last_fetches(bot.db) == {}
