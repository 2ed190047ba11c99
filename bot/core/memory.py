"""Giving freed heap memory back to the operating system, so a long-running process stays at its
working size."""

from __future__ import annotations

import ctypes
import ctypes.util

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None


def trim_heap() -> None:
    """Return freed malloc pages to the OS (glibc's malloc_trim; elsewhere a no-op)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
