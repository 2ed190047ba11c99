"""Security: no secret in the logs of a full run, redaction at every level, no real secret in .env.example,
parameterised SQL everywhere, and /status internals only for operators."""

from __future__ import annotations

import ast
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from bot.app import App
from bot.core.config import load_settings
from bot.core.logs import RedactingFilter, setup_logging
from bot.sources.registry import SOURCES
from bot.words.messages import t
from bot.words.reply import Context
from handlers.table import dispatch
from storage.fetchlog import FetchRecord, last_fetches, record_fetch
from tests.e2e_support import wait_until
from tests.fakes.sources import FakeSources
from tests.fakes.telegram import FakeTelegram
from tests.seed import SCENARIOS, seeded

ROOT = Path(__file__).resolve().parents[1]

# Shaped like the real thing (bot id, colon, 35 characters), so shape-based redaction is exercised too.
# A fake token with a real token's shape (so shape-based redaction is exercised), assembled at run time
# so that no secret scanner mistakes this file for a leak.
TELEGRAM_TOKEN = ":".join(["7412589630", "AAHk3v9QzPlumbLine_Secret-Part012345"])
TELEGRAM_SECRET_PART = TELEGRAM_TOKEN.split(":", 1)[1]
FRED_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WEBHOOK_SECRET = "Xy7_kQ9-wE3rT5yU8iO0pA2sD4fG6hJ8kL1zX3cV5bN7mQ9wE2rT4yU6iO8pA0sD"
WEBHOOK_URL = f"https://discord.com/api/webhooks/123456789012345678/{WEBHOOK_SECRET}"

_NOISY = ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler", "discord.gateway")


@dataclass
class _LoggingState:
    """The root logger's handlers and level, and the levels setup_logging changes, to put back after."""

    handlers: list[logging.Handler]
    root_level: int
    levels: dict[str, int]

    @classmethod
    def save(cls) -> _LoggingState:
        root = logging.getLogger()
        return cls(list(root.handlers), root.level, {n: logging.getLogger(n).level for n in _NOISY})

    def restore(self) -> None:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in self.handlers:
            root.addHandler(handler)
        root.setLevel(self.root_level)
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


# ---------------------------------------------------------------------------------------------------------
# A full run's logs
# ---------------------------------------------------------------------------------------------------------


def _fred_failed_since(db: sqlite_utils.Database, after_id: int) -> bool:
    row = db.execute(
        "SELECT COUNT(*) FROM fetch_log WHERE source = 'fred' AND outcome = 'error' AND id > ?", (after_id,)
    ).fetchone()
    return bool(row[0])


async def test_a_full_run_logs_no_secret(tmp_path: Path) -> None:
    """Start the bot the way `plumbline run` does at DEBUG, use it, break FRED and Telegram, stop: the
    captured log holds neither the bot token (nor its secret half) nor the FRED key."""
    stream = io.StringIO()
    saved = _LoggingState.save()
    async with FakeSources(fred_api_key=FRED_KEY) as fake, FakeTelegram(token=TELEGRAM_TOKEN) as tg:
        env = {
            **fake.env(with_fred_key=True),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "run.db"),
            "LOG_LEVEL": "DEBUG",
            "POLL_INTERVAL_SECONDS": "1",
            "HTTP_RETRY_ATTEMPTS": "2",
        }
        settings = load_settings(env, env_file=None)
        assert set(settings.secrets()) == {TELEGRAM_TOKEN, FRED_KEY}
        try:
            # As bot.cli.main does before it runs the app.
            setup_logging(settings.log_level, settings.secrets(), stream=stream)
            app = App(settings, console=False)
            await app.start()
            try:
                assert app.db is not None
                db = app.db
                await wait_until(
                    lambda: {n for n, r in last_fetches(db).items() if r.outcome == "ok"} == set(SOURCES),
                    within=30,
                    what="a first successful poll of every source",
                )
                tg.push_message(42, "/corridor")
                tg.push_message(43, "/chart corridor 1m")
                tg.push_message(44, "/status")
                await tg.wait_for("sendMessage", 2, timeout=20)
                await tg.wait_for("sendPhoto", 1, timeout=30)

                newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM fetch_log").fetchone()[0]
                fake.set_fault("fred", "500")
                await wait_until(lambda: _fred_failed_since(db, newest), within=20, what="a failed FRED poll")
                fake.clear_faults()

                tg.fail_next("sendMessage", status=429, retry_after=1)
                tg.push_message(45, "/srf")
                await tg.wait_for("sendMessage", 3, timeout=20)
            finally:
                await app.stop()
        finally:
            saved.restore()

        # The secrets were really in flight: the fakes saw the token in every Bot API path and the key in
        # every FRED query, so a leak was possible.
        assert [c.status for c in tg.calls_of("sendMessage")].count(429) == 1
        assert fake.fred_api_requests > 0
        assert any(f"api_key={FRED_KEY}" in r for r in fake.requests)

    assert logging.getLogger().handlers == saved.handlers  # put back as it was, for the tests that follow
    text = stream.getvalue()
    # The capture is a real log of this run, at DEBUG, with the events the test provoked.
    assert len(text.splitlines()) > 50
    assert " DEBUG " in text
    assert "Plumbline started" in text
    assert "telegram: polling as @plumbline_test_bot" in text
    assert "fred: poll failed: HTTP 500 after 2 attempts" in text
    assert "Rate limit hit" in text
    # And no secret in any of it.
    assert TELEGRAM_TOKEN not in text
    assert TELEGRAM_SECRET_PART not in text
    assert FRED_KEY not in text


def test_logging_is_restored_after_the_full_run() -> None:
    """The full run put the root logger back: no StringIO handler and no redaction filter left behind."""
    root = logging.getLogger()
    for handler in root.handlers:
        assert not any(isinstance(f, RedactingFilter) for f in handler.filters)


# ---------------------------------------------------------------------------------------------------------
# The redacting filter
# ---------------------------------------------------------------------------------------------------------

LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]


@pytest.fixture
def redacted_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger with one handler and no filter yet (each test adds its RedactingFilter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("plumbline.tests.redaction")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def _use(
    fixture: tuple[logging.Logger, io.StringIO], secrets: tuple[str, ...]
) -> tuple[logging.Logger, io.StringIO]:
    logger, stream = fixture
    logger.handlers[0].addFilter(RedactingFilter(secrets))
    return logger, stream


SHAPE_CASES = [
    (
        "telegram-url",
        f'HTTP Request: POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe "HTTP/1.1 200 OK"',
        (TELEGRAM_TOKEN, TELEGRAM_SECRET_PART),
        'HTTP Request: POST https://api.telegram.org/bot***/getMe "HTTP/1.1 200 OK"',
    ),
    (
        "fred-query",
        f"GET https://api.stlouisfed.org/fred/series/observations?series_id=SOFR&api_key={FRED_KEY}"
        "&file_type=json",
        (FRED_KEY,),
        "GET https://api.stlouisfed.org/fred/series/observations?series_id=SOFR&api_key=***&file_type=json",
    ),
    (
        "fred-key-upper",
        f"retrying https://api.stlouisfed.org/fred/series/observations?API_KEY={FRED_KEY}",
        (FRED_KEY,),
        "retrying https://api.stlouisfed.org/fred/series/observations?API_KEY=***",
    ),
    (
        "discord-webhook",
        f"POST {WEBHOOK_URL}?wait=true failed",
        (WEBHOOK_SECRET,),
        "POST https://discord.com/api/webhooks/123456789012345678/***?wait=true failed",
    ),
]


# With the whole webhook URL known as a secret, all of it goes, not only its token.
KNOWN_SHOWN = {"discord-webhook": "POST ***?wait=true failed"}


@pytest.mark.parametrize("level", LEVELS, ids=logging.getLevelName)
@pytest.mark.parametrize(("case", "message", "hidden", "shown"), SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_secret_shaped_urls_are_redacted_without_being_told(
    redacted_log: tuple[logging.Logger, io.StringIO],
    level: int,
    case: str,
    message: str,
    hidden: tuple[str, ...],
    shown: str,
) -> None:
    """Even a secret the filter was not given is caught by its shape, as a message or as an argument."""
    logger, stream = _use(redacted_log, ())
    logger.log(level, message)
    logger.log(level, "request %s", message)
    out = stream.getvalue()
    for secret in hidden:
        assert secret not in out
    assert out.splitlines() == [
        f"{logging.getLevelName(level)} plumbline.tests.redaction: {shown}",
        f"{logging.getLevelName(level)} plumbline.tests.redaction: request {shown}",
    ]


@pytest.mark.parametrize("level", LEVELS, ids=logging.getLevelName)
@pytest.mark.parametrize(("case", "message", "hidden", "shown"), SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_known_secrets_are_redacted_wherever_they_appear(
    redacted_log: tuple[logging.Logger, io.StringIO],
    level: int,
    case: str,
    message: str,
    hidden: tuple[str, ...],
    shown: str,
) -> None:
    """Given the secrets (as setup_logging is, from Settings.secrets()), every copy of them goes."""
    logger, stream = _use(redacted_log, (TELEGRAM_TOKEN, FRED_KEY, WEBHOOK_URL))
    logger.log(level, message)
    logger.log(level, "settings %r", {"secret": message})
    out = stream.getvalue()
    for secret in hidden:
        assert secret not in out
    expected = KNOWN_SHOWN.get(case, shown)
    name = logging.getLevelName(level)
    assert out.splitlines() == [
        f"{name} {logger.name}: {expected}",
        f"{name} {logger.name}: settings {{'secret': {expected!r}}}",
    ]


@pytest.mark.parametrize("level", LEVELS, ids=logging.getLevelName)
@pytest.mark.parametrize("known", [True, False], ids=["known", "shape-only"])
def test_a_traceback_whose_message_holds_the_token_is_redacted(
    redacted_log: tuple[logging.Logger, io.StringIO], level: int, known: bool
) -> None:
    logger, stream = _use(redacted_log, (TELEGRAM_TOKEN, FRED_KEY) if known else ())
    try:
        try:
            raise ConnectionError(f"POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage: reset")
        except ConnectionError as inner:
            raise RuntimeError(f"send failed for /bot{TELEGRAM_TOKEN}/sendMessage") from inner
    except RuntimeError:
        logger.log(
            level, "delivery to %s failed", f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/x", exc_info=True
        )
    out = stream.getvalue()
    assert TELEGRAM_TOKEN not in out and TELEGRAM_SECRET_PART not in out
    assert "Traceback (most recent call last)" in out
    assert "ConnectionError: POST https://api.telegram.org/bot***/sendMessage: reset" in out
    assert "RuntimeError: send failed for /bot***/sendMessage" in out
    first = out.splitlines()[0]
    name = logging.getLevelName(level)
    assert first == f"{name} {logger.name}: delivery to https://api.telegram.org/bot***/x failed"


def test_the_token_alone_is_redacted_when_known(
    redacted_log: tuple[logging.Logger, io.StringIO],
) -> None:
    """A bare token (no /bot prefix), in a message, an argument and an exception, is hidden once known."""
    logger, stream = _use(redacted_log, (TELEGRAM_TOKEN, FRED_KEY))
    logger.warning("token is %s and key is %s", TELEGRAM_TOKEN, FRED_KEY)
    try:
        raise ValueError(f"InvalidToken: {TELEGRAM_TOKEN}")
    except ValueError:
        logger.exception("startup failed")
    out = stream.getvalue()
    assert TELEGRAM_TOKEN not in out and FRED_KEY not in out
    assert "token is *** and key is ***" in out
    assert "ValueError: InvalidToken: ***" in out


def test_setup_logging_quietens_httpx_whatever_the_level() -> None:
    """httpx logs every request URL at INFO, and Telegram's carry the token: it never logs below WARNING."""
    saved = _LoggingState.save()
    try:
        for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
            setup_logging(level, (TELEGRAM_TOKEN,), stream=io.StringIO())
            assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
            assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING
            assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        saved.restore()


# ---------------------------------------------------------------------------------------------------------
# .env.example
# ---------------------------------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"^[A-Z0-9_]*(?:_TOKEN|_KEY|_SECRET|_WEBHOOK_URL)$")
_PLACEHOLDER = re.compile(r"replace|your|example|changeme|placeholder|x{4,}|0{8,}", re.IGNORECASE)
_REAL_SHAPES = {
    "Telegram bot token": re.compile(r"\d{8,10}:[A-Za-z0-9_-]{35}"),
    "FRED API key": re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])"),
    "Discord bot token": re.compile(r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"),
    "Discord webhook": re.compile(r"/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,}"),
}


def env_example_problems(text: str) -> list[str]:
    """Every way a .env-style text could hold a real secret."""
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        for what, shape in _REAL_SHAPES.items():
            if shape.search(line):
                problems.append(f"line {number}: looks like a real {what}")
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip().strip("'\"")
        if _SECRET_NAME.match(name.strip()) and value and not _PLACEHOLDER.search(value):
            problems.append(f"line {number}: {name.strip()} is set to something that is not a placeholder")
    return problems


@pytest.mark.parametrize(
    "text",
    [
        f"TELEGRAM_BOT_TOKEN={TELEGRAM_TOKEN}",
        f"# TELEGRAM_BOT_TOKEN={TELEGRAM_TOKEN}",
        f"FRED_API_KEY={FRED_KEY}",
        "FRED_API_KEY=abc123",
        'export DISCORD_BOT_TOKEN="hunter2hunter2"',
        f"DISCORD_WEBHOOK_URL={WEBHOOK_URL}",
        "# see https://discord.com/api/webhooks/123456789012345678/" + "a" * 68,
    ],
)
def test_the_env_example_check_catches_real_secrets(text: str) -> None:
    assert env_example_problems(text)


def test_env_example_holds_no_real_secret() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert (
        "TELEGRAM_BOT_TOKEN" in text and "FRED_API_KEY" in text
    )  # it documents the secrets it must not hold
    assert env_example_problems(text) == []


# ---------------------------------------------------------------------------------------------------------
# Parameterised SQL
# ---------------------------------------------------------------------------------------------------------

_SQL_METHODS = {"execute", "executemany", "executescript"}


def _string_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound once to a plain string constant (like _SELECT = "SELECT ... ")."""
    bound: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            bound.setdefault(node.target.id, []).append(node.value)
    return {
        name
        for name, values in bound.items()
        if len(values) == 1 and isinstance(values[0], ast.Constant) and isinstance(values[0].value, str)
    }


def _why_unsafe(node: ast.expr, constants: set[str]) -> str | None:
    """None when the SQL text is built only from string constants; otherwise what is wrong with it."""
    if isinstance(node, ast.Constant):
        return None if isinstance(node.value, str) else "a non-string constant"
    if isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.FormattedValue) for v in node.values):
            return "an f-string with interpolated values"
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "a %-format"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return "a .format() call"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _why_unsafe(node.left, constants) or _why_unsafe(node.right, constants)
    if isinstance(node, ast.Name):
        return None if node.id in constants else f"the variable {node.id!r}, not a module string constant"
    return f"a {type(node).__name__} expression"


def sql_problems(source: str, filename: str) -> tuple[int, list[str]]:
    """(how many SQL calls were checked, the ones whose statement is not a constant)."""
    tree = ast.parse(source, filename)
    constants = _string_constants(tree)
    checked = 0
    problems: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _SQL_METHODS or not node.args:
            continue
        checked += 1
        why = _why_unsafe(node.args[0], constants)
        if why is not None:
            problems.append(f"{filename}:{node.lineno}: .{node.func.attr}() gets {why}")
    return checked, problems


def test_every_sql_statement_is_parameterised() -> None:
    checked = 0
    problems: list[str] = []
    files = sorted(p for d in ("bot", "handlers", "storage") for p in (ROOT / d).rglob("*.py"))
    assert len(files) > 30
    for path in files:
        n, found = sql_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
        checked += n
        problems += found
    assert problems == []
    assert checked > 40  # the scan really saw the storage layer's statements


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("def f(db, name):\n    db.execute(f\"SELECT * FROM chats WHERE title = '{name}'\")\n", "f-string"),
        ("def f(db, name):\n    db.execute(\"SELECT * FROM chats WHERE title = '%s'\" % name)\n", "%-format"),
        (
            'def f(db, name):\n    db.conn.executemany("DELETE FROM t WHERE a = {}".format(name), [])\n',
            ".format",
        ),
        (
            'def f(db, name):\n    db.execute("SELECT * FROM chats WHERE title = \'" + name + "\'")\n',
            "'name'",
        ),
        ("def f(db, sql):\n    db.execute(sql)\n", "'sql'"),
        ('_SQL = "SELECT 1 "\n_SQL = _SQL + "x"\ndef f(db):\n    db.execute(_SQL)\n', "'_SQL'"),
        ('def f(db, where):\n    db.execute(" ".join(["SELECT 1", where]))\n', "Call"),
    ],
)
def test_the_sql_check_catches_interpolation(source: str, why: str) -> None:
    checked, problems = sql_problems(source, "example.py")
    assert checked == 1
    assert len(problems) == 1 and why in problems[0]


def test_the_sql_check_accepts_constants_and_placeholders() -> None:
    source = (
        '_SELECT = "SELECT id FROM chats "\n'
        "def f(db, a):\n"
        '    db.execute(_SELECT + "WHERE address = ?", (a,))\n'
        '    db.execute("SELECT 1 " "FROM meta")\n'
        '    db.conn.executemany(f"DELETE FROM t WHERE a = ?", [(a,)])\n'
    )
    assert sql_problems(source, "example.py") == (3, [])


# ---------------------------------------------------------------------------------------------------------
# /status internals
# ---------------------------------------------------------------------------------------------------------

SCENARIO = "month_end_2025"
NOW = SCENARIOS[SCENARIO].now
FRED_ERROR = "HTTP 500 after 4 attempts (upstream said: shard fred-db-7 unavailable)"


def _failing_fred(db: sqlite_utils.Database) -> None:
    # The scenario's last good FRED fetch was 08:30 ET; this failure is newer, so FRED is degraded now.
    record_fetch(db, FetchRecord("fred", "2025-11-03T13:55:00Z", 900, "error", FRED_ERROR, 0))
    assert last_fetches(db)["fred"].error == FRED_ERROR


@pytest.fixture
def failing_db() -> Iterator[sqlite_utils.Database]:
    db = seeded(SCENARIO)
    _failing_fred(db)
    yield db
    db.close()


PUBLIC = [
    Context("telegram", "42", "42", NOW),
    Context("telegram", "-1001", "42", NOW, is_group=True, is_chat_admin=True),
    Context("discord", "880000000000000001", "77", NOW, is_group=True, is_chat_admin=True),
]
OPERATORS = [
    Context("telegram", "42", "42", NOW, is_operator=True),
    Context("discord", "880000000000000001", "77", NOW, is_group=True, is_operator=True),
    Context("console", "console", "console", NOW, is_operator=True),
]


@pytest.mark.parametrize("ctx", PUBLIC, ids=lambda c: f"{c.platform}-{'group' if c.is_group else 'private'}")
def test_status_hides_internals_from_everyone_else(failing_db: sqlite_utils.Database, ctx: Context) -> None:
    reply = dispatch("/status", ctx, failing_db)
    assert reply is not None
    text = reply.plain_text()
    label = SOURCES["fred"].label
    assert FRED_ERROR not in text and "shard" not in text and "HTTP 500" not in text
    assert "in a row" not in text
    assert "Outbox:" not in text
    # They still learn that FRED is failing, and since when (freshness, not internals).
    assert t("status.source_failing", label=label, when="2025-11-03 08:30 ET") in text
    assert reply.level == "warning"


@pytest.mark.parametrize("ctx", OPERATORS, ids=lambda c: c.platform)
def test_status_shows_internals_to_operators(failing_db: sqlite_utils.Database, ctx: Context) -> None:
    reply = dispatch("/status", ctx, failing_db)
    assert reply is not None
    text = reply.plain_text()
    label = SOURCES["fred"].label
    assert t("status.source_error", label=label, error=FRED_ERROR, failures=1) in text
    assert t("status.outbox", counts=t("status.outbox_empty")) in text


def test_admin_is_for_operators_only(failing_db: sqlite_utils.Database) -> None:
    for ctx in PUBLIC:
        reply = dispatch("/admin", ctx, failing_db)
        assert reply is not None and reply.title == t("admin.refused") and reply.level == "error"
        assert reply.blocks == []
    for ctx in OPERATORS:
        reply = dispatch("/admin", ctx, failing_db)
        assert reply is not None and reply.title == t("admin.title")


async def test_status_over_telegram_shows_internals_only_to_admin_user_ids(tmp_path: Path) -> None:
    """The front-end maps ADMIN_USER_IDS to is_operator: the operator sees the error, a user does not."""
    from bot.frontends.telegram_bot import TelegramFrontend

    async with FakeTelegram() as tg:
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_PATH": str(tmp_path / "tg.db"),
                "ADMIN_USER_IDS": "1001",
            },
            env_file=None,
        )
        db = seeded(SCENARIO, tmp_path / "tg.db")
        _failing_fred(db)
        frontend = TelegramFrontend(settings, db, clock=lambda: NOW)
        await frontend.start()
        try:
            tg.push_message(1001, "/status", user_id=1001)
            tg.push_message(2002, "/status", user_id=2002)
            tg.push_message(-100555, "/status", user_id=2002, chat_type="supergroup")
            tg.push_message(2002, "/admin", user_id=2002)
            calls = await tg.wait_for("sendMessage", 4)
        finally:
            await frontend.stop()
            db.close()
    texts: dict[object, list[str]] = {}
    for call in calls:
        texts.setdefault(call.params["chat_id"], []).append(str(call.params["text"]))
    assert len(texts[1001]) == 1 and "shard fred-db-7 unavailable" in texts[1001][0]
    assert "Outbox" in texts[1001][0]
    for chat in (2002, -100555):
        for text in texts[chat]:
            assert "shard fred-db-7" not in text and "HTTP 500" not in text and "Outbox" not in text
    assert any("failing since" in text for text in texts[2002])
    assert any("operators" in text for text in texts[2002])  # /admin refused
    assert "failing since" in texts[-100555][0]
