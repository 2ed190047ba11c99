"""Web dashboard benchmarks, on a database holding 10 years of every series (backfilled from the fakes).

Run: .venv/bin/python -m bench.bench_web [--loads 5] [--requests 1000]
- first paint of the page in headless Chromium on loopback, cold (fresh profile) and warm (goal: < 1 s),
  with the time until every chart has drawn beside it, for the default 3m view and for max (10 years);
- GET /api/series/sofr for a 1-year window, sequential on loopback (goal: p99 < 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from bench.bench_commands import NOW, build_database
from tests.test_web_browser import chromium, wait_for
from tests.web_support import ServedDashboard


def paint_times(url: str, loads: int, warm: bool) -> tuple[list[float], list[float]]:
    """First contentful paint and all-charts-drawn, ms from navigation start, per load."""
    paints: list[float] = []
    drawn: list[float] = []
    driver = chromium() if warm else None
    try:
        if driver is not None:
            driver.get(url)  # fills the cache with plotly.js
            wait_for(
                lambda: driver.execute_script("return window.plumbline && window.plumbline.ready"), "draw", 60
            )
        for _ in range(loads):
            d = driver or chromium()
            try:
                d.get(url)
                wait_for(
                    lambda d=d: d.execute_script("return window.plumbline && window.plumbline.ready"),
                    "draw",
                    60,
                )
                fcp = d.execute_script(
                    "var e = performance.getEntriesByName('first-contentful-paint')[0];"
                    " return e ? e.startTime : null;"
                )
                ready = d.execute_script("return performance.now();")
                paints.append(float(fcp))
                drawn.append(float(ready))
            finally:
                if driver is None:
                    d.quit()
    finally:
        if driver is not None:
            driver.quit()
    return paints, drawn


def api_latency(url: str, requests: int) -> list[float]:
    times: list[float] = []
    for _ in range(50):
        with urllib.request.urlopen(url) as r:
            r.read()
    for _ in range(requests):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as r:
            r.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        asyncio.run(build_database(path))
        print(f"database: 10 years of every series built in {time.perf_counter() - started:.1f} s")
        dash = ServedDashboard(path, NOW)
        dash.start()
        try:
            for view in ("3m", "max"):
                for warm in (False, True):
                    paints, drawn = paint_times(f"{dash.url}?range={view}", args.loads, warm)
                    label = f"page {view:>3} {'warm' if warm else 'cold'}"
                    print(
                        f"{label}: first paint median {statistics.median(paints):6.0f} ms,"
                        f" max {max(paints):6.0f} ms (goal < 1000 ms);"
                        f" all charts drawn median {statistics.median(drawn):6.0f} ms"
                    )
            since = (date.fromisoformat("2026-06-30") - timedelta(days=365)).isoformat()
            url = f"{dash.url}api/series/sofr?since={since}"
            with urllib.request.urlopen(url) as r:
                points = r.read().count(b'["')
            times = api_latency(url, args.requests)
            print(
                f"API /api/series/sofr 1 year ({points} points), {args.requests} requests: "
                f"median {statistics.median(times):.2f} ms, p99 {p99(times):.2f} ms (goal < 20 ms)"
            )
            url = f"{dash.url}api/dashboard?range=1y"
            times = api_latency(url, max(100, args.requests // 10))
            print(f"API /api/dashboard 1y: median {statistics.median(times):.2f} ms, p99 {p99(times):.2f} ms")
        finally:
            dash.stop()


if __name__ == "__main__":
    main()
