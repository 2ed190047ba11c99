"""PNG charts in one house style with matplotlib's Agg backend; pure (ChartData in, bytes out), safe in a
worker thread. Every word drawn comes in the ChartData, already in the chat's language."""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import numpy.typing as npt

matplotlib.use("Agg")

import matplotlib.dates as mdates
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator

from bot.core.memory import trim_heap
from bot.words.reply import ChartBand, ChartData, ChartPanel, ChartSeries

# pyplot's global state is not thread-safe; Figure objects are, but font caches warm up under a lock.
_RENDER_LOCK = threading.Lock()

# 1280 x 720 px: 8 x 4.5 in at 160 dpi, so 9 pt text is 20 px tall and still reads on a phone.
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 160
_LEFT, _RIGHT, _TOP, _BOTTOM = 0.085, 0.875, 0.845, 0.215
_EPOCH = np.datetime64("1970-01-01", "D")  # matplotlib's default date epoch: x is days since it

COLORS: dict[str, str] = {
    "sofr": "#c0392b",
    "effr": "#b9770e",
    "iorb": "#7f8c8d",
    "ceiling": "#1f4e79",
    "floor": "#2e86c1",
    "band": "#a9cce3",
    "percentile": "#f5b7b1",
    "quartile": "#ec7063",
    "breach": "#e74c3c",
    "spread": "#922b21",
    "am": "#f0b27a",
    "pm": "#c0392b",
    "volume": "#95a5a6",
    "tga": "#1e8449",
    "target": "#7f8c8d",
    "rrp": "#7d3c98",
    "assets": "#2471a3",
    "liquidity": "#17202a",
}
_PALETTE = ("#1f77b4", "#7f8c8d", "#2ca02c", "#9467bd")
_BAND_ALPHA = {"band": 0.45, "percentile": 0.45, "quartile": 0.35, "breach": 0.35}
_GREY = "#5d6d7e"


def _days(dates: Sequence[str]) -> npt.NDArray[np.float64]:
    """ISO dates as matplotlib date numbers (days since the epoch)."""
    return (np.array(dates, dtype="datetime64[D]") - _EPOCH).astype(np.float64)


def render_and_trim(data: ChartData) -> bytes:
    """Render, then give the figure's freed memory back: what the drawing process runs for each chart
    (`bot.render.chart_process`; the bot's own process never imports this module)."""
    try:
        return render_png(data)
    finally:
        trim_heap()


# Noto Sans CJK TC: the pip package the project depends on, else Debian's fonts-noto-cjk (Dockerfile).
_CJK_PACKAGE = "cvttf_NotoSansCJK_Regular"
_CJK_SYSTEM = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
_FONT_LOCK = threading.Lock()


@functools.cache
def cjk_font_family() -> str | None:
    """Register the Traditional Chinese font with matplotlib once, and return its family name."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec(_CJK_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidates += sorted(Path(folder).glob("*.[ot]t[fc]"))
    candidates += [Path(p) for p in _CJK_SYSTEM]
    for path in candidates:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            family = str(font_manager.FontProperties(fname=str(path)).get_name())
            logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldWarning(family))
            return family
    return None


class _NoBoldWarning(logging.Filter):
    """The CJK font ships one weight; matplotlib warns each time a bold title falls back to it. Only that
    warning is dropped: a missing glyph still warns."""

    def __init__(self, family: str) -> None:
        super().__init__()
        self.family = family

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("findfont: Failed to find font weight") and self.family in message)


def _with_fonts(draw: Callable[[ChartData], bytes]) -> Callable[[ChartData], bytes]:
    """Draw with DejaVu Sans for Latin text and the CJK font as the per-glyph fallback, so a Chinese
    chart has real glyphs; a glyph missing from both still warns (an error under the test suite)."""

    @functools.wraps(draw)
    def drawn(data: ChartData) -> bytes:
        family = cjk_font_family()
        fonts = ["DejaVu Sans", family] if family else ["DejaVu Sans"]
        with _FONT_LOCK, matplotlib.rc_context({"font.family": fonts}):
            return draw(data)

    return drawn


@_with_fonts
def render_png(data: ChartData) -> bytes:
    """Draw the chart and return PNG bytes."""
    fig = build_figure(data)
    buffer = io.BytesIO()
    with _RENDER_LOCK:
        fig.savefig(
            buffer, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 1}
        )
    return buffer.getvalue()


def tick_labels(
    days: Sequence[date], months: Sequence[str], day_tick: str, year_tick: str = "{year}"
) -> list[str]:
    """Labels for date ticks: years alone when every tick is a new year, month names when every tick starts
    a month, else days; the first tick and each new year carry the year, so no tick leaves it unsaid."""
    if not days:
        return []
    if all(d.month == 1 and d.day == 1 for d in days):
        return [year_tick.format(year=d.year) for d in days]
    monthly = all(d.day == 1 for d in days)
    labels: list[str] = []
    for i, d in enumerate(days):
        month = months[d.month - 1]
        text = month if monthly else day_tick.format(month=month, day=d.day)
        if i == 0 or d.year != days[i - 1].year:
            text += "\n" + year_tick.format(year=d.year)
        labels.append(text)
    return labels


class _DateTicks(Formatter):
    def __init__(self, months: Sequence[str], day_tick: str, year_tick: str) -> None:
        self.months = months
        self.day_tick = day_tick
        self.year_tick = year_tick

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Any) -> list[str]:
        days = [date(1970, 1, 1) + timedelta(days=round(float(v))) for v in values]
        return tick_labels(days, self.months, self.day_tick, self.year_tick)


def build_figure(data: ChartData) -> Figure:
    """The whole picture as a matplotlib Figure (tests read what is drawn where from it)."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    grid = fig.add_gridspec(
        len(data.panels),
        1,
        height_ratios=[p.weight for p in data.panels],
        left=_LEFT,
        right=_RIGHT,
        top=_TOP,
        bottom=_BOTTOM,
        hspace=0.12,
    )
    first = _days([data.since])[0] if data.since else None
    last = _days([data.until])[0] if data.until else None
    axes: list[Axes] = []
    handles: dict[str, LegendKey] = {}
    for i, panel in enumerate(data.panels):
        ax = fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None)
        axes.append(ax)
        _draw_panel(ax, panel, handles)
        if first is not None and last is not None:
            # Half a day of margin each side: the first and last days are whole days, bars and bands included.
            ax.set_xlim(first - 0.5 - (last - first) * 0.01, last + 0.5 + (last - first) * 0.01)
        _label_latest(ax, panel)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(_DateTicks(data.months, data.day_tick, data.year_tick))
    _put_text(fig, data.title, _LEFT, 0.975, "top", 13.0, "bold", "#17202a")
    if data.subtitle:
        _put_text(fig, data.subtitle, _LEFT, 0.905, "top", 9.5, "normal", _GREY)
    if handles:
        legend = _legend_image(tuple(handles.items()), tuple(matplotlib.rcParams["font.family"]))
        # Centred under the plot; a rasterised legend costs a blit instead of a fifth of the render.
        x = max(0, (round(WIDTH_IN * DPI) - legend.shape[1]) // 2)
        fig.figimage(legend, xo=x, yo=round(0.055 * HEIGHT_IN * DPI), origin="upper", zorder=3)
    if data.stamp:
        _put_text(fig, data.stamp, 0.012, 0.012, "bottom", 7.5, "normal", _GREY)
    return fig


def _put_text(
    fig: Figure, text: str, x: float, y: float, va: str, size: float, weight: str, color: str
) -> None:
    """A line of text at figure fraction (x, y), its left edge at x and its top or bottom at y, as pixels
    rasterised once per string (titles, sources and stamps repeat on every chart of a kind and day)."""
    image = _text_image(text, size, weight, color, tuple(matplotlib.rcParams["font.family"]))
    height = image.shape[0]
    top = y * HEIGHT_IN * DPI + (0 if va == "top" else height)
    fig.figimage(
        image, xo=round(x * WIDTH_IN * DPI), yo=round(top - height), origin="upper", zorder=3
    ).set_gid(text)


@functools.lru_cache(maxsize=32)  # at most ~3 MB of pixels
def _text_image(
    text: str, size: float, weight: str, color: str, fonts: tuple[str, ...]
) -> npt.NDArray[np.uint8]:  # fonts: part of the key, so pixels drawn without the CJK fallback are not reused
    fig = Figure(figsize=(WIDTH_IN, 0.6), dpi=DPI)
    fig.patch.set_alpha(0.0)
    fig.text(0.0, 0.5, text, ha="left", va="center", fontsize=size, fontweight=weight, color=color)
    return _pixels(fig)


def _pixels(fig: Figure) -> npt.NDArray[np.uint8]:
    """A transparent figure drawn and cropped to what was drawn, read-only so a cached copy stays intact."""
    canvas = FigureCanvasAgg(fig)
    with _RENDER_LOCK:
        canvas.draw()  # type: ignore[no-untyped-call]
    image = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    rows = np.flatnonzero(image[:, :, 3].max(axis=1))
    cols = np.flatnonzero(image[:, :, 3].max(axis=0))
    if not len(rows):
        return np.zeros((1, 1, 4), dtype=np.uint8)
    cropped = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
    cropped.setflags(write=False)
    return cropped


LegendKey = tuple[str, str, str, float]  # (kind: line|patch|marker, colour, line style, width or alpha)


@functools.lru_cache(maxsize=16)  # at most ~3 MB of pixels
def _legend_image(
    entries: tuple[tuple[str, LegendKey], ...], fonts: tuple[str, ...]
) -> npt.NDArray[np.uint8]:
    """The legend drawn once per set of entries and kept as pixels: its words and swatches are the same on
    every chart of a kind, and laying out and rasterising them was a fifth of a render."""
    fig = Figure(figsize=(WIDTH_IN, 0.6), dpi=DPI)
    fig.patch.set_alpha(0.0)
    proxies: list[Artist] = []
    for _, (kind, color, style, size) in entries:
        if kind == "line":
            proxies.append(
                Line2D([], [], color=color, linestyle="--" if style == "--" else "-", linewidth=size)
            )
        elif kind == "marker":
            proxies.append(Line2D([], [], color=color, marker="o", linestyle="none", markersize=5))
        else:
            proxies.append(Patch(facecolor=color, alpha=size, linewidth=0))
    fig.legend(
        proxies,
        [label for label, _ in entries],
        loc="center",
        ncol=min(len(entries), 6),
        fontsize=8.5,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.4,
    )
    return _pixels(fig)


def _color(series: ChartSeries, i: int) -> str:
    return COLORS.get(series.role, _PALETTE[i % len(_PALETTE)])


def _draw_panel(ax: Axes, panel: ChartPanel, handles: dict[str, LegendKey]) -> None:
    for band in panel.bands:
        _draw_band(ax, band, handles)
    top = 0.0
    for i, series in enumerate(panel.series):
        if series.dates:
            top = max(top, _draw_series(ax, series, _color(series, i), handles))
    if panel.zero_line:
        ax.axhline(0.0, color="#17202a", linewidth=0.9, zorder=1)
    if any(s.style == "bars" for s in panel.series):
        ax.set_ylim(0.0, top * 1.2 if top > 0 else 1.0)
    ax.set_ylabel(panel.unit, fontsize=8.5, color=_GREY)
    ax.tick_params(labelsize=8.5, length=3)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5 if panel.weight >= 2.5 else 3))
    ax.grid(True, linewidth=0.5, alpha=0.45)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_band(ax: Axes, band: ChartBand, handles: dict[str, LegendKey]) -> None:
    if not band.lower.dates:
        return
    color = COLORS.get(band.role, "#cccccc")
    alpha = _BAND_ALPHA.get(band.role, 0.4)
    x = _days(band.lower.dates)
    low = np.array(band.lower.values)
    high = np.array(band.upper.values)
    artist: Any
    if band.stepped:
        # Each value covers its own day whole (from half a day before its date) until the next change.
        end = _days([band.until or band.lower.dates[-1]])[0] + 0.5
        x = np.append(x - 0.5, end)
        low, high = np.append(low, low[-1]), np.append(high, high[-1])
        artist = ax.fill_between(x, low, high, step="post", color=color, alpha=alpha, linewidth=0, zorder=0)
        ax.step(x, high, where="post", color=COLORS["ceiling"], linewidth=1.0, zorder=1)
        ax.step(x, low, where="post", color=COLORS["floor"], linewidth=0.8, zorder=1)
    else:
        # Only "above zero" shading needs the crossings found; a range's top is never below its floor.
        where = high > low if band.role == "breach" else None
        artist = ax.fill_between(
            x,
            low,
            high,
            where=where,
            interpolate=where is not None,
            color=color,
            alpha=alpha,
            linewidth=0,
            zorder=0,
        )
    artist.set_gid(f"band:{band.role}")
    handles.setdefault(band.label, ("patch", color, "", alpha))


def _draw_series(ax: Axes, series: ChartSeries, color: str, handles: dict[str, LegendKey]) -> float:
    """Draw one series; returns the highest value drawn (bars need the room for their labels)."""
    x = _days(series.dates)
    y = np.array(series.values, dtype=np.float64)
    top = float(np.max(y)) if len(y) else 0.0
    key: LegendKey
    if series.style == "bars":
        base = np.array(series.base) if series.base else np.zeros(len(y))
        centre = x + (series.width / 2 - 0.5 if series.width > 1 else 0.0)
        _bars(ax, centre, base, base + y, series.width * 0.8, color, 1.0)
        totals = base + y
        top = float(np.max(totals))
        for i, text in zip(series.notes, series.note_texts, strict=True):
            ax.annotate(
                text,
                (centre[i], totals[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7.5,
                color="#17202a",
                fontweight="bold",
            )
        key = ("patch", color, "", 1.0)
    elif series.style == "gap":
        span = (x[-1] - x[0]) if len(x) > 1 else 1.0
        width = max(0.9, span / 400)  # a one-day gap stays visible on a 25-year chart
        _bars(ax, x, np.array(series.base, dtype=np.float64), y, width, color, 0.35).set_gid("gap")
        return top
    elif series.style == "points":
        ax.scatter(x, y, s=16, color=color, zorder=5, linewidths=0).set_gid("breach")
        key = ("marker", color, "", 0.0)
    elif series.style == "area":
        ax.fill_between(x, 0, y, color=color, alpha=0.6, linewidth=0)
        ax.set_ylim(bottom=0)
        key = ("patch", color, "", 0.6)
    elif series.style == "step":
        xs = np.append(x - 0.5, x[-1] + 0.5)
        ax.step(xs, np.append(y, y[-1]), where="post", linewidth=1.5, color=color, zorder=3)
        key = ("line", color, "-", 1.5)
    elif series.style == "dashed":
        ax.plot(x, y, linestyle="--", linewidth=1.3, color=color, zorder=3)
        key = ("line", color, "--", 1.3)
    else:
        ax.plot(x, y, linewidth=1.6, color=color, zorder=4)
        if len(x) == 1:
            ax.scatter(x, y, s=14, color=color, zorder=4)
        key = ("line", color, "-", 1.6)
    handles.setdefault(series.label, key)
    return top


def _bars(
    ax: Axes,
    x: npt.NDArray[np.float64],
    bottom: npt.NDArray[np.float64],
    top: npt.NDArray[np.float64],
    width: float,
    color: str,
    alpha: float,
) -> PolyCollection:
    """Bars as one collection of rectangles: the same picture as ax.bar at a fraction of its cost (a bar
    per patch makes matplotlib redo its data limits and transforms hundreds of times)."""
    left, right = x - width / 2, x + width / 2
    verts = np.stack(
        [np.column_stack(c) for c in ((left, bottom), (left, top), (right, top), (right, bottom))], axis=1
    )
    bars = PolyCollection(list(verts), facecolors=color, edgecolors="none", alpha=alpha, zorder=2)
    ax.add_collection(bars, autolim=False)
    ax.update_datalim(np.column_stack((np.concatenate((left, right)), np.concatenate((bottom, top)))))
    ax.autoscale_view()
    return bars


def _label_latest(ax: Axes, panel: ChartPanel) -> None:
    """The latest value of each flagged series in a coloured tag just right of the axes, nudged apart so
    tags never overlap."""
    tags = []
    for i, series in enumerate(panel.series):
        if series.tag and series.values:
            value = series.values[-1] + (series.base[-1] if series.base else 0.0)
            tags.append((value, series.tag, _color(series, i)))
    if not tags:
        return
    bottom, top = ax.get_ylim()
    height = (top - bottom) or 1.0
    placed = sorted(
        ((min(max((v - bottom) / height, 0.0), 1.0), text, c) for v, text, c in tags), key=lambda t: t[0]
    )
    gap = 0.085 * 3.0 / max(panel.weight, 1.0)
    ys = [p[0] for p in placed]
    for k in range(1, len(ys)):
        ys[k] = max(ys[k], ys[k - 1] + gap)
    overflow = ys[-1] - 1.0
    if overflow > 0:
        ys = [y - overflow for y in ys]
        for k in range(len(ys) - 2, -1, -1):
            ys[k] = min(ys[k], ys[k + 1] - gap)
    for y, (_, text, color) in zip(ys, placed, strict=True):
        ax.text(
            1.012,
            y,
            text,
            transform=ax.transAxes,
            ha="left",
            va="center",
            fontsize=8,
            color="white",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.25", "facecolor": color, "edgecolor": "none"},
            clip_on=False,
            gid="latest",
        )
