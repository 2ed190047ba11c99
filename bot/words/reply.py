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


ChartStyle = Literal["line", "dashed", "step", "bars", "points", "gap", "area"]


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One drawn series. `role` picks its colour; `base` is the bottom of each bar (stacked bars) or of
    each gap (a breach: ceiling to SOFR); `width` is a bar's span in days (7 for weekly sums); `notes`
    are the indexes whose amounts are written on the chart, as `note_texts`; `tag` is the latest value's
    label at the right edge ("" for none)."""

    label: str
    dates: tuple[str, ...]
    values: tuple[float, ...]
    style: ChartStyle = "line"
    role: str = ""
    base: tuple[float, ...] = ()
    width: float = 1.0
    notes: tuple[int, ...] = ()
    note_texts: tuple[str, ...] = ()
    tag: str = ""

    @property
    def latest(self) -> bool:
        return bool(self.tag)


@dataclass(frozen=True, slots=True)
class ChartBand:
    """A shaded range between two series on the same dates. A stepped band holds each value from its date
    through the day before the next one (the last through `until`), each day a full day wide, so the day
    a new FOMC range takes effect shows that range."""

    label: str
    lower: ChartSeries
    upper: ChartSeries
    role: str = "band"
    stepped: bool = False
    until: str = ""


@dataclass(frozen=True, slots=True)
class ChartPanel:
    """One set of axes; the first panel is the main one, the others sit below it on the same dates."""

    unit: str
    series: tuple[ChartSeries, ...]
    bands: tuple[ChartBand, ...] = ()
    zero_line: bool = False
    weight: float = 3.0  # share of the height


@dataclass(frozen=True, slots=True)
class ChartData:
    """Everything a chart needs, already read from storage and worded in the chat's language, so
    rendering is pure and can run in a worker thread."""

    title: str
    panels: tuple[ChartPanel, ...]
    since: str = ""
    until: str = ""
    stamp: str = ""  # the "as of ... · Source: ..." line drawn in the image
    subtitle: str = ""  # e.g. "weekly sums", beside the date range
    months: tuple[str, ...] = (
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    )
    day_tick: str = "{month} {day}"  # a tick on a day, e.g. "Oct 30"
    year_tick: str = "{year}"
    lang: str = "en"  # the reader's language (every word above is already in it)

    @property
    def series(self) -> tuple[ChartSeries, ...]:
        return self.panels[0].series

    @property
    def unit(self) -> str:
        return self.panels[0].unit

    @property
    def band(self) -> tuple[ChartSeries, ChartSeries] | None:
        """The main panel's first band as (lower, upper), or None."""
        bands = self.panels[0].bands
        return (bands[0].lower, bands[0].upper) if bands else None


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
