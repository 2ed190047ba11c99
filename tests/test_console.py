"""The local console and `plumbline ask`: the same command table, rendered as plain text."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.config import load_settings
from bot.frontends.console import run_console
from storage.db import open_readonly
from storage.fetchlog import last_fetches
from tests.seed import SCENARIOS, seeded

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        == "plumbline: configuration error: POLL_INTERVAL_SECONDS must be a whole number from 1 to 86400, "
        "got 'often'"
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


class _Pty:
    """`plumbline run` on a pseudo-terminal, as an operator at a shell would run it."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.seen = ""

    def read_until(self, text: str, within: float = 60.0, *, after: int = 0) -> str:
        """Wait for text to appear at or after offset `after` of everything the terminal showed."""
        deadline = time.monotonic() + within
        while text not in self.seen[after:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    assert text in self.seen, f"no {text!r} in:\n{self.seen}"
        return self.seen

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.mark.slow
def _failed_sources(path: Path) -> set[str]:
    db = open_readonly(path)
    try:
        return {name for name, record in last_fetches(db).items() if record.outcome == "error"}
    finally:
        db.close()


def test_console_on_a_terminal_edits_lines_says_offline_once_and_leaves_on_ctrl_c(tmp_path: Path) -> None:
    seeded("srf_feb_2026", tmp_path / "c.db").close()
    base = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env |= {
        "DATABASE_PATH": str(tmp_path / "c.db"), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
        "NYFED_BASE_URL": base, "FRED_CSV_URL": base + "/fredgraph.csv", "FISCALDATA_BASE_URL": base,
        "HTTP_RETRY_ATTEMPTS": "1", "POLL_INTERVAL_SECONDS": "3600", "TERM": "xterm",
    }  # fmt: skip
    term = _Pty(tmp_path, env)
    try:
        term.read_until("plumbline> ")
        deadline = time.monotonic() + 30
        # The first poll finds no network. Wait for the fetch log, not the log line: a source missing a
        # series loads its history in the history process, whose line reaches c.log before its record.
        while "nyfed" not in _failed_sources(tmp_path / "c.db"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "poll failed" in (tmp_path / "c.log").read_text()
        term.type("/help\r")
        mark = len(term.seen)
        term.read_until("working offline on stored data; NY Fed Markets API unreachable since", after=mark)
        term.read_until("plumbline> ", after=mark)
        mark = len(term.seen)
        term.type("\x1b[A\r")  # Up, Enter: the last line again, from readline's history
        term.read_until("Plumbline commands", 10, after=mark)
        screen = term.read_until("plumbline> ", 10, after=mark)
        assert "^[[A" not in screen
        assert screen.count("working offline") == 1  # said once, not before every prompt
        assert "WARNING" not in screen and "poll failed" not in screen  # the logs went to the file
        os.kill(term.proc.pid, signal.SIGINT)  # Ctrl-C at an empty prompt
        started = time.monotonic()
        assert term.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5  # at once, not after the next Enter
    finally:
        term.close()
    assert "/help" in (tmp_path / ".plumbline_history").read_text()
