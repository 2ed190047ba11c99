"""Discord's slash commands as a discord.py CommandTree, built from the one command table.

Each table entry becomes an app command: typed options (numbers as numbers), fixed choices, autocomplete
for series, ranges, times, zones, durations and command names, subcommands (/subscribe alerts|daily), and
Manage Channels as the default permission of the commands that change a channel. Every callback turns its
typed options back into the positional arguments the shared handlers take and hands them to `invoke`
(the front-end's gate and dispatch). Names, descriptions and choices are translated from the catalog.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from bot.words.messages import EN, t
from bot.words.messages_zh_tw import ZH_TW
from handlers.table import COMMANDS, Command, Param

log = logging.getLogger(__name__)

Invoke = Callable[[discord.Interaction, Command, list[str]], Awaitable[None]]
AutocompleteFn = Callable[[discord.Interaction, str], Awaitable[list[Choice[str]]]]

MANAGE_CHANNELS = discord.Permissions(manage_channels=True)
_MAX_SUGGESTIONS = 25
_DURATIONS = ("30m", "1h", "6h", "12h", "1d", "2d", "7d", "off")
_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _text(key: str, english: str) -> locale_str:
    """A string Discord shows, in English as the table says it, carrying its catalog key for the
    translator."""
    return locale_str(english[:100], key=key)


class CatalogTranslator(app_commands.Translator):
    """Traditional Chinese (Discord's zh-TW) from the catalog; every other locale sees the English."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if locale is not discord.Locale.taiwan_chinese:
            return None
        key = string.extras.get("key")
        text = ZH_TW.get(key) if isinstance(key, str) else None
        return text[:100] if text else None


@functools.cache
def _zones() -> tuple[str, ...]:
    """IANA zone names a chat would pick: Region/City and UTC, not the posix/ and right/ copies."""
    names = zoneinfo.available_timezones()
    keep = {n for n in names if "/" in n and not n.startswith(("posix/", "right/", "Etc/", "SystemV/"))}
    return tuple(sorted(keep | {"UTC"}))


def suggest(candidates: Sequence[str], current: str, label: Callable[[str], str] = str) -> list[Choice[str]]:
    """Up to 25 choices matching what was typed so far: prefixes first, then any part of the name."""
    typed = current.strip().lower().replace(" ", "_")
    starts = [c for c in candidates if c.lower().startswith(typed) or label(c).lower().startswith(typed)]
    inside = [c for c in candidates if c not in starts and (typed in c.lower() or typed in label(c).lower())]
    return [Choice(name=label(c)[:100], value=c) for c in (starts + inside)[:_MAX_SUGGESTIONS]]


def _lang_of(interaction: discord.Interaction) -> str:
    return "zh-TW" if interaction.locale is discord.Locale.taiwan_chinese else "en"


def _choice_label(value: str, lang: str) -> str:
    key = f"choice.{value}"
    return t(key, lang) if key in EN else value


def _autocomplete_for(param: Param) -> AutocompleteFn | None:
    """The suggestions offered while typing this option, or None when it has none."""
    if param.suggest and param.choices:
        choices = param.choices

        async def from_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            lang = _lang_of(interaction)
            return suggest(choices, current, lambda c: f"{c} \u2014 {_choice_label(c, lang)}")

        return from_choices
    if param.kind == "zone":

        async def zones(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            return suggest(_zones(), current)

        return zones
    if param.kind == "time":

        async def times(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            typed = current.strip()
            exact = _HHMM.match(typed)
            own = [f"{int(exact.group(1)):02d}:{exact.group(2)}"] if exact else []
            rest = [c for c in _TIMES if c not in own and (c.startswith(typed) or c.startswith("0" + typed))]
            return [Choice(name=c, value=c) for c in (own + rest)[:_MAX_SUGGESTIONS]]

        return times
    if param.kind == "duration":

        async def durations(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            return suggest(_DURATIONS, current)

        return durations
    if param.kind == "command":

        async def commands(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            lang = _lang_of(interaction)
            names = [n for n, c in COMMANDS.items() if not c.hidden]
            return suggest(names, current.lstrip("/"), lambda n: f"/{n} \u2014 {t(f'cmd.{n}', lang)}")

        return commands
    return None


def _annotation(param: Param) -> Any:
    if param.kind == "number":
        return app_commands.Range[float, param.low, param.high]
    return str


def to_args(params: Sequence[Param], values: dict[str, Any]) -> list[str]:
    """Typed option values back to the positional arguments the shared handlers take, in table order."""
    args: list[str] = []
    for param in params:
        value = values.get(param.name)
        if value is None:
            continue
        if isinstance(value, float | int) and not isinstance(value, bool):
            text = param.zero if value == 0 and param.zero else f"{float(value):g}{param.unit}"
            args.append(text)
            continue
        args.extend(str(value).split())
    return args


def _leaf(
    name: str,
    description: locale_str,
    command: Command,
    params: Sequence[Param],
    prefix: list[str],
    invoke: Invoke,
) -> app_commands.Command[Any, ..., None]:
    """One callable slash command (or subcommand) whose options are `params`."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await invoke(interaction, command, prefix + to_args(params, values))

    ordered = sorted(params, key=lambda p: not p.required)  # Discord wants required options first
    signature = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for param in ordered:
        default = inspect.Parameter.empty if param.required else None
        annotation = _annotation(param) if param.required else _annotation(param) | None
        signature.append(
            inspect.Parameter(
                param.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    signature[0] = signature[0].replace(annotation=discord.Interaction)
    callback.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    described = {p.name: _text(f"param.{command.name}.{p.name}", p.description) for p in params}
    callback.__discord_app_commands_param_description__ = described  # type: ignore[attr-defined]
    choices = {
        p.name: [Choice(name=_text(f"choice.{c}", EN.get(f"choice.{c}", c)), value=c) for c in p.choices[:25]]
        for p in params
        if p.choices and not p.suggest and p.kind != "subcommand"
    }
    if choices:
        callback.__discord_app_commands_param_choices__ = choices  # type: ignore[attr-defined]
    completing = {p.name: fn for p in params if (fn := _autocomplete_for(p)) is not None}
    if completing:
        callback.__discord_app_commands_param_autocomplete__ = completing  # type: ignore[attr-defined]
    return app_commands.Command(name=name, description=description, callback=callback)


def app_command(
    command: Command, invoke: Invoke
) -> app_commands.Command[Any, ..., None] | app_commands.Group:
    """The app command for one table entry: a group of subcommands when a param is of kind subcommand."""
    description = _text(f"cmd.{command.name}", command.help)
    restricted = command.changes_subscriptions or command.operator_only
    split = next((p for p in command.params if p.kind == "subcommand"), None)
    if split is None:
        leaf = _leaf(command.name, description, command, command.params, [], invoke)
        if restricted:
            leaf.default_permissions = MANAGE_CHANNELS
        return leaf
    group = app_commands.Group(
        name=command.name,
        description=description,
        default_permissions=MANAGE_CHANNELS if restricted else None,
    )
    for choice in split.choices:
        params = [p for p in command.params if p is not split and p.only in ("", choice)]
        sub_description = _text(
            f"cmd.{command.name}.{choice}", EN.get(f"cmd.{command.name}.{choice}", choice)
        )
        group.add_command(_leaf(choice, sub_description, command, params, [choice], invoke))
    return group


def build_tree(client: discord.Client, invoke: Invoke) -> app_commands.CommandTree[discord.Client]:
    """The tree of every command in the table a platform menu shows, translated from the catalog."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    for command in COMMANDS.values():
        if not command.hidden:
            tree.add_command(app_command(command, invoke))
    tree.error(_on_error)
    return tree


async def _on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """Whatever went wrong, the user is told: an out-of-date command form, or our own failure (logged)."""
    lang = _lang_of(interaction)
    if isinstance(error, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound):
        log.warning("discord: %s", error)
        text = t("error.outdated_command", lang)
    else:
        log.error("discord: command failed", exc_info=error)
        text = t("error.internal", lang)
    if interaction.type is discord.InteractionType.autocomplete or interaction.is_expired():
        return
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def tree_payload(tree: app_commands.CommandTree[discord.Client]) -> list[dict[str, Any]]:
    """Exactly what tree.sync() sends: each command's payload with its translations."""
    translator = tree.translator
    if translator is None:
        return [command.to_dict(tree) for command in tree.get_commands()]
    return [await command.get_translated_payload(tree, translator) for command in tree.get_commands()]
