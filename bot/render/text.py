"""Rendering a Reply in each platform's conventions: Telegram HTML, console text, Discord markdown."""

from __future__ import annotations

import html
import re

from bot.words.fmt import ljust, rjust, width
from bot.words.messages import t
from bot.words.reply import Mono, Reply, Text

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024


def _fields_lines(reply: Reply) -> list[str]:
    if not reply.fields:
        return []
    names = max(width(name) for name, _ in reply.fields)
    values = max(width(value) for _, value in reply.fields)
    return [f"{ljust(name, names)}  {rjust(value, values)}" for name, value in reply.fields]


def to_telegram_html(reply: Reply, *, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """HTML parse mode: bold title, aligned levels in <pre>, everything else escaped."""
    parts = [f"<b>{html.escape(reply.title)}</b>"]
    fields = _fields_lines(reply)
    if fields:
        parts.append("<pre>" + html.escape("\n".join(fields)) + "</pre>")
    for block in reply.blocks:
        if isinstance(block, Mono):
            parts.append("<pre>" + html.escape("\n".join(block.lines)) + "</pre>")
        else:
            parts.append(html.escape(block.text))
    if reply.as_of:
        parts.append(f"<i>{html.escape(reply.as_of)}</i>")
    text = "\n\n".join(parts)
    if len(text) <= limit:
        return text
    # Too long (a caption): keep the title and levels, drop trailing paragraphs whole so tags stay balanced.
    kept: list[str] = []
    for part in parts:
        if len("\n\n".join([*kept, part])) > limit - 2:
            break
        kept.append(part)
    return "\n\n".join(kept) or "<b>" + _escaped_prefix(reply.title, limit - 7) + "</b>"


_TAG = re.compile(r"<[^>]*>")
_TOKEN = re.compile(r"<[^>]*>|&[#a-zA-Z0-9]+;|[^<&]")


def split_telegram_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Telegram HTML cut into messages of at most limit characters, at line breaks where possible.

    A tag open at a cut (a <pre> ladder, a bold title) is closed at the end of one message and opened
    again at the start of the next, so every message parses on its own; a tag or an entity such as
    &amp; is never cut. A line longer than a whole message is cut where it must.
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open so far
    current: list[str] = []
    size = 0
    last_break = -1  # index in current of the last line break
    stack_at_break: list[tuple[str, str]] = []

    def closing(tags: list[tuple[str, str]]) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(tags))

    for token in _TOKEN.findall(text):
        room = limit - len(closing(stack)) - len(token)
        if size > 0 and size > room:
            if last_break > 0:  # cut at the last line break, which is dropped
                head, rest, tags = current[:last_break], current[last_break + 1 :], stack_at_break
            else:
                head, rest, tags = current, [], list(stack)
            chunks.append("".join(head).rstrip("\n") + closing(tags))
            current = [opening for _, opening in tags] + rest
            size = sum(len(piece) for piece in current)
            last_break, stack_at_break = -1, []
        current.append(token)
        size += len(token)
        if token.startswith("</"):
            name = token[2:-1].strip().lower()
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    del stack[i]
                    break
        elif token.startswith("<") and not token.endswith("/>"):
            stack.append((token[1:-1].split()[0].lower(), token))
        elif token == "\n":
            last_break, stack_at_break = len(current) - 1, list(stack)
    tail = "".join(current).strip("\n")
    if tail:
        chunks.append(tail)
    return [chunk for chunk in chunks if _TAG.sub("", chunk).strip()]


def _escaped_prefix(text: str, limit: int) -> str:
    """The longest escaped prefix of text that fits in limit characters, never cutting an entity."""
    out: list[str] = []
    used = 0
    for ch in text:
        piece = html.escape(ch)
        if used + len(piece) > limit:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out)


def to_console(reply: Reply, lang: str = "en") -> str:
    """Plain text for a terminal."""
    parts = [reply.title + "\n" + "=" * min(width(reply.title), 60)]
    fields = _fields_lines(reply)
    if fields:
        parts.append("\n".join(fields))
    for block in reply.blocks:
        parts.append("\n".join(block.lines) if isinstance(block, Mono) else block.text)
    if reply.as_of:
        parts.append(reply.as_of)
    if reply.buttons:
        commands = "  ".join(b.command for row in reply.buttons for b in row)
        parts.append(t("console.try", lang, commands=commands))
    return "\n\n".join(p for p in parts if p)


def to_markdown(blocks: list[Text | Mono]) -> str:
    """Discord markdown for free-text blocks: code fences keep ladders aligned."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Mono):
            body = "\n".join(block.lines).replace("```", "'''")
            out.append(f"```\n{body}\n```")
        else:
            out.append(block.text)
    return "\n\n".join(out)
