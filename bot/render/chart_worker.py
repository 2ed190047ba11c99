"""The drawing process: `python -m bot.render.chart_worker`, started by `bot.render.chart_process`.

It reads requests from stdin and writes answers to stdout, one at a time, until stdin closes. A request is
a 4-byte big-endian length and a pickled ChartData; an answer is one status byte (`OK` then the PNG, or
`ERROR` then a UTF-8 reason), a 4-byte length and the payload. Only its parent writes to its stdin.
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import BinaryIO

HEADER = struct.Struct(">I")
ANSWER = struct.Struct(">cI")
OK, ERROR = b"+", b"!"


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(requests: BinaryIO, answers: BinaryIO) -> int:
    """Answer requests until the parent closes the pipe; the number answered."""
    from bot.render import charts  # here, not at the top: the parent imports this module's constants

    charts.cjk_font_family()
    answered = 0
    while (header := _read_exactly(requests, HEADER.size)) is not None:
        body = _read_exactly(requests, HEADER.unpack(header)[0])
        if body is None:
            break
        try:
            status, payload = OK, charts.render_and_trim(pickle.loads(body))
        except Exception as exc:  # the parent raises it; this process lives on for the next chart
            status, payload = ERROR, f"{type(exc).__name__}: {exc}".encode()
        answers.write(ANSWER.pack(status, len(payload)) + payload)
        answers.flush()
        answered += 1
    return answered


def main() -> None:
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the answer stream
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
