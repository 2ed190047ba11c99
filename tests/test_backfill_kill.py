"""A backfill killed part-way (SIGKILL) leaves a sound database, and a rerun completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from storage.db import integrity_ok, open_db
from storage.observations import latest
from tests.fakes.history import synthetic_history
from tests.fakes.sources import FakeSourcesThread

ROOT = Path(__file__).resolve().parents[1]


def _env(fake: FakeSourcesThread, db_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "FRED_API_KEY"))}
    env.update(fake.env())
    env.update({"DATABASE_PATH": str(db_path), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    return env


def _rows(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_during_backfill_then_rerun(tmp_path: Path) -> None:
    db_path = tmp_path / "kill.db"
    history = synthetic_history(date(2000, 1, 1), date(2026, 6, 30), seed=7)
    with FakeSourcesThread(history, latency=0.02) as fake:
        command = [sys.executable, "-m", "bot.cli", "backfill", "--since", "2000-01-01"]
        proc = subprocess.Popen(command, env=_env(fake, db_path), cwd=tmp_path)
        deadline = time.monotonic() + 60
        while _rows(db_path) == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        killed_midway = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        partial = _rows(db_path)

        db = open_db(db_path)
        assert integrity_ok(db)
        db.close()

        rerun = subprocess.run(
            command, env=_env(fake, db_path), cwd=tmp_path, timeout=240, capture_output=True
        )
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]

    db = open_db(db_path)
    assert integrity_ok(db)
    complete = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    assert complete > partial or not killed_midway
    sofr = latest(db, "sofr")
    assert sofr is not None and sofr.date == history.latest("sofr")[0]  # type: ignore[index]
    for series in ("tga", "fed_assets", "rrp", "srf", "net_liquidity"):
        assert latest(db, series) is not None, series
    db.close()
