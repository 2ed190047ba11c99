"""Shared fixtures: a fresh database per test and settings that never read a developer's .env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.config import Settings, load_settings
from storage.db import open_db

# PTB reads this at call time; without it RetryAfter construction warns, and warnings are errors here.
os.environ.setdefault("PTB_TIMEDELTA", "true")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "test.db")
    yield database
    database.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"DATABASE_PATH": str(tmp_path / "plumbline.db")}, env_file=None)
