"""/lang: the language this chat reads, and the one lookup every front-end makes for it."""

from __future__ import annotations

import sqlite_utils

from bot.core.clock import iso_utc
from bot.core.lang import parse_lang, pick_lang
from bot.words.messages import t
from bot.words.reply import Context, Reply, UsageError
from storage.chats import chosen_lang, ensure_chat, set_lang

LANG_USAGE = "/lang en | /lang zh-TW"


def chat_lang(
    db: sqlite_utils.Database, platform: str, address: str, *locales: str | None, default: str = "en"
) -> str:
    """The language to answer a chat in: its /lang choice, else the client's locale(s), else the default."""
    return pick_lang(chosen_lang(db, platform, address), *locales, default=default)


def lang_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Show this chat's language, or set it (administrators only in groups and Discord channels)."""
    if len(args) > 1:
        raise UsageError(LANG_USAGE)
    # Like every command that changes a chat's settings, members of a group who are not its
    # administrators are refused outright, viewing included, so the rule is the same for all of them.
    if ctx.is_group and not ctx.is_chat_admin:
        key = "lang.need_admin_discord" if ctx.platform == "discord" else "lang.need_admin"
        return Reply(title=t(key, ctx.lang), level="error")
    if not args:
        return Reply(title=t("lang.current", ctx.lang, name=t(f"lang.name.{ctx.lang}", ctx.lang)))
    lang = parse_lang(args[0])
    if lang is None:
        raise UsageError(LANG_USAGE)
    chat = ensure_chat(
        db,
        ctx.platform,
        ctx.chat_id,
        title=ctx.chat_title,
        is_group=ctx.is_group,
        now=iso_utc(ctx.now),
    )
    set_lang(db, chat.id, lang)
    return Reply(title=t("lang.set", lang), level="calm")
