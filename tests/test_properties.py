"""Hostile arguments to every command: never a crash, never a traceback, never a change to another chat.

Every command of the table is driven with arbitrary argument lists (unicode, direction marks, zero-width and
control characters, emoji, very long strings, SQL/HTML/markdown injection, bad numbers, times and zones) from
every kind of chat: Telegram private and group (administrator or not), Discord guild and DM, and the console.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import available_timezones

import pytest
import sqlite_utils
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.words.messages import EN, t
from bot.words.reply import Button, Context, Reply, Text
from handlers.chart_command import CHART_KINDS, RANGES
from handlers.table import COMMANDS, dispatch, parse_command, run_command
from storage.chats import ensure_chat, get_chat, set_near_bp, set_srf_threshold, subscribe
from tests.seed import SCENARIOS, seeded

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "plumbline-properties"
# No example database: nothing is written under .hypothesis/ (print_blob still makes failures replayable).
settings.register_profile(
    PROFILE,
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROPERTY_SETTINGS = settings.get_profile(PROFILE)

SCENARIO = "month_end_2025"
NOW = SCENARIOS[SCENARIO].now
BOT = "plumbline_test_bot"

CONTEXTS: dict[str, Context] = {
    "telegram-private": Context("telegram", "4242", "4242", NOW, bot_username=BOT),
    "telegram-private-operator": Context("telegram", "4343", "4343", NOW, is_operator=True, bot_username=BOT),
    "telegram-group-admin": Context(
        "telegram", "-1004242", "4242", NOW, is_group=True, is_chat_admin=True, bot_username=BOT,
        chat_title="Rates desk",
    ),
    "telegram-group-member": Context(
        "telegram", "-1004242", "5151", NOW, is_group=True, is_chat_admin=False, bot_username=BOT,
        chat_title="Rates desk",
    ),
    "discord-guild-admin": Context(
        "discord", "880000000000000001", "77", NOW, is_group=True, is_chat_admin=True, chat_title="rates"
    ),
    "discord-guild-member": Context(
        "discord", "880000000000000001", "78", NOW, is_group=True, is_chat_admin=False, chat_title="rates"
    ),
    "discord-dm": Context("discord", "880000000000000002", "77", NOW),
    "console": Context("console", "console", "console", NOW, is_operator=True),
}  # fmt: skip

# Chats that none of the contexts above is: their rows must never change.
OTHER_CHATS = (
    ("telegram", "111", False),
    ("telegram", "-100999", True),
    ("discord", "990000000000000001", True),
)

# -- argument strategies -----------------------------------------------------------------------------------

WEIRD = [
    "\u200f", "\u200e", "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\x00", "\x07", "\x1b[31m", "\r\n",
    "\t", "\u2028", "\x85", "\U0001f680", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0010ffff",
    "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd", "\u0301", "\uff10\uff18:\uff13\uff10",
]  # fmt: skip
INJECTIONS = [
    "'; DROP TABLE chats;--", '" OR 1=1 --', "1); DELETE FROM subscriptions; --", "<b>", "</pre>",
    "<a href='javascript:alert(1)'>x</a>", "&amp;", "&lt;", "```", "`", "*bold*", "_it_", "~~s~~",
    "||spoiler||",
    "[link](http://example.com)", "@everyone", "@here", "<@&123456>", "{usage}", "{value}", "%s%s%n", "{0}",
    "\\", "/start", "/admin",
]  # fmt: skip
NUMBERS = [
    "1e308", "-1e308", "1e-308", "-0", "0", "NaN", "nan", "inf", "-inf", "Infinity", "5B", "5b", "0.5B",
    "5000M", "99999999999B", "9999.999B", "10000B", "1,000B", "$5B", "5 B", "0x10", "\u0665B", "3bp", "0bp",
    "100bp", "100.1bp", "101", "-3bp", "1e3bp", "3bps", "off", "OFF",
]  # fmt: skip
TIMES = [
    "25:61", "08:30:00", "24:00", "23:59", "00:00", "8:30", "08:30", "8:3\u0660", "\u0660\u0668:30",
    "08:30pm", ":", "::", "08::30", "-1:30", "\uff10\uff18:\uff13\uff10", "08:30\u200b",
]  # fmt: skip
ZONES = [
    "America/New_York/../../etc", "UTC", "Etc/GMT+14", "Etc/GMT-14", "", "America", "Etc", "America/Indiana",
    "US", "localtime", "Factory", "posixrules", "posix/UTC", "right/UTC", "leapseconds", "../../etc/passwd",
    "/etc/passwd", "America/New_York", "Europe/London", "Asia/Taipei", "A" * 70, "America/New_York\x00",
]  # fmt: skip
# Folders of the tz database ("America", "America/Indiana", "Etc"): they look like zones but are not.
ZONE_FOLDERS = sorted({z.rsplit("/", 1)[0] for z in available_timezones() if "/" in z})
DURATIONS = [
    "30m",
    "6h",
    "2d",
    "30d",
    "31d",
    "0m",
    "9999d",
    "720h",
    "721h",
    "1m",
    "-1h",
    "1.5h",
    "6H",
    "\u0666h",
]
KEYWORDS = [
    "alerts", "daily", "all", "weekends", "srf", "near", "off", "ALERTS", "Daily", *CHART_KINDS, *RANGES,
    *COMMANDS, "/corridor",
]  # fmt: skip
SAMPLES = sorted({*WEIRD, *INJECTIONS, *NUMBERS, *TIMES, *ZONES, *DURATIONS, *KEYWORDS})

# What may never reach a user: a traceback, an exception repr, a source path.
LEAKS = ("Traceback", "Error(", 'File "', str(ROOT))
_SOURCE_PATH = re.compile(r"\b(?:bot|handlers|storage|tests)/[\w/]+\.py\b")


def _clean(text: str) -> bool:
    """Arguments never contain the leak markers themselves, so an echoed argument cannot look like a leak."""
    return not any(marker in text for marker in LEAKS) and not _SOURCE_PATH.search(text)


def _long(piece: str, length: int) -> str:
    return ((piece or "x") * length)[:length]


ARG = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(max_size=40),
    st.text(
        st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs", "Mn", "So", "Nd"]), min_size=1, max_size=12
    ),
    st.builds(
        lambda a, b, c: a + b + c, st.sampled_from(WEIRD), st.sampled_from(SAMPLES), st.sampled_from(WEIRD)
    ),
    st.builds(_long, st.sampled_from(SAMPLES), st.integers(100, 5000)),
).filter(_clean)


def _words(*pools: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(*(st.sampled_from(p) for p in pools), ARG)


def _shuffled(words: list[str], order: random.Random) -> list[str]:
    return order.sample(words, len(words))


# Per command, argument lists shaped like its grammar (so the deep branches are reached with hostile words).
GRAMMAR: dict[str, st.SearchStrategy[list[str]]] = {
    "subscribe": st.one_of(
        st.builds(
            lambda lead, parts, order: [lead, *_shuffled([p for p in parts if p is not None], order)],
            st.sampled_from(["daily", "Daily", "DAILY"]),
            st.tuples(
                st.none() | _words(TIMES),
                st.none() | _words(ZONES) | st.sampled_from(ZONE_FOLDERS),
                st.none() | st.sampled_from(["weekends", "WEEKENDS"]),
            ),
            st.randoms(use_true_random=False),
        ),
        st.lists(_words(["alerts", "daily"], TIMES, ZONES), min_size=1, max_size=4),
    ),
    "unsubscribe": st.lists(_words(["alerts", "daily", "all"]), max_size=2),
    "threshold": st.builds(
        lambda lead, rest: [lead, *rest],
        st.sampled_from(["srf", "near", "SRF"]),
        st.lists(_words(NUMBERS), min_size=1, max_size=2),
    ),
    "mute": st.lists(_words(DURATIONS, NUMBERS), min_size=1, max_size=2),
    "chart": st.lists(_words(list(CHART_KINDS), list(RANGES)), max_size=3),
    "help": st.lists(_words(sorted(COMMANDS), [f"/{n}" for n in sorted(COMMANDS)]), max_size=2),
}


def arguments_for(name: str) -> st.SearchStrategy[list[str]]:
    """Anything at all, or words shaped like the command's own arguments with hostile ones among them."""
    return st.one_of(st.lists(ARG, max_size=5), GRAMMAR.get(name, st.lists(_words(KEYWORDS), max_size=3)))


CONTEXT_NAMES = st.sampled_from(sorted(CONTEXTS))

# -- what an error reply may say ---------------------------------------------------------------------------


def _template(key: str) -> str:
    """A catalog message as a regex: the fixed words exactly, each {placeholder} as anything."""
    return ".*?".join(re.escape(part) for part in re.split(r"\{[a-z_]+\}", EN[key]))


_USAGE_LINES = {c.usage for c in COMMANDS.values()} | {f"/{n}" for n in COMMANDS} | {"/help [command]"}
_USAGE_BODIES = [re.escape(u) for u in sorted(_USAGE_LINES)] + [
    _template(k) for k in sorted(EN) if k.startswith("sub.bad_")
]
_EXPLAINED = [
    k
    for k in sorted(EN)
    if k.startswith(("error.", "sub.need_admin", "lang.need_admin")) or k == "admin.refused"
    if k != "error.internal"
]
ALLOWED_ERROR = re.compile(
    "|".join(
        [
            re.escape(EN["usage"].split("{usage}")[0]) + "(?:" + "|".join(_USAGE_BODIES) + ")",
            *(_template(k) for k in _EXPLAINED),
        ]
    ),
    re.DOTALL,
)
REFUSALS = {
    t("sub.need_admin"),
    t("sub.need_admin_discord"),
    t("lang.need_admin"),
    t("lang.need_admin_discord"),
    t("admin.refused"),
}


def check_reply(reply: Reply | None, name: str) -> Reply:
    assert isinstance(reply, Reply), reply
    shown = [reply.plain_text()]
    shown += [f"{b.label} {b.command}" for row in reply.buttons for b in row if isinstance(b, Button)]
    if reply.chart is not None:
        shown += [reply.chart.title, reply.chart.subtitle, *(s.label for s in reply.chart.series)]
    everything = "\n".join(shown)
    for marker in LEAKS:
        assert marker not in everything, (name, everything)
    assert not _SOURCE_PATH.search(everything), (name, everything)
    assert reply.title != t("error.internal"), f"/{name} crashed (see the log): {everything!r}"
    if reply.level == "error":
        assert ALLOWED_ERROR.fullmatch(reply.title), (name, reply.title)
        assert all(isinstance(b, Text) for b in reply.blocks)
    return reply


# -- the database ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[sqlite_utils.Database]:
    """The month-end 2025 scenario plus three chats that belong to nobody under test."""
    db = seeded(SCENARIO)
    stamp = "2025-11-01T12:00:00Z"
    for platform, address, group in OTHER_CHATS:
        chat = ensure_chat(db, platform, address, title=f"other {address}", is_group=group, now=stamp)
        subscribe(db, chat.id, "alerts", now=stamp)
        subscribe(db, chat.id, "daily", now=stamp, daily_time="07:15", tz="Europe/London", weekends=True)
        set_srf_threshold(db, chat.id, 12.5)
        set_near_bp(db, chat.id, 3.0)
    yield db
    db.close()


def tables(db: sqlite_utils.Database) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {r[0] for r in rows.fetchall()}


EXPECTED_TABLES = {
    "_sqlite_migrations", "observations", "revisions", "operations", "fetch_log", "meta", "chats",
    "subscriptions", "alert_marks", "events", "outbox",
}  # fmt: skip


def snapshot(db: sqlite_utils.Database, own: Context | None) -> dict[str, Counter[tuple[object, ...]]]:
    """Every row of every table, leaving out the asking chat's own rows when `own` is given."""
    found: dict[str, Counter[tuple[object, ...]]] = {}
    where = ("", ())
    for table in sorted(tables(db)):
        if own is not None and table == "chats":
            where = ("WHERE NOT (platform = ? AND address = ?)", (own.platform, own.chat_id))
        elif own is not None and table == "subscriptions":
            where = (
                "WHERE chat_id NOT IN (SELECT id FROM chats WHERE platform = ? AND address = ?)",
                (own.platform, own.chat_id),
            )
        else:
            where = ("", ())
        rows = db.execute(f'SELECT * FROM "{table}" {where[0]}', where[1]).fetchall()
        found[table] = Counter(tuple(r) for r in rows)
    return found


def check_db(
    db: sqlite_utils.Database,
    name: str,
    ctx: Context,
    reply: Reply,
    others_before: dict[str, Counter[tuple[object, ...]]],
    all_before: dict[str, Counter[tuple[object, ...]]],
) -> None:
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert tables(db) == set(all_before) and set(all_before) >= EXPECTED_TABLES
    assert snapshot(db, ctx) == others_before, f"/{name} changed rows of another chat or shared data"
    command = COMMANDS.get(name)
    gated = command is not None and command.changes_subscriptions and ctx.is_group and not ctx.is_chat_admin
    if gated:
        assert reply.level == "error", (name, reply.title)
    if gated or reply.title in REFUSALS:
        assert snapshot(db, None) == all_before, f"/{name} was refused but changed the database"
    own = get_chat(db, ctx.platform, ctx.chat_id)
    if own is not None:
        for kind, daily_time, tz in db.execute(
            "SELECT kind, daily_time, tz FROM subscriptions WHERE chat_id = ?", (own.id,)
        ).fetchall():
            if kind == "daily":
                # What is stored is canonical: ASCII 24-hour HH:MM and a zone that loads.
                assert re.fullmatch(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", daily_time, re.ASCII), daily_time
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}", tz), tz


def run_and_check(db: sqlite_utils.Database, name: str, ctx: Context, call: object) -> Reply:
    others_before, all_before = snapshot(db, ctx), snapshot(db, None)
    reply = check_reply(call(), name)  # type: ignore[operator]
    check_db(db, name, ctx, reply, others_before, all_before)
    return reply


# -- properties --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
@settings(PROPERTY_SETTINGS)
@given(data=st.data())
def test_every_command_survives_hostile_arguments_through_dispatch(
    world: sqlite_utils.Database, name: str, data: st.DataObject
) -> None:
    args = data.draw(arguments_for(name), label="args")
    ctx = CONTEXTS[data.draw(CONTEXT_NAMES, label="context")]
    text = "/" + name + " " + " ".join(args)
    run_and_check(world, name, ctx, lambda: dispatch(text, ctx, world))


WRITERS = sorted(n for n, c in COMMANDS.items() if c.changes_subscriptions)


@pytest.mark.parametrize("name", WRITERS)
@settings(PROPERTY_SETTINGS, max_examples=200)
@given(data=st.data())
def test_commands_that_write_survive_more_hostile_arguments(
    world: sqlite_utils.Database, name: str, data: st.DataObject
) -> None:
    """The commands that store what users type get more examples, always in their own grammar."""
    args = data.draw(GRAMMAR.get(name, arguments_for(name)), label="args")
    ctx = CONTEXTS[data.draw(CONTEXT_NAMES, label="context")]
    text = "/" + name + " " + " ".join(args)
    run_and_check(world, name, ctx, lambda: dispatch(text, ctx, world))


@pytest.mark.parametrize("name", sorted(COMMANDS))
@settings(PROPERTY_SETTINGS, max_examples=30)
@given(data=st.data())
def test_every_handler_survives_hostile_arguments_without_the_length_gate(
    world: sqlite_utils.Database, name: str, data: st.DataObject
) -> None:
    """Discord hands slash-command options straight to run_command: no 512-character gate, spaces inside."""
    args = data.draw(arguments_for(name), label="args")
    ctx = CONTEXTS[data.draw(CONTEXT_NAMES, label="context")]
    run_and_check(world, name, ctx, lambda: run_command(COMMANDS[name], args, ctx, world))


@pytest.mark.parametrize(
    ("line", "context"),
    [
        ("/subscribe daily America", "telegram-private"),
        ("/subscribe daily 08:30 Etc", "discord-dm"),
        ("/subscribe daily 08:30 America/Indiana", "console"),
        ("/subscribe daily 08:30 US", "telegram-group-admin"),
        ("/subscribe daily 8:3\u0660", "telegram-private"),
        ("/subscribe daily \uff10\uff18:\uff13\uff10", "console"),
        ("/subscribe daily 08:30 America/New_York/../../etc", "telegram-private"),
        ("/subscribe daily 25:61 Etc/GMT+14", "discord-guild-admin"),
        ("/threshold srf 99999999999B", "telegram-private"),
        ("/threshold srf 1e308", "console"),
        ("/threshold near NaN", "telegram-private"),
        ("/threshold near -0", "discord-dm"),
        ("/mute 9999d", "telegram-private"),
        ("/mute \u0666h", "console"),
        ("/chart corridor '; DROP TABLE chats;--", "telegram-private"),
        ("/help <b>", "telegram-group-member"),
        ("/unsubscribe all", "telegram-group-member"),
        ("/admin", "telegram-private"),
        ("/\u200fcorridor\u200b", "telegram-private"),
        ("/" + "x" * 5000, "console"),
    ],
)
def test_known_hostile_lines(world: sqlite_utils.Database, line: str, context: str) -> None:
    """Hand-picked lines that once reached a crash or stored odd data: each one always runs."""
    ctx = CONTEXTS[context]
    parsed = parse_command(line, ctx.bot_username)
    assert parsed is not None
    run_and_check(world, parsed.name, ctx, lambda: dispatch(line, ctx, world))


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.builds(lambda s: "/" + s, st.text(max_size=80)),
        st.builds(
            lambda a, b: "/" + a + "@" + b,
            st.sampled_from(sorted(COMMANDS)),
            st.sampled_from([BOT, "other_bot", ""]),
        ),
    ).filter(_clean),
    context=CONTEXT_NAMES,
)
@example(text="/", context="telegram-private")
@example(text="/\u200b", context="telegram-private")
@example(text="/\x00", context="console")
@example(text="/corridor@Plumbline_Test_Bot", context="telegram-group-member")
@example(text="/corridor@other_bot", context="telegram-group-member")
@example(text="\u200f/corridor", context="telegram-private")
def test_any_line_is_a_reply_or_not_for_us(world: sqlite_utils.Database, text: str, context: str) -> None:
    """dispatch answers None exactly when the line is not a command for this bot, else a safe reply."""
    ctx = CONTEXTS[context]
    parsed = parse_command(text, ctx.bot_username)
    others_before, all_before = snapshot(world, ctx), snapshot(world, None)
    reply = dispatch(text, ctx, world)
    if parsed is None:
        assert reply is None
        assert snapshot(world, None) == all_before
        return
    check_db(world, parsed.name, ctx, check_reply(reply, parsed.name), others_before, all_before)


def test_the_other_chats_are_still_as_seeded(world: sqlite_utils.Database) -> None:
    """After every property above: the chats nobody was acting for kept their rows, and the data is whole."""
    for platform, address, _ in OTHER_CHATS:
        chat = get_chat(world, platform, address)
        assert chat is not None and chat.title == f"other {address}"
        assert (chat.srf_threshold, chat.near_bp, chat.active) == (12.5, 3.0, True)
        kinds = world.execute(
            "SELECT kind, daily_time, tz, weekends FROM subscriptions WHERE chat_id = ? ORDER BY kind",
            (chat.id,),
        ).fetchall()
        assert [tuple(k) for k in kinds] == [
            ("alerts", None, None, 0),
            ("daily", "07:15", "Europe/London", 1),
        ]
    assert world.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 177
    assert world.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == 12
    assert world.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
