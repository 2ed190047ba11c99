"""The fake data APIs in a child process of their own, for benchmarks.

In a thread of the bot's own process, the fake's JSON encoding competes with the bot for the GIL, and
the stalls and rates a benchmark reports are partly the fake's. Spawned, it has its own interpreter; the
history is generated in the child from (start, end, seed), so nothing big crosses the pipe.
"""

from __future__ import annotations

import multiprocessing
from datetime import date
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from tests.fakes.history import synthetic_history
from tests.fakes.sources import FakeSourcesThread


def _serve(start: date, end: date, seed: int, options: dict[str, Any], pipe: Connection) -> None:
    with FakeSourcesThread(synthetic_history(start, end, seed=seed), **options) as fake:
        pipe.send({"env": fake.env(), "env_with_key": fake.env(with_fred_key=True)})
        pipe.recv()  # until told to stop
        pipe.send(dict(fake.counts))


class FakeSourcesProcess:
    """`with FakeSourcesProcess(start, end, seed=5, latency=0.1) as fake: fake.env()`; options go to
    FakeSources. On exit, `counts` holds the requests the fake answered per source."""

    def __init__(self, start: date, end: date, *, seed: int = 1, **options: Any) -> None:
        self._args = (start, end, seed, options)
        self._pipe: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._envs: dict[str, dict[str, str]] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> FakeSourcesProcess:
        parent, child = multiprocessing.Pipe()
        self._pipe = parent
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(*self._args, child), daemon=True, name="fake-sources"
        )
        self._process.start()
        if not parent.poll(120):
            raise RuntimeError("the fake sources did not start within 120 s")
        self._envs = parent.recv()
        return self

    def env(self, *, with_fred_key: bool = False) -> dict[str, str]:
        return dict(self._envs["env_with_key" if with_fred_key else "env"])

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pipe is not None and self._process is not None and self._process.is_alive():
            self._pipe.send("stop")
            if self._pipe.poll(30):
                self.counts = self._pipe.recv()
            self._process.join(15)
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
