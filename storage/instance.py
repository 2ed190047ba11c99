"""One running bot per database: two pollers on one file would double every alert."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from storage.errors import StorageError


class InstanceLockedError(Exception):
    """Another process already runs the bot on this database."""


class InstanceLock:
    """An advisory lock on <real database file>.lock, released automatically if the process dies.

    The path is resolved first (symlinks, `..`, relative paths), so every name for one file shares one lock.
    """

    def __init__(self, database_path: Path) -> None:
        real = database_path.expanduser().resolve()
        self.path = real.with_name(real.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        if not self.path.parent.is_dir():
            raise StorageError(f"database folder {self.path.parent} does not exist (DATABASE_PATH)")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InstanceLockedError(
                f"another Plumbline (pid {holder}) is already running on this database; "
                "stop it first, or set DATABASE_PATH to a different file"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
