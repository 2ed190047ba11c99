"""The platform-neutral reply a command returns, and the context it is called with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.words.fmt import ljust
from bot.words.fmt import width as display_width

Level = Literal["info", "calm", "tight", "breach", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True, slots=True)
class Mono:
    """Lines that must keep their alignment (a ladder, a table): monospace everywhere."""

    lines: tuple[str, ...]


Block = Text | Mono


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    command: str  # the command line the button runs, e.g. "/chart corridor 3m"


@dataclass(frozen=True, slots=True)
class ChartSeries:
    label: str
    dates: tuple[str, ...]
    values: tuple[float, ...]
    style: Literal["line", "dashed", "bars", "step"] = "line"


@dataclass(frozen=True, slots=True)
class ChartData:
    """Everything a chart needs, already read from storage, so rendering can run in a worker thread."""

    title: str
    unit: str
    series: tuple[ChartSeries, ...]
    band: tuple[ChartSeries, ChartSeries] | None = None  # (floor, ceiling) shaded between
    subtitle: str = ""
    lang: str = "en"  # the reader's language: date ticks and fonts follow it


@dataclass(slots=True)
class Reply:
    title: str
    blocks: list[Block] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)  # levels and spreads; embed fields on Discord
    as_of: str | None = None
    level: Level = "info"
    chart: ChartData | None = None
    buttons: list[list[Button]] = field(default_factory=list)

    def plain_text(self) -> str:
        """Everything the reply says, as plain text (console, logs, tests)."""
        parts = [self.title]
        if self.fields:
            column = max(display_width(name) for name, _ in self.fields)
            parts.append("\n".join(f"{ljust(name, column)}  {value}" for name, value in self.fields))
        for block in self.blocks:
            parts.append(block.text if isinstance(block, Text) else "\n".join(block.lines))
        if self.as_of:
            parts.append(self.as_of)
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class Context:
    """Who is asking and when; handlers never look at the platform beyond this."""

    platform: Literal["telegram", "discord", "console"]
    chat_id: str
    user_id: str
    now: datetime
    is_group: bool = False
    is_chat_admin: bool = True  # may change this chat's subscriptions
    is_operator: bool = False  # in ADMIN_USER_IDS, or the local console
    lang: str = "en"
    tight_bp: float = 5.0
    bot_username: str = ""
    chat_title: str = ""


class UsageError(Exception):
    """Bad arguments: the message is safe to show and includes the usage line."""
