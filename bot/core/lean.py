"""Keeping heavy libraries nobody uses out of a process."""

from __future__ import annotations

import sys


def leave_out_numpy() -> None:
    """Keep numpy out of every process but the drawing one: only charts use it. sqlite-utils imports it
    when it is installed, just to store numpy scalars, which Plumbline never passes; without it the bot
    starts with 10 MB less resident memory and 0.2 s less CPU, and a one-shot command 70 ms sooner
    (measured)."""
    if "numpy" not in sys.modules:
        sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` now raises ImportError
