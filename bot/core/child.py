"""Starting one of Plumbline's own modules as a child process (`python -m ...`), wherever it was run from."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The folder holding `bot/`: a child started from any working directory imports this very copy.
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


def module_command(module: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `python -m module` with this interpreter and this source tree.

    The child is started with subprocess rather than multiprocessing's spawn, which would re-import the
    parent's main module (a test runner, a bench script) in the child."""
    path = os.pathsep.join(p for p in (SOURCE_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", module], {**os.environ, "PYTHONPATH": path}
