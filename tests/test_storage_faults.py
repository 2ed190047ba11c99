"""An unusable database file stops the bot at startup with one clear line, never a traceback wall."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import open_db
from tests.seed import seeded

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, db: Path, *args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update({"DATABASE_PATH": str(db), "PYTHONPATH": str(ROOT), "NYFED_BASE_URL": "http://127.0.0.1:9"})

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )


def _one_clear_line(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("plumbline: ")
    for phrase in phrases:
        assert phrase in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [("run",), ("status",), ("poll",)])
def test_read_only_database(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "ro.db"
    open_db(db).close()
    chattr = shutil.which("chattr")
    assert chattr, "chattr (e2fsprogs) is needed to make a file read-only for root"
    subprocess.run([chattr, "+i", str(db)], check=True)
    try:
        _one_clear_line(_run(tmp_path, db, *command), "is read-only", "write access")
    finally:
        subprocess.run([chattr, "-i", str(db)], check=True)


@pytest.mark.parametrize("command", [("run",), ("status",)])
def test_missing_database_folder(tmp_path: Path, command: tuple[str, ...]) -> None:
    _one_clear_line(_run(tmp_path, tmp_path / "gone" / "p.db", *command), "does not exist")


def test_disk_full_at_startup(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes every write past 16 KB fail, as a full disk would.
    done = _run(tmp_path, tmp_path / "full.db", "run", fsize=16 * 1024)
    _one_clear_line(done, "check that the disk is not full")


def test_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("these are my notes, not a database\n" * 200)
    _one_clear_line(_run(tmp_path, db, "status"), "not a valid Plumbline database")


def _damage_middle_pages(db: Path) -> None:
    """Overwrite pages in the middle of a file that has a valid header: only a page check finds it."""
    size = db.stat().st_size
    page = 4096
    assert size > 20 * page
    with db.open("r+b") as f:
        for n in range(size // page // 3, size // page // 3 + 4):
            f.seek(n * page)
            f.write(b"\xa5" * page)


@pytest.mark.parametrize("command", [("run",), ("status",)])
def test_damaged_pages_mid_file_are_refused_with_how_to_restore(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "p.db"
    seeded("june_2026", db).close()
    _damage_middle_pages(db)
    _one_clear_line(_run(tmp_path, db, *command), f"database {db} is damaged", "restore your latest backup")
