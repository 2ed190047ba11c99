"""The local console and `plumbline ask`: the same command table, rendered as plain text."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.config import load_settings
from bot.frontends.console import run_console
from tests.seed import SCENARIOS, seeded

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _cli(
    tmp_path: Path, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update({"DATABASE_PATH": str(tmp_path / "c.db"), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_ask_prints_one_reply(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done = _cli(tmp_path, "ask", "/corridor")
    assert done.returncode == 0, done.stderr
    assert "Fed funds corridor \u2014 Fri 2025-10-31" in done.stdout
    assert "BREACH: SOFR is 22 bp above the ceiling" in done.stdout
    assert "<b>" not in done.stdout  # plain text, not Telegram HTML


def test_ask_saves_the_chart(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done = _cli(tmp_path, "ask", "/chart corridor 3m", "--chart", "out.png")
    assert done.returncode == 0, done.stderr
    png = (tmp_path / "out.png").read_bytes()
    assert png.startswith(PNG)
    assert "Chart saved to out.png" in done.stdout


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/chart nonsense", "Usage: /chart <corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers>"),
        ("/wat", "Unknown command /wat"),
    ],
)
def test_ask_bad_input_exits_non_zero_with_a_clear_line(tmp_path: Path, line: str, expected: str) -> None:
    done = _cli(tmp_path, "ask", line)
    assert done.returncode == 1
    assert expected in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("POLL_INTERVAL_SECONDS=often\n")
    done = _cli(tmp_path, "status")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "plumbline: configuration error: POLL_INTERVAL_SECONDS must be a number, got 'often'"
    )


def test_missing_database_folder_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update({"DATABASE_PATH": str(tmp_path / "nope" / "c.db"), "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "status"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "database folder" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


async def test_console_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = seeded("srf_feb_2026", tmp_path / "c.db")
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "c.db")}, env_file=None)
    lines = iter(["srf", "", "/chart srf 1m", "/nope", "quit", "/never-reached"])
    out: list[str] = []
    stop = asyncio.Event()
    now = SCENARIOS["srf_feb_2026"].now
    await run_console(
        settings, db, stop, read_line=lambda _prompt: next(lines), write=out.append, clock=lambda: now
    )
    text = "\n".join(out)
    assert "Standing Repo Facility \u2014 Wed 2026-02-18" in text
    assert "Small Value Exercise on 2026-02-18 ($0.056B) excluded" in text
    assert "Unknown command /nope" in text
    saved = sorted(tmp_path.glob("plumbline-chart-*.png"))  # noqa: ASYNC240 - after the loop's work is done
    assert len(saved) == 1 and saved[0].read_bytes().startswith(PNG)
    assert stop.is_set()  # quitting the console stops the bot
    db.close()


def test_run_without_a_terminal_runs_headless(tmp_path: Path) -> None:
    """No token and no TTY (a service, CI): the bot keeps polling instead of waiting for a prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update(
        {
            "DATABASE_PATH": str(tmp_path / "c.db"),
            "PYTHONPATH": str(ROOT),
            "NYFED_BASE_URL": "http://127.0.0.1:9",
            "FRED_CSV_URL": "http://127.0.0.1:9/f.csv",
            "FISCALDATA_BASE_URL": "http://127.0.0.1:9",
            "HTTP_RETRY_ATTEMPTS": "1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=4)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "running headless" in err
    assert "poll failed" in err
    assert "Traceback" not in err


def test_backup_writes_a_consistent_copy_and_never_overwrites(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done = _cli(tmp_path, "backup", "snap.db")
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout
    copy = seeded("empty", tmp_path / "snap.db")  # opens (and would migrate) the copy like the bot would
    assert (
        copy.execute(
            "SELECT value FROM observations WHERE series = 'sofr' AND date = '2025-10-31'"
        ).fetchone()[0]
        == 4.22
    )
    copy.close()
    again = _cli(tmp_path, "backup", "snap.db")
    assert again.returncode == 2 and "already exists" in again.stderr
