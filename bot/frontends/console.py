"""The local console: a prompt where the chat commands work, and one-shot `plumbline ask`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from bot.core.clock import Clock, utcnow
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
    """Read commands until EOF, 'quit' or stop; charts are saved as PNG files in the working directory."""
    import asyncio  # here, not at module level: one-shot `plumbline ask` never starts an event loop

    write(t("console.welcome", console_lang(settings, db)))
    while not stop.is_set():
        try:
            line = await asyncio.to_thread(read_line, PROMPT)
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
            # matplotlib loads only when a chart is drawn: `plumbline ask "/corridor"` never pays for it.
            from bot.render.charts import render_png_async

            png = await render_png_async(reply.chart)
            name = Path(f"plumbline-chart-{clock().strftime('%Y%m%d-%H%M%S')}.png")
            await asyncio.to_thread(name.write_bytes, png)
            write(t("console.chart_saved", lang, name=str(name)))
    stop.set()


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
