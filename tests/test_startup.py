"""A command imports only what it uses: `ask`, `status` and `replay` start without the heavy libraries.

Each case runs the real `bot.cli.main` in a fresh interpreter against a seeded database and lists which of
the heavy top-level packages ended up in `sys.modules`. matplotlib and numpy load only in the drawing
process; python-telegram-bot, discord.py, APScheduler and httpx only when the bot talks to them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seed import seeded

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "numpy", "telegram", "discord", "apscheduler", "httpx")

_PROBE = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
heavy = sorted(name for name in {heavy!r} if sys.modules.get(name) is not None)
print("LOADED=" + json.dumps(heavy), file=sys.stderr)
sys.exit(code)
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update({"DATABASE_PATH": str(tmp_path / "c.db"), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    marker = [line for line in done.stderr.splitlines() if line.startswith("LOADED=")]
    assert marker, done.stderr
    return done, json.loads(marker[-1].removeprefix("LOADED="))


@pytest.mark.parametrize(
    ("args", "expected_out"),
    [
        (("ask", "/corridor"), "Fed funds corridor \u2014 Fri 2025-10-31"),
        (("ask", "/srf"), "50.35"),
        (("ask", "/chart nonsense"), "Usage: /chart"),
        (("status",), "sofr           2025-10-31"),
        (("replay", "--since", "2025-10-01"), "srf_positive@0    2025-10-31"),
    ],
)
def test_light_commands_load_no_heavy_library(
    tmp_path: Path, args: tuple[str, ...], expected_out: str
) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done, loaded = _loaded(tmp_path, *args)
    assert expected_out in done.stdout + done.stderr, done.stdout + done.stderr
    assert loaded == []


def test_a_chart_is_drawn_in_the_drawing_process_and_the_command_loads_none_of_it(tmp_path: Path) -> None:
    seeded("month_end_2025", tmp_path / "c.db").close()
    done, loaded = _loaded(tmp_path, "ask", "/chart corridor 3m", "--chart", "out.png")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")
    assert loaded == []
