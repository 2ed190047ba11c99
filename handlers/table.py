"""The one command table: names, handlers, help and usage; it drives /help, Telegram and Discord alike."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import sqlite_utils

from bot.words.messages import EN, t
from bot.words.reply import Button, Context, Mono, Reply, Text, UsageError
from handlers.chart_command import CHART_KINDS, CHART_USAGE, RANGES, chart
from handlers.lang_command import LANG_USAGE, lang_command
from handlers.market_commands import corridor, liquidity, reserves, rrp, sofr, srf, tga
from handlers.revisions_command import REVISIONS_USAGE, revisions_command
from handlers.status_command import admin, status
from handlers.subscription_commands import (
    MUTE_USAGE,
    SUBSCRIBE_USAGE,
    THRESHOLD_USAGE,
    UNSUBSCRIBE_USAGE,
    mute_command,
    settings_command,
    subscribe_command,
    threshold_command,
    unsubscribe_command,
)
from handlers.thesis_command import auctions, thesis

log = logging.getLogger(__name__)

Handler = Callable[[list[str], Context, sqlite_utils.Database], Reply]

MAX_COMMAND_LENGTH = 512
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


ParamKind = Literal["text", "number", "time", "zone", "duration", "command", "subcommand"]


@dataclass(frozen=True, slots=True)
class Param:
    """One argument, described once for help text and Discord's option list.

    kind says what the value is (Discord types its option and offers suggestions from it); a "subcommand"
    param's choices become subcommands (/subscribe alerts|daily), and a param with `only` belongs to the
    subcommand of that name. `suggest`: the choices are offered as you type rather than as a fixed list.
    A number is passed on with its `unit` ("5" + "B" -> "5B"), and 0 as `zero` when set ("off")."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    required: bool = False
    kind: ParamKind = "text"
    only: str = ""
    suggest: bool = False
    unit: str = ""
    zero: str = ""
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    help: str
    usage: str
    params: tuple[Param, ...] = ()
    slow: bool = False  # renders a chart: front-ends defer and work off the event loop
    hidden: bool = False  # kept out of platform menus (e.g. /start)
    changes_subscriptions: bool = False  # in groups, only chat administrators may run it
    operator_only: bool = False  # for ADMIN_USER_IDS alone; shown only in their own command menus


def _no_args(handler: Handler, usage: str) -> Handler:
    def checked(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
        if args:
            raise UsageError(usage)
        return handler(args, ctx, db)

    checked.__doc__ = handler.__doc__
    return checked


# The three commands a newcomer needs first, shown by /start.
_FIRST_COMMANDS = (("/corridor", "corridor"), ("/srf", "srf"), ("/subscribe alerts", "subscribe"))
# Deep links t.me/<bot>?start=<payload> that subscribe the chat in one tap.
DEEP_LINKS: dict[str, list[str]] = {"alerts": ["alerts"], "daily": ["daily"]}


def start_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The welcome: what Plumbline watches, three commands, a subscribe button; deep links subscribe."""
    payload = args[0].lower() if len(args) == 1 else ""
    subscribed: Reply | None = None
    if payload in DEEP_LINKS:
        subscribed = subscribe_command(list(DEEP_LINKS[payload]), ctx, db)
        if subscribed.level == "error":
            return subscribed  # e.g. a group member who is not an administrator
    first = "\n".join(f"{usage} \u2014 {t(f'cmd.{name}', ctx.lang)}" for usage, name in _FIRST_COMMANDS)
    blocks: list[Text | Mono] = [
        Text(t("intro", ctx.lang)),
        Text(t("start.watches", ctx.lang)),
        Text(t("start.try", ctx.lang, commands=first)),
    ]
    shortcuts = [
        Button(t("button.corridor", ctx.lang), "/corridor"),
        Button(t("button.srf", ctx.lang), "/srf"),
        Button(t("button.settings", ctx.lang), "/settings"),
    ]
    if subscribed is not None:
        return Reply(
            title=subscribed.title,
            blocks=[Text(t("start.subscribed", ctx.lang)), *blocks],
            level="calm",
            buttons=[shortcuts],
        )
    return Reply(
        title=t("start.title", ctx.lang),
        blocks=blocks,
        buttons=[[Button(t("button.subscribe_alerts", ctx.lang), "/subscribe alerts")], shortcuts],
    )


def help_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """What Plumbline watches and why, then every command."""
    if len(args) > 1:
        raise UsageError(t("usage.help", ctx.lang))
    if args:
        name = args[0].lower().lstrip("/")
        command = COMMANDS.get(name)
        if command is None:
            raise UsageError(t("usage.help", ctx.lang))
        return Reply(
            title=f"/{command.name}",
            blocks=[
                Text(
                    t(
                        "help.one",
                        ctx.lang,
                        usage=localised_usage(command, "", ctx.lang),
                        help=t(f"cmd.{command.name}", ctx.lang),
                    )
                )
            ],
        )
    lines = [
        f"{localised_usage(c, '', ctx.lang)} \u2014 {t(f'cmd.{c.name}', ctx.lang)}"
        for c in COMMANDS.values()
        if not c.hidden
    ]
    return Reply(
        title=t("help.title", ctx.lang),
        blocks=[Text(t("intro", ctx.lang)), Text("\n".join(lines)), Text(t("help.more", ctx.lang))],
    )


_CHART_PARAMS = (
    Param("series", t("param.chart.series"), CHART_KINDS, required=True, suggest=True),
    Param("range", t("param.chart.range"), tuple(RANGES), suggest=True),
)


def _build() -> dict[str, Command]:
    simple: list[tuple[str, Handler, str]] = [
        ("corridor", corridor, t("cmd.corridor")),
        ("srf", srf, t("cmd.srf")),
        ("sofr", sofr, t("cmd.sofr")),
        ("rrp", rrp, t("cmd.rrp")),
        ("tga", tga, t("cmd.tga")),
        ("reserves", reserves, t("cmd.reserves")),
        (
            "liquidity",
            liquidity,
            t("cmd.liquidity"),
        ),
        ("thesis", thesis, t("cmd.thesis")),
        ("auctions", auctions, t("cmd.auctions")),
        ("status", status, t("cmd.status")),
    ]
    table: dict[str, Command] = {
        "start": Command("start", start_command, t("cmd.start"), "/start", hidden=True),
        "help": Command(
            "help",
            help_command,
            t("cmd.help"),
            "/help [command]",
            params=(Param("command", t("param.help.command"), kind="command"),),
        ),
    }
    for name, handler, text in simple:
        table[name] = Command(name, _no_args(handler, f"/{name}"), text, f"/{name}")
    table["chart"] = Command(
        "chart",
        chart,
        t("cmd.chart"),
        CHART_USAGE,
        _CHART_PARAMS,
        slow=True,
    )
    for command in _subscription_commands():
        table[command.name] = command
    table["revisions"] = Command(
        "revisions",
        revisions_command,
        t("cmd.revisions"),
        REVISIONS_USAGE,
        (Param("series", t("param.revisions.series")),),
    )
    table["lang"] = Command(
        "lang",
        lang_command,
        t("cmd.lang"),
        LANG_USAGE,
        (Param("language", t("param.lang.language"), ("en", "zh-TW")),),
        changes_subscriptions=True,
    )
    table["admin"] = Command("admin", admin, t("cmd.admin"), "/admin", hidden=True, operator_only=True)
    return table


def _subscription_commands() -> list[Command]:
    return [
        Command(
            "subscribe",
            subscribe_command,
            t("cmd.subscribe"),
            SUBSCRIBE_USAGE,
            (
                Param(
                    "what",
                    t("param.subscribe.what_auctions"),
                    ("alerts", "auctions", "daily"),
                    required=True,
                    kind="subcommand",
                ),
                Param("time", t("param.subscribe.time"), kind="time", only="daily"),
                Param("zone", t("param.subscribe.zone"), kind="zone", only="daily"),
                Param("days", t("param.subscribe.days"), ("weekdays", "weekends"), only="daily"),
            ),
            changes_subscriptions=True,
        ),
        Command(
            "unsubscribe",
            unsubscribe_command,
            t("cmd.unsubscribe"),
            UNSUBSCRIBE_USAGE,
            (Param("what", t("param.unsubscribe.what"), ("alerts", "auctions", "daily", "all")),),
            changes_subscriptions=True,
        ),
        Command("settings", settings_command, t("cmd.settings"), "/settings"),
        Command(
            "threshold",
            threshold_command,
            t("cmd.threshold"),
            THRESHOLD_USAGE,
            (
                Param("which", t("param.threshold.which"), ("srf", "near"), required=True, kind="subcommand"),
                Param(
                    "amount",
                    t("param.threshold.amount"),
                    required=True,
                    kind="number",
                    only="srf",
                    unit="B",
                    low=0.0,
                    high=1000.0,
                ),
                Param(
                    "bp",
                    t("param.threshold.bp"),
                    required=True,
                    kind="number",
                    only="near",
                    unit="bp",
                    zero="off",
                    low=0.0,
                    high=100.0,
                ),
            ),
            changes_subscriptions=True,
        ),
        Command(
            "mute",
            mute_command,
            t("cmd.mute"),
            MUTE_USAGE,
            (Param("duration", t("param.mute.duration"), required=True, kind="duration"),),
            changes_subscriptions=True,
        ),
    ]


COMMANDS: dict[str, Command] = _build()


@dataclass(frozen=True, slots=True)
class Parsed:
    name: str
    args: list[str] = field(default_factory=list)


def parse_command(text: str, bot_username: str = "") -> Parsed | None:
    """'/chart@plumbline_bot corridor 3m' -> Parsed('chart', ['corridor', '3m']); None if not for us."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, *args = stripped.split()
    # Invisible characters (zero-width spaces, direction marks, NULs) glued to a command by some clients.
    head = "".join(ch for ch in head if unicodedata.category(ch) not in _INVISIBLE)
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return Parsed(name.lower(), args)


def dispatch(text: str, ctx: Context, db: sqlite_utils.Database) -> Reply | None:
    """Run one command line; every failure becomes a reply that is safe to show. None: not a command."""
    parsed = parse_command(text, ctx.bot_username)
    if parsed is None:
        return None
    if len(text) > MAX_COMMAND_LENGTH:
        return Reply(title=t("error.too_long", ctx.lang), level="error")
    command = COMMANDS.get(parsed.name)
    if command is None:
        shown = "/" + "".join(ch for ch in parsed.name[:32] if ch.isprintable())
        return Reply(title=t("error.unknown_command", ctx.lang, command=shown), level="error")
    return run_command(command, parsed.args, ctx, db)


def localised_usage(command: Command, text: str, lang: str) -> str:
    """A command's own usage line in the reader's language (usage.<name> in the catalog); any other
    usage message (a bad time, a bad amount) is already in it."""
    if text and text != command.usage:
        return text
    return t(f"usage.{command.name}", lang) if f"usage.{command.name}" in EN else command.usage


def run_command(command: Command, args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Call a handler, turning usage errors into the usage line and anything else into an apology."""
    try:
        return command.handler(args, ctx, db)
    except UsageError as exc:
        return Reply(
            title=t("usage", ctx.lang, usage=localised_usage(command, str(exc), ctx.lang)), level="error"
        )
    except Exception:
        log.exception("command /%s failed (platform %s, chat %s)", command.name, ctx.platform, ctx.chat_id)
        return Reply(title=t("error.internal", ctx.lang), level="error")
