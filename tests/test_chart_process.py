"""The drawing process: charts drawn in a child, exactly as in-process, and a bot that never loads
matplotlib; a child that dies, hangs, errs or idles is handled without losing the chart or the bot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.render.chart_process import ChartError, ChartProcess
from bot.render.charts import render_png
from bot.words.reply import ChartData, ChartPanel, ChartSeries
from tests.processes import alive
from tests.seed import seeded

ROOT = Path(__file__).resolve().parents[1]

# 2025-10-30/31: SOFR 4.04% then 4.22% against the 4.00% ceiling of the new range.
DAYS = ("2025-10-29", "2025-10-30", "2025-10-31")
MONTH_END = ChartData(
    "SOFR vs the ceiling",
    (
        ChartPanel(
            "%",
            (
                ChartSeries("SOFR", DAYS, (4.26, 4.04, 4.22), tag="4.22%"),
                ChartSeries("Ceiling (SRF)", DAYS, (4.25, 4.00, 4.00)),
            ),
        ),
    ),
    since="2025-10-29",
    until="2025-10-31",
    stamp="As of 2025-10-31 · Source: NY Fed",
)
BROKEN = ChartData("broken", (ChartPanel("%", (ChartSeries("SOFR", ("not a date",), (4.22,)),)),))


@pytest.fixture
def charts() -> Iterator[ChartProcess]:
    process = ChartProcess(idle_seconds=60, timeout_seconds=30)
    yield process
    process.close()


async def test_a_chart_drawn_in_the_child_is_the_chart_drawn_in_process(charts: ChartProcess) -> None:
    png = await charts.render(MONTH_END)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == render_png(MONTH_END)
    assert charts.pid is not None and charts.pid != os.getpid()


async def test_charts_asked_at_once_share_one_process_and_all_arrive(charts: ChartProcess) -> None:
    pngs = await asyncio.gather(*(charts.render(MONTH_END) for _ in range(4)))
    assert len(set(pngs)) == 1 and pngs[0].startswith(b"\x89PNG")
    assert charts.started == 1


def test_one_process_serves_every_event_loop(charts: ChartProcess) -> None:
    first = asyncio.run(charts.render(MONTH_END))
    pid = charts.pid
    second = asyncio.run(charts.render(MONTH_END))
    assert first == second
    assert charts.pid == pid and charts.started == 1


async def test_a_killed_process_is_replaced_and_the_chart_still_drawn(charts: ChartProcess) -> None:
    await charts.render(MONTH_END)
    first = charts.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    png = await charts.render(MONTH_END)
    assert png.startswith(b"\x89PNG")
    assert charts.started == 2 and charts.pid not in (None, first)


async def test_an_error_in_drawing_is_raised_and_the_process_lives_on(charts: ChartProcess) -> None:
    await charts.render(MONTH_END)
    pid = charts.pid
    with pytest.raises(ChartError, match="ValueError"):
        await charts.render(BROKEN)
    assert charts.pid == pid
    assert (await charts.render(MONTH_END)).startswith(b"\x89PNG")
    assert charts.started == 1


async def test_a_hung_process_is_killed_after_the_timeout_and_replaced() -> None:
    # A cold start (matplotlib, fonts) takes over a second on this 2-core machine: the process is warmed
    # with time to spare, and only the hung request is held to the 1-second timeout.
    charts = ChartProcess(idle_seconds=60, timeout_seconds=60)
    try:
        await charts.render(MONTH_END)
        hung = charts.pid
        assert hung is not None
        charts.timeout_seconds = 1
        os.kill(hung, signal.SIGSTOP)
        with pytest.raises(ChartError, match="no chart after 1 s"):
            await charts.render(MONTH_END)
        assert not alive(hung)
        charts.timeout_seconds = 60  # the replacement starts cold too
        assert (await charts.render(MONTH_END)).startswith(b"\x89PNG")
        assert charts.started == 2
    finally:
        charts.close()


async def test_an_idle_process_exits_and_the_next_chart_starts_another() -> None:
    charts = ChartProcess(idle_seconds=0.5, timeout_seconds=30)
    try:
        await charts.render(MONTH_END)
        pid = charts.pid
        assert pid is not None
        deadline = time.monotonic() + 10
        while charts.pid is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert charts.pid is None and not alive(pid)
        assert (await charts.render(MONTH_END)).startswith(b"\x89PNG")
        assert charts.started == 2
    finally:
        charts.close()


def test_close_stops_the_process(charts: ChartProcess) -> None:
    charts.warm()
    pid = charts.pid
    assert pid is not None
    charts.close()
    assert charts.pid is None and not alive(pid)


_BOT_PROCESS = """
import asyncio, sys
from bot.core.lean import leave_out_numpy
leave_out_numpy()  # as `plumbline run` does
import bot.app, bot.frontends.telegram_bot, bot.frontends.discord_bot, bot.delivery.worker, bot.web.server
from bot.render.chart_process import CHARTS, render_png_async
from handlers.table import dispatch
from storage.db import open_db
from bot.words.reply import Context
from datetime import datetime, UTC

db = open_db(sys.argv[1], migrate=False)
ctx = Context(platform="telegram", chat_id="1", user_id="1", now=datetime(2025, 10, 31, 22, tzinfo=UTC))
reply = dispatch("/chart spread 1m", ctx, db)
png = asyncio.run(render_png_async(reply.chart))
assert png.startswith(b"\\x89PNG"), png[:8]
print("matplotlib" in sys.modules, sys.modules.get("numpy") is not None)
"""


def test_the_bot_process_draws_without_importing_matplotlib_or_numpy(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done = subprocess.run(
        [sys.executable, "-c", _BOT_PROCESS, str(tmp_path / "c.db")],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"], done.stdout  # matplotlib, numpy
