"""Shared fixtures: a fresh database per test and settings that never read a developer's .env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from bot.core import config
from bot.core.config import Settings, load_settings
from storage.db import open_db

# PTB reads this at call time; without it RetryAfter construction warns, and warnings are errors here.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# Every bot a test starts serves its dashboard on a free loopback port: parallel runs never fight over 8080.
os.environ.setdefault("WEB_PORT", "0")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _web_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "DEFAULT_WEB_PORT", 0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "test.db")
    yield database
    database.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"DATABASE_PATH": str(tmp_path / "plumbline.db")}, env_file=None)
