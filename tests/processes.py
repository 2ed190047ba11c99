"""Helpers for tests that start, kill or wait on child processes."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"
