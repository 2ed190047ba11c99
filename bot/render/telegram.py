"""A Reply in Telegram's terms beyond its HTML: the inline keyboard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.words.reply import Reply

# Telegram refuses callback data over 64 bytes; a button whose command is longer is left out.
_CALLBACK_DATA_LIMIT = 64


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline buttons whose callback data is the command line they run."""
    rows = [
        [
            InlineKeyboardButton(b.label, callback_data=b.command)
            for b in row
            if len(b.command.encode()) <= _CALLBACK_DATA_LIMIT
        ]
        for row in reply.buttons
    ]
    rows = [r for r in rows if r]
    return InlineKeyboardMarkup(rows) if rows else None
