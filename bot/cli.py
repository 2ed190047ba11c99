"""The `plumbline` command line: run, web, poll, backfill, status, outbox, backup, replay, ask."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.clock import is_iso_date, utcnow
from bot.core.config import ConfigError, Settings, load_settings
from bot.core.lang import SUPPORTED_LANGS, parse_lang
from bot.core.lean import leave_out_numpy
from bot.core.logs import setup_logging
from bot.core.series import CATALOG
from storage.errors import StorageError
from storage.instance import InstanceLockedError

if TYPE_CHECKING:
    from bot.sources.poller import PollResult

# Each command imports what it uses inside its branch, so `ask`, `status` and `replay` start without
# matplotlib, python-telegram-bot, discord.py, APScheduler or httpx (tests/test_startup.py pins it).

log = logging.getLogger("plumbline")


def _date(text: str) -> date:
    if not is_iso_date(text):
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}")
    return date.fromisoformat(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plumbline", description="Watch the US dollar money-market plumbing and alert on stress."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the bot: poller, scheduler and chat front-ends (console without tokens)")
    sub.add_parser("poll", help="poll every source once now and print what changed")
    backfill = sub.add_parser("backfill", help="fetch full history into the database")
    backfill.add_argument(
        "--since", type=_date, default=date(2000, 1, 1), help="first date to fetch (default 2000-01-01)"
    )
    web = sub.add_parser("web", help="serve only the read-only web dashboard over the database (no polling)")
    web.add_argument("--host", help="address to listen on (default WEB_HOST, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port to listen on (default WEB_PORT, 8080)")
    sub.add_parser("status", help="latest value, age and fetch outcome of every series")
    sub.add_parser(
        "outbox", help="deliveries by status, and every send cut off in flight (it may not have arrived)"
    )
    backup = sub.add_parser(
        "backup", help="write a consistent copy of the database (safe while the bot runs)"
    )
    backup.add_argument("target", type=Path, help="the file to create, e.g. backups/plumbline-2026-11-25.db")
    replay_parser = sub.add_parser(
        "replay", help="run the alert rules over stored history and list every episode"
    )
    replay_parser.add_argument(
        "--since", type=_date, default=date(2018, 1, 1), help="first date (default 2018-01-01)"
    )
    replay_parser.add_argument(
        "--srf-threshold", type=float, default=0.0, metavar="BILLIONS", help="SRF alert threshold (default 0)"
    )
    ask = sub.add_parser("ask", help='answer one chat command and exit, e.g. plumbline ask "/corridor"')
    ask.add_argument("line", help="the command, e.g. /corridor or '/chart srf 1y'")
    ask.add_argument("--chart", type=Path, metavar="FILE", help="save the chart PNG (for /chart) to FILE")
    ask.add_argument(
        "--lang",
        type=_lang,
        metavar="LANG",
        help="answer in en or zh-TW this once (default: PLUMBLINE_LANG, or what /lang chose in the console)",
    )
    return parser


def format_poll(result: PollResult) -> str:
    """A short report of a poll cycle for the terminal."""
    lines: list[str] = []
    for name, outcome in sorted(result.outcomes.items()):
        window = f"{outcome.window[0]}..{outcome.window[1]}" if outcome.window else ""
        if outcome.ok:
            lines.append(
                f"{name:<11} ok     {len(outcome.changes):>6} values, "
                f"{len(outcome.operations):>5} operations changed  {window}  ({outcome.duration_ms} ms)"
            )
        else:
            lines.append(f"{name:<11} FAILED {outcome.error}")
    by_series: dict[str, int] = {}
    for change in result.changes:
        by_series[change.series] = by_series.get(change.series, 0) + 1
    if by_series:
        lines.append("changed: " + ", ".join(f"{s} {n}" for s, n in sorted(by_series.items())))
    else:
        lines.append("nothing changed")
    return "\n".join(lines)


def format_status(settings: Settings) -> str:
    """Per series: latest date, value, age and source outcome; stale series flagged."""
    from bot.market.freshness import series_status, source_status
    from storage.db import open_db

    db = open_db(settings.database_path, check=True)
    try:
        now = utcnow()
        rows = series_status(db, now, tuple(CATALOG))
        sources = {s.source: s for s in source_status(db)}
    finally:
        db.close()
    lines = [f"{'series':<15}{'date':<12}{'value':>14}  {'age':>5}  state"]
    for row in rows:
        if row.date is None or row.value is None:
            lines.append(f"{row.series:<15}{'-':<12}{'-':>14}  {'-':>5}  NO DATA")
            continue
        value = f"{row.value:,.2f} %" if row.unit == "%" else f"${row.value:,.3f}B"
        src = sources.get(row.source)
        state = "STALE" if row.stale else "ok"
        if src is not None and src.degraded:
            state += f" ({row.source} failing)"
        lines.append(f"{row.series:<15}{row.date:<12}{value:>14}  {row.age_days:>4}d  {state}")
    lines.append("")
    lines.append(f"{'source':<12}{'last fetch':<22}outcome")
    for src in sources.values():
        if src.last is None:
            lines.append(f"{src.source:<12}{'never':<22}-")
            continue
        outcome = "ok" if not src.degraded else f"ERROR x{src.failures}: {src.last.error}"
        lines.append(f"{src.source:<12}{src.last.started_at:<22}{outcome}")
    return "\n".join(lines)


def format_outbox(settings: Settings) -> str:
    """Counts by status, then each uncertain send: the only ones that may not have reached their chat."""
    from storage.db import open_db
    from storage.outbox import outbox_counts, uncertain_sends

    db = open_db(settings.database_path)
    try:
        counts = outbox_counts(db)
        uncertain = uncertain_sends(db, limit=200)
    finally:
        db.close()
    order = ("pending", "sending", "sent", "uncertain", "failed", "dropped")
    lines = ["deliveries: " + (", ".join(f"{s} {counts[s]}" for s in order if s in counts) or "none")]
    if not uncertain:
        lines.append("no uncertain sends: every delivery is known to have arrived or is still queued")
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"{len(uncertain)} uncertain send(s): cut off in flight, they may or may not have arrived; "
        "never resent automatically"
    )
    lines.append(f"{'id':>7}  {'queued':<21}{'platform':<17}{'chat':<22}{'event':<34}reason")
    for u in uncertain:
        chat = f"{u.address} {u.title}".strip()[:21]
        lines.append(
            f"{u.id:>7}  {u.created_at:<21}{u.platform:<17}{chat:<22}{u.event_key[:33]:<34}{u.error}"
        )
    return "\n".join(lines)


def backup_database(settings: Settings, target: Path) -> int:
    """VACUUM INTO a new file: a consistent, compact snapshot even while `plumbline run` writes."""
    if target.exists():
        print(f"plumbline: {target} already exists; choose a new file name", file=sys.stderr)
        return 2
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"plumbline: cannot create the folder {target.parent}: {exc.strerror}", file=sys.stderr)
        return 2
    from storage.db import backup_to

    ok = backup_to(settings.database_path, target)
    size = target.stat().st_size
    verdict = "ok" if ok else "FAILED"
    print(f"Backed up {settings.database_path} to {target} ({size:,} bytes, integrity {verdict})")
    return 0 if ok else 1


def _lang(value: str) -> str:
    lang = parse_lang(value)
    if lang is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a language; use one of {', '.join(SUPPORTED_LANGS)}"
        )
    return lang


def ask(settings: Settings, line: str, chart_path: Path | None, lang: str | None = None) -> int:
    """Print one reply; exit status 1 when the command was refused."""
    from bot.frontends.console import answer, console_lang
    from bot.render.text import to_console
    from storage.db import open_db

    db = open_db(settings.database_path)
    try:
        reply = answer(line, settings, db, lang=lang)
        lang = lang or console_lang(settings, db)
    finally:
        db.close()
    if reply is None:
        print("plumbline: not a command", file=sys.stderr)
        return 2
    print(to_console(reply, lang))
    if reply.chart is not None:
        from bot.render.chart_process import CHARTS, ChartError

        target = chart_path or Path("plumbline-chart.png")
        try:
            target.write_bytes(CHARTS.draw(reply.chart))
        except ChartError as exc:
            print(f"plumbline: could not draw the chart: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"plumbline: could not write the chart to {target}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"Chart saved to {target}")
    elif chart_path is not None:
        print(f"plumbline: that reply has no chart; nothing saved to {chart_path}", file=sys.stderr)
        return 1
    return 1 if reply.level == "error" else 0


async def _poll(settings: Settings, since: date | None) -> PollResult:
    """One cycle from the command line. The alert rules see the data silently: only the running bot alerts,
    so a backfill or a manual poll never fires alerts on history."""
    from bot.alerts.engine import AlertEngine
    from bot.sources.http import make_client, retry_policy
    from bot.sources.poller import Poller
    from storage.db import open_db

    db = open_db(settings.database_path)
    try:
        async with make_client(settings.http_timeout_seconds, retry_policy(settings)) as client:
            poller = Poller(settings, client, db)
            result = await poller.poll(since=since)
            await poller.write(lambda _db: AlertEngine(db).evaluate(silent=True))
            return result
    finally:
        db.close()


async def serve_web(settings: Settings, host: str, port: int) -> int:
    """`plumbline web`: the dashboard alone, on a read-only connection, until Ctrl-C or SIGTERM."""
    import asyncio
    import contextlib
    import signal

    from bot.web.server import Dashboard, WebServer
    from storage.db import open_readonly

    db = open_readonly(settings.database_path)
    server = WebServer(Dashboard(db), host, port)
    try:
        try:
            await server.start()
        except OSError as exc:
            print(f"plumbline: cannot listen on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
            return 2
        print(f"Plumbline dashboard at {server.url} (read-only; Ctrl-C stops it)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await server.stop()
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    leave_out_numpy()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"plumbline: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.secrets())
    try:
        if args.command in {"run", "poll", "backfill"}:
            import asyncio  # only the commands that start an event loop pay for it
        if args.command == "run":
            from bot.app import App

            return asyncio.run(App(settings).run_until_stopped())
        elif args.command == "poll":
            result = asyncio.run(_poll(settings, None))
            print(format_poll(result))
            return 1 if len(result.failed) == len(result.outcomes) else 0
        elif args.command == "backfill":
            result = asyncio.run(_poll(settings, args.since))
            print(format_poll(result))
            return 1 if result.failed else 0
        elif args.command == "web":
            port = args.port if args.port is not None else settings.web_port
            if port is None:
                print("plumbline: WEB_PORT is off; pass --port to serve the dashboard", file=sys.stderr)
                return 2
            import asyncio

            return asyncio.run(serve_web(settings, args.host or settings.web_host, port))
        elif args.command == "status":
            print(format_status(settings))
        elif args.command == "outbox":
            print(format_outbox(settings))
        elif args.command == "ask":
            return ask(settings, args.line, args.chart, args.lang)
        elif args.command == "backup":
            return backup_database(settings, args.target)
        elif args.command == "replay":
            from bot.alerts.replay import format_episodes, replay
            from storage.db import open_db

            db = open_db(settings.database_path)
            try:
                print(format_episodes(replay(db, args.since.isoformat(), args.srf_threshold)))
            finally:
                db.close()
    except (StorageError, InstanceLockedError) as exc:
        print(f"plumbline: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # damaged page found mid-query, disk full, read-only: one line, no traceback
        from storage.db import explain

        print(f"plumbline: {explain(settings.database_path, exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
