"""PNG charts with matplotlib's Agg backend; pure (ChartData in, bytes out), safe in a worker thread."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import importlib.util
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt

matplotlib.use("Agg")

import matplotlib.dates as mdates
from matplotlib import font_manager
from matplotlib.figure import Figure

from bot.words.messages import t
from bot.words.reply import ChartData, ChartSeries

# pyplot's global state is not thread-safe; Figure objects are, but font caches warm up under a lock.
_RENDER_LOCK = threading.Lock()

_COLORS = {
    "SOFR": "#c0392b",
    "EFFR": "#2c3e50",
    "IORB": "#7f8c8d",
}
_PALETTE = ("#1f77b4", "#7f8c8d", "#2ca02c", "#9467bd")
_BAND = "#a9cce3"
_WIDTH_IN, _HEIGHT_IN, _DPI = 8.0, 4.5, 110
_MAX_BARS = 250


def _dates(series: ChartSeries) -> npt.NDArray[np.datetime64]:
    return np.array(series.dates, dtype="datetime64[D]")


# One rendering thread: matplotlib is happier single-threaded, and every extra thread would keep its own
# malloc arena full of freed figure memory (resident memory grew ~25% in the soak test with the default pool).
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None


def release_memory() -> None:
    """Hand freed figure memory back to the OS (glibc only; elsewhere a no-op)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _render_and_trim(data: ChartData) -> bytes:
    try:
        return render_png(data)
    finally:
        release_memory()


async def render_png_async(data: ChartData) -> bytes:
    """Render on the dedicated chart thread, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, _render_and_trim, data)


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
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    return None


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


def _date_formatter(locator: mdates.AutoDateLocator, lang: str) -> mdates.ConciseDateFormatter:
    """Date ticks in the reader's language (2025年, 10月 in Chinese), the formats from the catalog."""
    formats, zeros, offsets = (t(f"chart.dates.{k}", lang).split("|") for k in ("formats", "zero", "offset"))
    return mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, formats=formats, zero_formats=zeros, offset_formats=offsets
    )


@_with_fonts
def render_png(data: ChartData) -> bytes:
    """Draw the chart and return PNG bytes."""
    fig = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    if data.band is not None:
        floor, ceiling = data.band
        ax.fill_between(
            _dates(floor),
            floor.values,
            _align(ceiling, floor),
            step="post" if floor.style == "step" else None,
            color=_BAND,
            alpha=0.45,
            linewidth=0,
            label=data.subtitle or None,
        )
        if floor.style == "step":
            ax.step(_dates(ceiling), ceiling.values, where="post", color="#2471a3", linewidth=1.0)
            ax.step(_dates(floor), floor.values, where="post", color="#2471a3", linewidth=1.0)
    for i, series in enumerate(data.series):
        color = _COLORS.get(series.label, _PALETTE[i % len(_PALETTE)])
        xs = _dates(series)
        if series.style == "bars" and len(xs) <= _MAX_BARS:
            width = max(0.8, min(3.0, 300 / max(len(xs), 1)))
            ax.bar(xs, series.values, width=width, color="#c0392b", label=series.label)
        elif series.style == "bars":
            # One line collection instead of a thousand rectangles: same picture, a tenth of the time.
            ax.vlines(xs, 0, series.values, color="#c0392b", linewidth=1.0, label=series.label)
        elif series.style == "dashed":
            ax.plot(xs, series.values, linestyle="--", linewidth=1.2, color=color, label=series.label)
        elif series.style == "step":
            ax.step(xs, series.values, where="post", linewidth=1.2, color=color, label=series.label)
        else:
            ax.plot(xs, series.values, linewidth=1.4, color=color, label=series.label)
    ax.set_title(data.title, fontsize=12, loc="left")
    ax.set_ylabel(data.unit)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_date_formatter(locator, data.lang))
    # Below the plot, so the legend never hides the last weeks of data.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=8, frameon=False)
    fig.text(0.995, 0.005, t("chart.brand", data.lang), ha="right", va="bottom", fontsize=7, color="#95a5a6")
    buffer = io.BytesIO()
    with _RENDER_LOCK:
        fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _align(upper: ChartSeries, lower: ChartSeries) -> list[float]:
    """The upper band values at the lower band's dates (as-of), so fill_between gets equal lengths."""
    out: list[float] = []
    j = 0
    current = upper.values[0] if upper.values else 0.0
    for d in lower.dates:
        while j < len(upper.dates) and upper.dates[j] <= d:
            current = upper.values[j]
            j += 1
        out.append(current)
    return out
