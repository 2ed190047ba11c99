"""The history process: `python -m bot.sources.history_worker`, started by `bot.sources.history_process`.

It loads a source's initial history (years of rows) into the database with a poller of its own, so the
decoding, checking and storing of a hundred thousand values never competes with the bot's event loop
for the GIL.

- stdin: one pickled HistoryRequest, then nothing. Its end (the bot stopped, or died) ends this process
  at once; each source's batch is stored in one transaction, so what was not committed is simply not
  there, and the next poll fetches it again.
- stdout: one line at the end, `{"outcomes": [...]}`, each outcome as `outcome_to_json` writes it.
- stderr: one JSON log record a line (`name`, `level`, `message`), which the bot logs as its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from bot.core.lean import leave_out_numpy

if TYPE_CHECKING:
    from bot.sources.history_process import HistoryRequest
    from bot.sources.poller import SourceOutcome

# The load runs below the bot and its chats in the CPU queue: on a 2-core box it still leaves them a core.
NICENESS = 10


class _JsonLines(logging.Handler):
    """Every log record as one JSON line on the stream (the bot formats, redacts and files it)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        line = json.dumps({"name": record.name, "level": record.levelno, "message": message})
        self.stream.write(line + "\n")
        self.stream.flush()


def _exit_when_input_ends(fd: int) -> None:
    """Block on the parent's pipe; its end means stop now (os._exit: no write is left half-committed).

    It reads the descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader's lock makes
    the interpreter's own shutdown fail."""
    while os.read(fd, 1 << 16):
        pass
    os._exit(3)


async def load(request: HistoryRequest) -> list[SourceOutcome]:
    """Poll the named sources into the database, as the bot's poller would, on this process's loop."""
    from bot.core.collector import collector_paused
    from bot.sources.http import make_client
    from bot.sources.poller import Poller
    from storage.db import open_db

    started = time.monotonic()

    def clock() -> datetime:
        return request.now + timedelta(seconds=time.monotonic() - started)

    settings = request.settings
    db = open_db(settings.database_path, migrate=False)
    try:
        async with make_client(settings.http_timeout_seconds, request.retry) as client:
            poller = Poller(settings, client, db, clock=clock)
            # Years of short-lived acyclic rows: the cyclic collector would only walk them (see
            # collector_paused).
            with collector_paused():
                result = await poller.poll(request.names)
            await poller.close()
    finally:
        db.close()
    return list(result.outcomes.values())


def main() -> None:
    leave_out_numpy()  # before sqlite-utils loads: it would import numpy, which no poll uses
    from bot.sources.history_process import outcome_to_json

    answers = sys.stdout
    sys.stdout = sys.stderr  # a stray print must never corrupt the answer
    requests = sys.stdin.buffer
    try:
        request: HistoryRequest = pickle.load(requests)
    except EOFError:  # the bot went away before it asked
        raise SystemExit(3) from None
    threading.Thread(target=_exit_when_input_ends, args=(requests.fileno(),), daemon=True).start()
    os.nice(NICENESS)
    root = logging.getLogger()
    root.addHandler(_JsonLines(sys.stderr))
    root.setLevel(request.settings.log_level)
    for noisy in ("httpx", "httpcore"):  # every request URL at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    outcomes = asyncio.run(load(request))
    answers.write(json.dumps({"outcomes": [outcome_to_json(o) for o in outcomes]}) + "\n")
    answers.flush()


if __name__ == "__main__":
    main()
