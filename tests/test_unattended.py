"""Running unattended: uncertain sends shown to operators, CLI paths and exit codes, scripts/run's cwd."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from bot.words.reply import Context, Text
from handlers.table import dispatch
from storage.chats import ensure_chat
from storage.db import open_db
from storage.outbox import add_event, enqueue, mark_sending, recover_in_flight
from tests.e2e_support import calm_history
from tests.fakes.sources import FakeSourcesThread
from tests.seed import SCENARIOS, seeded

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2025-10-31T13:31:00Z"


def _uncertain(db: sqlite_utils.Database, address: str, title: str) -> None:
    """A send that was on the wire when the process died: recovery marks it uncertain."""
    chat = ensure_chat(db, "telegram", address, title=title, is_group=True, now=STAMP)
    key = "srf_takeup:2025-10-31"
    add_event(
        db, key=key, rule="srf", kind="start", data_date="2025-10-31", audience="alerts", payload="{}",
        now=STAMP,
    )  # fmt: skip
    enqueue(db, [chat.id], key, STAMP)
    db.conn.commit()
    row_id = db.execute("SELECT id FROM outbox WHERE chat_id = ?", (chat.id,)).fetchone()[0]
    mark_sending(db, row_id)
    recover_in_flight(db)


def test_operators_see_uncertain_sends_in_status() -> None:
    db = seeded("june_2026")
    _uncertain(db, "-100777", "Rates desk")
    now = SCENARIOS["june_2026"].now
    ctx = Context("telegram", now=now, chat_id="1", user_id="42", is_operator=True)
    reply = dispatch("/status", ctx, db)
    assert reply is not None
    last = [b.text for b in reply.blocks if isinstance(b, Text)][-1].splitlines()
    assert last[-3:] == [
        "Outbox: 1 uncertain.",
        "1 send(s) were cut off in flight and may not have arrived (never resent; "
        "`plumbline outbox` lists them all):",
        "\u2022 telegram chat Rates desk: srf_takeup:2025-10-31, queued 2025-10-31 09:31 ET "
        "(process stopped during the send)",
    ]
    user = dispatch("/status", Context("telegram", now=now, chat_id="1", user_id="7"), db)
    assert user is not None and "uncertain" not in user.plain_text()


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_outbox_command_lists_uncertain_sends(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.db")
    _uncertain(db, "-100777", "Rates desk")
    db.close()
    done = _cli(tmp_path, "outbox", env={"DATABASE_PATH": "p.db"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "deliveries: uncertain 1"
    assert lines[2].startswith("1 uncertain send(s): cut off in flight")
    assert "-100777 Rates desk" in lines[4] and "process stopped during the send" in lines[4]


def test_outbox_command_on_a_clean_database(tmp_path: Path) -> None:
    done = _cli(tmp_path, "outbox", env={"DATABASE_PATH": "p.db"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "deliveries: none",
        "no uncertain sends: every delivery is known to have arrived or is still queued",
    ]


def test_backup_creates_the_folder(tmp_path: Path) -> None:
    open_db(tmp_path / "p.db").close()
    done = _cli(tmp_path, "backup", "backups/plumbline.db", env={"DATABASE_PATH": "p.db"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "backups" / "plumbline.db").is_file()
    assert "integrity ok" in done.stdout


@pytest.mark.parametrize(("line", "code", "written"), [("/chart corridor", 0, True), ("/help", 1, False)])
def test_ask_chart_exit_status_says_whether_a_chart_was_written(
    tmp_path: Path, line: str, code: int, written: bool
) -> None:
    seeded("june_2026", tmp_path / "p.db").close()
    done = _cli(tmp_path, "ask", line, "--chart", "out.png", env={"DATABASE_PATH": "p.db"})
    assert done.returncode == code, done.stderr
    assert (tmp_path / "out.png").is_file() is written
    if not written:
        assert "that reply has no chart; nothing saved to out.png" in done.stderr


def test_scripts_run_keeps_the_callers_directory(tmp_path: Path) -> None:
    """scripts/run used to cd into the repo, so .env, the database and --chart files landed there."""
    if not (ROOT / ".venv" / ".plumbline-installed").is_file():
        pytest.fail("scripts/test sets up .venv before the tests run")
    (tmp_path / ".env").write_text("DATABASE_PATH=here.db\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_"))}
    done = subprocess.run(
        [str(ROOT / "scripts" / "run"), "outbox"], cwd=tmp_path, env=base, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "here.db").is_file()
    assert not (ROOT / "here.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.0, 0.3, 0.9, 1.7])
async def test_sigterm_during_a_poll_stops_cleanly_without_an_error_line(
    tmp_path: Path, after: float
) -> None:
    """SIGTERM mid-poll used to log an ERROR traceback (CancelledError) from the scheduler."""
    with FakeSourcesThread(calm_history(), latency=0.4) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
        env |= fake.env() | {
            "DATABASE_PATH": str(tmp_path / "p.db"),
            "POLL_INTERVAL_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        seen = b""
        while b"Plumbline started" not in seen:
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, seen.decode()
            seen += line
        await asyncio.sleep(after)  # the first poll runs now, at 0.4 s a request
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = (seen + err).decode()
    assert proc.returncode == 0, text
    assert "Plumbline stopping" in text
    assert " ERROR " not in text and "Traceback" not in text and "CancelledError" not in text, text
