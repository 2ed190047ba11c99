"""Cold start of a one-shot command against the floor the storage library sets.

Run: .venv/bin/python -m bench.bench_startup [--repeat N] [--years Y]
Alternates, in one run, `python -c "import sqlite_utils"` (the floor: sqlite-utils imports numpy when it is
installed) with `plumbline ask "/corridor"`, `plumbline status` and `plumbline replay` on a database holding
Y years of every series, and prints the median wall and CPU time (user + system, from wait4) of each beside
the goal: ask <= 1.5x the floor in both. Byte-code is cached for both sides, as in an installed copy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_commands import build_database

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read() if child.stderr else b""
    if child.returncode != 0:
        raise SystemExit(f"{argv} failed ({child.returncode}): {stderr.decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--years", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "start.db"
        asyncio.run(build_database(db, years=args.years))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
        env.update({"DATABASE_PATH": str(db), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})
        # As installed: byte-code cached (both sides in one prefix) whatever PYTHONDONTWRITEBYTECODE says.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        py = sys.executable
        cases = {
            'python -c "import sqlite_utils"': [py, "-c", "import sqlite_utils"],
            'plumbline ask "/corridor"': [py, "-m", "bot.cli", "ask", "/corridor"],
            "plumbline status": [py, "-m", "bot.cli", "status"],
            "plumbline replay": [py, "-m", "bot.cli", "replay", "--since", "2018-01-01"],
        }
        for argv in cases.values():  # warm the page cache and .pyc files once
            _run(argv, env, work)
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                wall, cpu = _run(argv, env, work)
                walls[name].append(wall)
                cpus[name].append(cpu)
    floor = next(iter(cases))
    floor_wall, floor_cpu = statistics.median(walls[floor]), statistics.median(cpus[floor])
    print(f"cold start, median of {args.repeat} alternating runs, {args.years} years of data:")
    for name in cases:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        goal = f"   goal <= {GOAL}x" if name.startswith("plumbline ask") else ""
        print(
            f"  {name:<34} wall {wall * 1000:6.0f} ms ({wall / floor_wall:4.2f}x)  "
            f"CPU {cpu * 1000:6.0f} ms ({cpu / floor_cpu:4.2f}x){goal}"
        )


if __name__ == "__main__":
    main()
