"""The local console: a prompt where the chat commands work, and one-shot `plumbline ask`.

The prompt has readline line editing and a history file; Ctrl-C or Ctrl-D leaves at once (the line is read
on a daemon thread, so a pending read never holds the process). When a source is unreachable the console
says so once, plainly, instead of log lines over the prompt (the logs go to a file while it runs)."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from bot.core.clock import NEW_YORK, Clock, parse_iso_utc, utcnow
from bot.core.config import Settings
from bot.render.text import to_console
from bot.words.messages import t
from bot.words.reply import Context, Reply
from handlers.lang_command import chat_lang
from handlers.table import dispatch

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

PROMPT = "plumbline> "
HISTORY_FILE = Path.home() / ".plumbline_history"
HISTORY_LENGTH = 1000


def offline_banner(db: sqlite_utils.Database, lang: str = "en") -> str | None:
    """One plain line when sources are failing: the console still answers from what is stored."""
    from bot.market.freshness import source_status

    failing = [s for s in source_status(db) if s.degraded]
    if not failing:
        return None
    parts = []
    for src in failing:
        since = src.last_ok or (src.last.started_at if src.last else None)
        when = parse_iso_utc(since).astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M ET") if since else "-"
        parts.append(t("console.offline_source", lang, label=src.label, when=when))
    return t("console.offline", lang, sources="; ".join(parts))


def _enable_line_editing() -> Callable[[], None]:
    """Turn on readline editing and history for input(); returns what saves the history at exit."""
    try:
        import readline
    except ImportError:  # a Python built without readline: plain input still works
        return lambda: None
    readline.set_history_length(HISTORY_LENGTH)
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY_FILE)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY_FILE)

    return save


def _terminal_restorer() -> Callable[[], None]:
    """Snapshot the terminal's modes, to put them back if we leave while readline holds it."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(OSError, ValueError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore


async def _read_on_daemon_thread(read_line: Callable[[str], str], prompt: str) -> str:
    """input() on a daemon thread: unlike asyncio.to_thread, a read still pending never blocks the exit."""
    import asyncio

    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value or "")

    def work() -> None:
        try:
            value = read_line(prompt)
        except BaseException as exc:  # EOFError, KeyboardInterrupt: handed to the loop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while we waited: nothing to hand back
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return await done


def console_context(settings: Settings, clock: Clock = utcnow, lang: str = "en") -> Context:
    """The console user is the operator: they see everything /status has."""
    return Context(
        lang=lang,
        platform="console",
        chat_id="console",
        user_id="console",
        now=clock(),
        is_operator=True,
        tight_bp=settings.tight_bp,
    )


def console_lang(settings: Settings, db: sqlite_utils.Database) -> str:
    """The console's language: what /lang chose there, else PLUMBLINE_LANG."""
    return chat_lang(db, "console", "console", default=settings.lang)


def answer(
    line: str,
    settings: Settings,
    db: sqlite_utils.Database,
    clock: Clock = utcnow,
    lang: str | None = None,
) -> Reply | None:
    """Dispatch one console line; bare words work too ("corridor" is "/corridor").

    lang answers in that language this once (plumbline ask --lang); otherwise the console's language."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        text = "/" + text
    chosen = lang or console_lang(settings, db)
    return dispatch(text, console_context(settings, clock, chosen), db)


async def run_console(
    settings: Settings,
    db: sqlite_utils.Database,
    stop: asyncio.Event,
    *,
    read_line: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    clock: Clock = utcnow,
) -> None:
    """Read commands until EOF, Ctrl-C, 'quit' or stop; charts are saved as PNG files in the cwd."""
    import asyncio  # here, not at module level: one-shot `plumbline ask` never starts an event loop

    interactive = read_line is input
    save_history = _enable_line_editing() if interactive else (lambda: None)
    restore_terminal = _terminal_restorer() if interactive else (lambda: None)
    write(t("console.welcome", console_lang(settings, db)))
    shown: str | None = None
    try:
        while not stop.is_set():
            banner = offline_banner(db, console_lang(settings, db))
            if banner != shown:
                if banner is not None:
                    write(banner)
                elif shown is not None:
                    write(t("console.online", console_lang(settings, db)))
                shown = banner
            reading = asyncio.ensure_future(_read_on_daemon_thread(read_line, PROMPT))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not reading.done():  # stopped (Ctrl-C, SIGTERM) while waiting for a line: leave at once
                reading.cancel()
                break
            try:
                line = reading.result()
            except (EOFError, KeyboardInterrupt):
                break
            if line.strip().lower() in {"quit", "exit", "/quit", "/exit"}:
                break
            reply = answer(line, settings, db, clock)
            if reply is None:
                continue
            lang = console_lang(settings, db)
            write(to_console(reply, lang))
            if reply.chart is not None:
                from bot.render.chart_process import with_chart  # `ask "/corridor"` never loads it

                _, png = await with_chart(reply)
                if png is None:
                    write(t("chart.unavailable", lang))
                    continue
                name = Path(f"plumbline-chart-{clock().strftime('%Y%m%d-%H%M%S')}.png")
                await asyncio.to_thread(name.write_bytes, png)
                write(t("console.chart_saved", lang, name=str(name)))
    finally:
        save_history()
        restore_terminal()
        if interactive:
            write("")  # leave the shell prompt on a line of its own
    stop.set()


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
