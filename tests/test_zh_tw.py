"""Traditional Chinese everywhere: the catalog, numbers and dates, language per chat, alerts rendered per
chat at send time, both front-ends end to end, and charts with real CJK glyphs."""

from __future__ import annotations

import asyncio
import re
import string
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.alerts.events import alert_render, event_reply
from bot.alerts.messages import alert_reply
from bot.alerts.rules import Alert, Mark
from bot.alerts.summary import daily_summary, enqueue_summaries
from bot.core.config import ConfigError, load_settings
from bot.core.lang import lang_from_locale, pick_lang
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import DeliveryWorker
from bot.frontends.console import answer
from bot.frontends.telegram_bot import TelegramFrontend, menu_commands
from bot.render.charts import cjk_font_family, render_png, tick_labels
from bot.render.text import to_console
from bot.words.fmt import bp, ljust, pct, usd_bn, usd_bn_delta, weekday_date, width
from bot.words.messages import EN, t
from bot.words.messages_zh_tw import ZH_TW
from bot.words.payload import reply_to_json
from bot.words.reply import ChartData, ChartPanel, ChartSeries, Context, Mono, Reply
from handlers.chart_command import CHART_KINDS, chart_for
from handlers.table import COMMANDS, dispatch
from storage.chats import chat_by_id, ensure_chat, subscribe
from storage.db import open_db
from storage.marks import save_marks
from storage.outbox import add_event, enqueue, outbox_counts
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram
from tests.seed import SCENARIOS, seed_chain, seeded
from tests.test_discord_e2e import ADMIN, GUILD, MACRO, MANAGE_CHANNELS, MEMBER, OTHER
from tests.test_discord_e2e import start_frontend as start_discord

PNG = b"\x89PNG\r\n\x1a\n"
ZH = "zh-TW"

# ---------------------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------------------


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_english_key_has_a_chinese_entry_and_no_more() -> None:
    assert sorted(set(EN) - set(ZH_TW)) == []
    assert sorted(set(ZH_TW) - set(EN)) == []


@pytest.mark.parametrize("key", sorted(EN))
def test_chinese_entry_has_exactly_the_english_placeholders(key: str) -> None:
    assert placeholders(ZH_TW[key]) == placeholders(EN[key]), key


def test_the_chinese_file_keeps_the_english_order() -> None:
    """So a key added to both files by another change lands in the same place and merges cleanly."""
    assert list(ZH_TW) == list(EN)


# Words a Chinese reply may keep in Latin letters: acronyms, tickers, units users type, command keywords,
# zone names, the bot's name. Everything else must be Chinese.
ALLOWED = {
    "SOFR", "EFFR", "IORB", "SRF", "ON", "RRP", "TGA", "FOMC", "MBS", "DTS", "FRED", "IANA", "UTC", "ET",
    "ADMIN_USER_IDS", "Plumbline", "HH", "MM", "bp", "B", "off", "quit", "English", "spread", "ladder",
    "alerts", "daily", "all", "weekdays", "weekends", "srf", "near", "corridor", "rrp", "tga", "liquidity",
    "sofr", "max", "chart", "en", "zh", "TW", "America", "New_York", "Europe", "London", "Asia", "Taipei",
    "effr", "iorb", "range", "reserves", "assets",  # /revisions keywords
    # the thesis chain (issue #15): the glossary keeps these acronyms, and the new command keywords
    "QE", "BGCR", "TGCR", "DVP", "auctions", "debt", "buyers",
}  # fmt: skip
_COMMAND = re.compile(r"/[a-z_]+")
_DATE_FORMAT = re.compile(r"%[-_0^#]?[A-Za-z]")  # d3/strftime directives (%Y, %b, %-d): code, not words
_LATIN = re.compile(r"[A-Za-z][A-Za-z_]*")


def english_words(text: str) -> list[str]:
    """Latin-letter words outside the allowed list (commands like /corridor are allowed as typed)."""
    text = _DATE_FORMAT.sub(" ", _COMMAND.sub(" ", text))
    found = []
    for word in _LATIN.findall(text):
        bare = re.sub(r"^\d+|\d+$", "", word)
        if bare in ALLOWED or re.fullmatch(r"\d*[mhdwyB]", word) or re.fullmatch(r"p\d+", word):
            continue
        found.append(word)
    return found


@pytest.mark.parametrize("key", sorted(ZH_TW))
def test_no_chinese_entry_holds_an_english_word(key: str) -> None:
    if key.startswith("chart.dates."):
        return  # strftime codes, not words
    assert english_words(re.sub(r"\{\w+\}", " ", ZH_TW[key])) == [], key


# ---------------------------------------------------------------------------------------------------------
# Numbers and dates the way Chinese readers write them
# ---------------------------------------------------------------------------------------------------------

AMOUNTS = [
    # (billions, digits, English, Chinese)
    (50.35, None, "$50.35B", "503.5億美元"),  # the 2025-10-31 SRF record, as Taiwan's press wrote it
    (850.0, None, "$850.0B", "8,500億美元"),  # the TGA target
    (3033.0, None, "$3.033T", "3.033兆美元"),
    (50.35, 3, "$50.350B", "503.50億美元"),
    (0.004, 3, "$0.004B", "0.04億美元"),  # the 2026-02-18 PM take-up
    (0.056, None, "$0.056B", "0.56億美元"),  # the 2026-02-18 Small Value Exercise
    (5534.6, None, "$5.535T", "5.535兆美元"),  # net liquidity on 2025-10-31
    (-110.003, None, "\u2212$110.0B", "\u22121,100億美元"),
]


@pytest.mark.parametrize(("value", "digits", "en", "zh"), AMOUNTS)
def test_amounts_in_both_languages(value: float, digits: int | None, en: str, zh: str) -> None:
    assert usd_bn(value, digits) == en
    assert usd_bn(value, digits, lang=ZH) == zh


def test_changes_basis_points_percent_and_missing_values() -> None:
    assert usd_bn_delta(150.6, lang=ZH) == "+1,506億美元"
    assert usd_bn_delta(-110.003) == "\u2212$110.0B"
    assert bp(22) == "+22 bp" and bp(22, lang=ZH) == "+22個基點"
    assert bp(-3, lang=ZH) == "\u22123個基點" and bp(0, lang=ZH) == "0個基點"
    assert pct(4.22, lang=ZH) == "4.22%"
    assert pct(None) == "n/a" and pct(None, lang=ZH) == "無資料"
    assert usd_bn(None, lang=ZH) == "無資料"


@pytest.mark.parametrize(
    ("iso", "en", "zh"),
    [
        ("2025-10-31", "Fri 2025-10-31", "2025年10月31日（週五）"),  # month-end SRF record
        ("2026-02-18", "Wed 2026-02-18", "2026年2月18日（週三）"),  # Small Value Exercise day
        ("2019-09-17", "Tue 2019-09-17", "2019年9月17日（週二）"),  # the repo spike
        ("2025-11-03", "Mon 2025-11-03", "2025年11月3日（週一）"),
        ("2026-07-05", "Sun 2026-07-05", "2026年7月5日（週日）"),
    ],
)
def test_dates_with_weekdays(iso: str, en: str, zh: str) -> None:
    assert weekday_date(iso) == en
    assert weekday_date(iso, lang=ZH) == zh


def test_every_iso_date_passed_to_a_chinese_message_is_written_the_chinese_way() -> None:
    assert t("as_of", ZH, date="2025-10-31") == "資料日期：2025年10月31日。"
    assert t("as_of", date="2025-10-31") == "As of 2025-10-31."
    assert t("sub.bad_time", ZH, value="25:00") == "「25:00」不是時間。請用 24 小時制 HH:MM，例如 08:30。"


def test_display_width_counts_cjk_as_two_columns() -> None:
    assert width("SOFR") == 4 and width("上限") == 4 and width("上限（SRF）") == 11
    assert ljust("上限", 6) == "上限  "
    assert width(ljust("擔保隔夜融資利率（SOFR）", 30)) == 30


# ---------------------------------------------------------------------------------------------------------
# Which language a chat reads
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("zh-hant-tw", ZH),  # what Telegram clients in Taiwan send
        ("zh-tw", ZH),
        ("zh-TW", ZH),  # Discord's taiwan_chinese
        ("zh-hk", ZH),
        ("zh-hans", ZH),
        ("zh-CN", ZH),
        ("zh", ZH),
        ("en", "en"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr", None),
        ("ja", None),
        ("", None),
        (None, None),
    ],
)
def test_client_locales(tag: str | None, lang: str | None) -> None:
    assert lang_from_locale(tag) == lang


def test_the_chosen_language_wins_then_the_user_then_the_guild_then_the_default() -> None:
    assert pick_lang("en", "zh-hant-tw") == "en"
    assert pick_lang(None, "zh-hant-tw") == ZH
    assert pick_lang(None, "fr", "zh-TW") == ZH  # a French user in a Taiwanese guild
    assert pick_lang(None, None, "en-US", default=ZH) == "en"
    assert pick_lang(None, "fr", default=ZH) == ZH
    assert pick_lang("xx", None) == "en"


def test_plumbline_lang_is_validated() -> None:
    assert load_settings({"PLUMBLINE_LANG": "zh-TW"}, env_file=None).lang == ZH
    assert load_settings({"PLUMBLINE_LANG": "zh-tw"}, env_file=None).lang == ZH
    assert load_settings({}, env_file=None).lang == "en"
    with pytest.raises(ConfigError, match="PLUMBLINE_LANG"):
        load_settings({"PLUMBLINE_LANG": "klingon"}, env_file=None)


def ctx(lang: str = ZH, **kw: object) -> Context:
    values: dict[str, object] = {"chat_id": "42", "user_id": "1001", "lang": lang}
    values |= {"now": SCENARIOS["month_end_2025"].now} | kw
    return Context("telegram", **values)  # type: ignore[arg-type]


def test_lang_command_sets_shows_and_refuses_group_members(tmp_path: Path) -> None:
    db = open_db(tmp_path / "l.db")
    assert dispatch("/lang", ctx("en"), db).title == (  # type: ignore[union-attr]
        "This chat's language: English. Switch with /lang en or /lang zh-TW."
    )
    done = dispatch("/lang zh-TW", ctx("en"), db)
    assert done is not None and done.title == "此聊天室的回覆、警示與每日摘要已改為繁體中文。"
    chat = chat_by_id(db, 1)
    assert chat is not None and chat.lang == ZH and chat.lang_chosen
    member = ctx(ZH, chat_id="-100", is_group=True, is_chat_admin=False)
    refused = dispatch("/lang en", member, db)
    assert refused is not None and refused.level == "error"
    assert refused.title == "只有此聊天室的管理員可以變更語言。"
    discord_member = Context(
        "discord", "7", "8", SCENARIOS["empty"].now, is_group=True, is_chat_admin=False, lang=ZH
    )
    assert dispatch("/lang en", discord_member, db).title == (  # type: ignore[union-attr]
        "你需要「管理頻道」權限才能變更此頻道的語言。"
    )
    bad = dispatch("/lang klingon", ctx(ZH), db)
    assert bad is not None and bad.title == "用法：/lang en | /lang zh-TW"


def test_subscribing_records_the_language_unless_lang_chose_one(tmp_path: Path) -> None:
    db = open_db(tmp_path / "s.db")
    dispatch("/subscribe alerts", ctx(ZH, chat_id="1"), db)
    dispatch("/subscribe alerts", ctx(ZH, chat_id="2"), db)
    dispatch("/lang en", ctx(ZH, chat_id="2"), db)
    dispatch("/settings", ctx(ZH, chat_id="2"), db)  # a Chinese client in a chat that chose English
    assert [chat_by_id(db, i).lang for i in (1, 2)] == [ZH, "en"]  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------------------
# The real cases in both languages
# ---------------------------------------------------------------------------------------------------------

BREACH_2025_10_31 = Alert(
    "sofr_breach:start:2025-10-31",
    "sofr_breach",
    "start",
    "2025-10-31",
    {"sofr": 4.22, "ceiling": 4.00, "spread_bp": 22.0, "p99": 4.50, "volume": 3033.0},
)
SRF_RECORD_2025_10_31 = Alert(
    "srf_positive@0:tier:2025-10-31:50",
    "srf_positive@0",
    "tier",
    "2025-10-31",
    {
        "session": "PM", "amount": 29.35, "day_total": 50.35, "treasury": 24.35, "agency": 0.0, "mbs": 5.0,
        "tier": 50.0, "tier_up": 1, "record": 1, "prior_record": 0.0, "threshold": 0.0,
    },
)  # fmt: skip


def test_breach_alert_of_2025_10_31_in_both_languages() -> None:
    en = alert_reply(BREACH_2025_10_31)
    zh = alert_reply(BREACH_2025_10_31, ZH)
    assert en.title == "\U0001f6a8 SOFR above the ceiling \u2014 2025-10-31"
    assert zh.title == "\U0001f6a8 SOFR 突破利率走廊上限 \u2014 2025年10月31日"
    assert [getattr(b, "text", "") for b in zh.blocks] == [
        "擔保隔夜融資利率（SOFR）報 4.22%，高於走廊上限 4.00% 達 22個基點。"
        "回購資金短缺：預料交易商將動用常設回購機制（SRF）。",
        "第 99 百分位 4.50%；成交量 3.033兆美元。",
        "Plumbline 警示。/mute 6h 暫停，/settings 變更設定。",
    ]
    assert zh.as_of == "資料日期：2025年10月31日。"
    assert english_words(zh.plain_text()) == []


def test_srf_record_of_2025_10_31_reads_503_5_yi() -> None:
    zh = alert_reply(SRF_RECORD_2025_10_31, ZH)
    assert zh.title == "\U0001f3c6 SRF 承作創紀錄：503.50億美元 \u2014 2025年10月31日" or zh.title == (
        "\U0001f6a8 SRF 承作突破 500億美元 \u2014 2025年10月31日"
    )
    text = zh.plain_text()
    assert "下午操作增加 293.50億美元；當日承作累計 503.50億美元。" in text
    assert english_words(text) == []


def test_sve_day_2026_02_18_in_both_languages() -> None:
    db = seeded("srf_feb_2026")
    en = dispatch("/srf", ctx("en", now=SCENARIOS["srf_feb_2026"].now), db)
    zh = dispatch("/srf", ctx(ZH, now=SCENARIOS["srf_feb_2026"].now), db)
    assert en is not None and zh is not None
    assert en.title == "Standing Repo Facility \u2014 Wed 2026-02-18"
    assert zh.title == "常設回購機制（SRF）\u2014 2026年2月18日（週三）"
    text = zh.plain_text()
    assert "已排除 2026年2月18日 的小額測試操作（0.56億美元）：那是測試，不是實際動用。" in text
    assert "Small Value Exercise" in en.plain_text()
    assert english_words(text) == []


def test_daily_summary_in_both_languages() -> None:
    db = seeded("month_end_2025")
    save_marks(db, "sofr_breach", [Mark("2025-10-31", "2025-10-31", 4.22, 4.00, True)])
    en = daily_summary(db, SCENARIOS["month_end_2025"].now)
    zh = daily_summary(db, SCENARIOS["month_end_2025"].now, ZH)
    assert en.title == "\u2600\ufe0f Plumbline daily \u2014 Mon 2025-11-03"
    assert zh.title == "\u2600\ufe0f Plumbline 每日摘要 \u2014 2025年11月3日（週一）"
    assert zh.blocks[0].text.split("\n") == [  # type: ignore[union-attr]
        "利率走廊（2025年10月31日）：SOFR 4.22%，上限 4.00%（+22個基點）\u2014 突破上限",
        "常設回購機制（SRF）：2025年10月31日 承作 503.50億美元；本月累計 503.50億美元",
        "隔夜逆回購（ON RRP）：518.0億美元（2025年10月31日）",
        "財政部一般帳戶（TGA）：1.001兆美元（與 8,500億美元目標差 +1,506億美元，2025年10月30日）",
        "銀行準備金：2.848兆美元（2025年10月29日 當週）",
        "淨流動性：5.535兆美元（週變化 \u22121,100億美元，2025年10月31日）",
        "進行中的事件：SOFR 自 2025年10月31日 起高於上限",
    ]
    assert english_words(zh.plain_text()) == []


def test_usage_errors_in_both_languages() -> None:
    db = seeded("month_end_2025")
    cases = {
        "/chart corridor 7y": (
            "Usage: /chart <corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers> [1m|3m|1y|5y|max]",
            "用法：/chart <corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers> [1m|3m|1y|5y|max]",
        ),
        "/threshold srf": (
            "Usage: /threshold srf <amount, e.g. 5B> | /threshold near <bp, e.g. 3bp | off>",
            "用法：/threshold srf <金額，例如 5B> | /threshold near <基點，例如 3bp | off>",
        ),
        "/subscribe daily 25:00": (
            "Usage: '25:00' is not a time. Use 24-hour HH:MM, e.g. 08:30.",
            "用法：「25:00」不是時間。請用 24 小時制 HH:MM，例如 08:30。",
        ),
        "/frobnicate": (
            "Unknown command /frobnicate. Send /help for the list.",
            "沒有 /frobnicate 這個指令。傳送 /help 查看指令清單。",
        ),
    }
    for line, (en, zh) in cases.items():
        assert dispatch(line, ctx("en"), db).title == en  # type: ignore[union-attr]
        assert dispatch(line, ctx(ZH), db).title == zh  # type: ignore[union-attr]


@pytest.mark.parametrize("scenario", ["month_end_2025", "srf_feb_2026", "repo_spike_2019", "empty"])
def test_no_chinese_reply_contains_an_english_word(scenario: str) -> None:
    db = seeded(scenario)
    now = SCENARIOS[scenario].now
    lines = [f"/{name}" for name, c in COMMANDS.items() if not c.params or name == "help"]
    lines += [f"/chart {kind}" for kind in CHART_KINDS] + ["/help chart", "/lang", "/settings"]
    for line in lines:
        reply = dispatch(line, ctx(ZH, now=now, is_operator=True), db)
        assert reply is not None, line
        shown = to_console(reply, ZH) + "".join(b.label for row in reply.buttons for b in row)
        assert english_words(shown) == [], (line, shown)


def test_chinese_ladders_and_tables_line_up_by_display_width() -> None:
    db = seeded("month_end_2025")
    reply = dispatch("/corridor", ctx(ZH), db)
    assert reply is not None
    # The levels column starts at the same display column on every line.
    lines = to_console(reply, ZH).split("\n\n")[1].split("\n")
    ends = {width(line.split("%")[0]) for line in lines if "%" in line}
    assert len(ends) == 1, lines
    srf = dispatch("/srf", ctx(ZH, now=SCENARIOS["srf_feb_2026"].now), seeded("srf_feb_2026"))
    assert srf is not None
    (table,) = [b for b in srf.blocks if isinstance(b, Mono) and "合計" in "".join(b.lines)]
    assert len({width(line.split("億")[0]) for line in table.lines}) == 1, table.lines


def test_console_ask_with_lang_and_plumbline_lang(tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "c.db")
    english = load_settings({"DATABASE_PATH": str(tmp_path / "c.db")}, env_file=None)
    chinese = load_settings(
        {"DATABASE_PATH": str(tmp_path / "c.db"), "PLUMBLINE_LANG": "zh-TW"}, env_file=None
    )
    now = SCENARIOS["month_end_2025"].now
    assert answer("/corridor", english, db, lambda: now).title.startswith("Fed funds")  # type: ignore[union-attr]
    assert answer("/corridor", english, db, lambda: now, lang=ZH).title.startswith("聯邦基金")  # type: ignore[union-attr]
    assert answer("corridor", chinese, db, lambda: now).title.startswith("聯邦基金")  # type: ignore[union-attr]
    reply = answer("/corridor", chinese, db, lambda: now)
    assert reply is not None and "試試：/chart corridor 3m" in to_console(reply, ZH)


# ---------------------------------------------------------------------------------------------------------
# One stored event, each chat its own language, exactly once
# ---------------------------------------------------------------------------------------------------------


def test_one_event_renders_in_each_language_from_its_stored_facts() -> None:
    render = alert_render(BREACH_2025_10_31)
    assert event_reply(render, "en") == alert_reply(BREACH_2025_10_31)
    assert event_reply(render, ZH) == alert_reply(BREACH_2025_10_31, ZH)
    assert event_reply({"kind": "from a later version"}, ZH) is None


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def telegram_settings(tg: FakeTelegram, path: Path) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "DATABASE_PATH": str(path)}


async def test_a_fan_out_to_mixed_chats_sends_each_its_language_once(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db = seeded("month_end_2025", tmp_path / "f.db")
    stamp = "2025-11-03T13:05:00Z"
    langs = {5001: "en", 5002: ZH, 5003: "en", 5004: ZH}
    ids = []
    for address, lang in langs.items():
        chat = ensure_chat(db, "telegram", str(address), title="", is_group=False, now=stamp, lang=lang)
        subscribe(db, chat.id, "alerts", now=stamp)
        ids.append(chat.id)
    payload = reply_to_json(
        alert_reply(BREACH_2025_10_31), chart="corridor 1m", render=alert_render(BREACH_2025_10_31)
    )
    add_event(
        db, key=BREACH_2025_10_31.key, rule="sofr_breach", kind="start", data_date="2025-10-31",
        audience="sofr_breach", payload=payload, now=stamp,
    )  # fmt: skip
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    enqueue(db, ids, BREACH_2025_10_31.key, stamp)
    sender = TelegramSender(load_settings(telegram_settings(tg, tmp_path / "f.db"), env_file=None))
    await sender.start()
    worker = DeliveryWorker(db, {"telegram": sender}, clock=lambda: datetime(2025, 11, 3, 13, 5, tzinfo=UTC))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await tg.wait_for("sendPhoto", 4, timeout=60)
    finally:
        stop.set()
        await task
        await sender.stop()
    assert outbox_counts(db) == {"sent": 4}
    captions = {address: str(tg.sent(address)[0].params["caption"]) for address in langs}
    assert all(len(tg.sent(address)) == 1 for address in langs)
    for address, lang in langs.items():
        if lang == ZH:
            assert captions[address].startswith(
                "<b>\U0001f6a8 SOFR 突破利率走廊上限 \u2014 2025年10月31日</b>"
            )
        else:
            assert captions[address].startswith("<b>\U0001f6a8 SOFR above the ceiling \u2014 2025-10-31</b>")
    assert tg.duplicates() == []


def test_one_daily_event_serves_chats_in_both_languages(tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    for address, lang in (("1", "en"), ("2", ZH)):
        chat = ensure_chat(db, "telegram", address, title="", is_group=False, now="x", lang=lang)
        subscribe(db, chat.id, "daily", now="x", daily_time="08:30", tz="America/New_York")
    assert enqueue_summaries(db, datetime(2025, 11, 3, 13, 35, tzinfo=UTC)) == 2
    (key,) = [r[0] for r in db.execute("SELECT key FROM events").fetchall()]
    assert key == "daily:2025-11-03:America/New_York:08:30"


# ---------------------------------------------------------------------------------------------------------
# Telegram and Discord end to end
# ---------------------------------------------------------------------------------------------------------


async def test_telegram_zh_hant_tw_user_gets_chinese_and_the_zh_menu(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    now = SCENARIOS["month_end_2025"].now
    db = seeded("month_end_2025", tmp_path / "tg.db")
    frontend = TelegramFrontend(
        load_settings(telegram_settings(tg, tmp_path / "tg.db"), env_file=None), db, clock=lambda: now
    )
    await frontend.start()
    try:
        tg.push_message(42, "/corridor", language_code="zh-hant-tw")
        tg.push_message(43, "/corridor", language_code="en")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    texts = {c.params["chat_id"]: str(c.params["text"]) for c in calls}
    assert texts[42].startswith("<b>聯邦基金利率走廊 \u2014 2025年10月31日（週五）</b>")
    assert "+22個基點" in texts[42] and "突破上限" in texts[42]
    assert texts[43].startswith("<b>Fed funds corridor \u2014 Fri 2025-10-31</b>")
    zh_menu = tg.commands(language_code="zh")
    assert [c["command"] for c in zh_menu] == [c.command for c in menu_commands(ZH)]
    assert {c["command"]: c["description"] for c in zh_menu}["lang"] == "此聊天室的語言：English 或繁體中文"
    assert [c["description"] for c in tg.commands()] == [c.description for c in menu_commands()]
    assert tg.commands()[0]["description"] == t("cmd.help")


async def test_telegram_lang_choice_outlasts_the_client_language(tg: FakeTelegram, tmp_path: Path) -> None:
    now = SCENARIOS["month_end_2025"].now
    db = seeded("month_end_2025", tmp_path / "tg.db")
    frontend = TelegramFrontend(
        load_settings(telegram_settings(tg, tmp_path / "tg.db"), env_file=None), db, clock=lambda: now
    )
    await frontend.start()
    try:
        tg.push_message(42, "/lang zh-TW", language_code="en")
        await tg.wait_for("sendMessage", 1)
        tg.push_message(42, "/rrp", language_code="en")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    assert str(calls[1].params["text"]).startswith("<b>隔夜逆回購（ON RRP）\u2014 2025年10月31日（週五）</b>")


# ---------------------------------------------------------------------------------------------------------
# Charts in Chinese with real glyphs
# ---------------------------------------------------------------------------------------------------------


def test_a_traditional_chinese_font_is_installed_with_the_project() -> None:
    assert cjk_font_family() == "Noto Sans CJK TC"


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_chart_kind_renders_in_chinese_without_missing_glyphs(kind: str, tmp_path: Path) -> None:
    db = seeded("month_end_2025")
    if kind in ("debt", "buyers"):
        seed_chain(db)  # the thesis chain's series around the same month-end
    data = chart_for(db, [kind, "3m"], ZH, SCENARIOS["month_end_2025"].now)
    assert data is not None and data.lang == ZH
    assert english_words(data.title + data.unit + data.subtitle) == []
    for series in data.series:
        assert english_words(series.label) == [], series.label
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a tofu box is a "Glyph ... missing from font(s)" warning
        png = render_png(data)
    assert png.startswith(PNG)
    (tmp_path / f"{kind}.png").write_bytes(png)


def test_a_glyph_no_font_has_is_caught() -> None:
    """The safety net: what the suite's warnings-as-errors turns into a failure."""
    series = ChartSeries("x", ("2025-10-30", "2025-10-31"), (1.0, 2.0))
    data = ChartData("\U0001d11e \u0f3a", (ChartPanel("%", (series,)),))
    with pytest.warns(UserWarning, match="missing from font"):
        render_png(data)


def test_chinese_chart_dates_use_year_and_month() -> None:
    months = tuple(t("chart.months", ZH).split())
    assert len(months) == 12 and months[9] == "10月"
    days = [date(2025, 10, 27), date(2025, 11, 3)]
    assert tick_labels(days, months, t("chart.day_tick", ZH), t("chart.year_tick", ZH)) == [
        "10月27日\n2025年",
        "11月3日",
    ]
    assert tick_labels([date(2024, 1, 1)], months, "", t("chart.year_tick", ZH)) == ["2024年"]


def test_english_replies_are_unchanged_by_the_chinese_catalog() -> None:
    db = seeded("month_end_2025")
    reply = dispatch("/corridor", ctx("en"), db)
    assert isinstance(reply, Reply) and reply.title == "Fed funds corridor \u2014 Fri 2025-10-31"
    assert english_words(reply.plain_text())  # English, of course
    zh = dispatch("/corridor", ctx(ZH), db)
    assert zh is not None and zh.fields[0] == ("上限（SRF）", "4.00%")


# ---------------------------------------------------------------------------------------------------------
# Discord with locale zh-TW
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, "Macro desk", [(MACRO, "macro"), (OTHER, "general")])
        fake.add_member(GUILD, ADMIN, MANAGE_CHANNELS)
        fake.add_member(GUILD, MEMBER, 0)
        yield fake


async def test_discord_zh_tw_locale_gets_chinese_embeds(dc: FakeDiscord, tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_discord(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        sent = await dc.dispatch_interaction(
            "corridor", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO, locale="zh-TW"
        )
        zh = await dc.wait_for_response(sent.id, "callback")
        sent = await dc.dispatch_interaction(
            "lang", {"language": "en"}, user_id=MEMBER, guild_id=GUILD, channel_id=MACRO, locale="zh-TW"
        )
        refused = await dc.wait_for_response(sent.id, "callback")
        sent = await dc.dispatch_interaction(
            "corridor", user_id=MEMBER, guild_id=GUILD, channel_id=OTHER, locale="en-US"
        )
        en = await dc.wait_for_response(sent.id, "callback")
    finally:
        await frontend.stop()
    (embed,) = zh.data["embeds"]
    assert embed["title"] == "聯邦基金利率走廊 \u2014 2025年10月31日（週五）"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["上限（SRF）"] == "`4.00%`" and fields["SOFR \u2212 上限"] == "`+22個基點`"
    assert embed["footer"]["text"] == "資料日期：2025年10月31日。"
    assert english_words(embed["title"] + embed["description"]) == []
    # /lang in a channel needs Manage Channels, like subscriptions; the refusal is in the member's language.
    assert refused.data["embeds"][0]["title"] == "你需要「管理頻道」權限才能變更此頻道的語言。"
    assert en.data["embeds"][0]["title"] == "Fed funds corridor \u2014 Fri 2025-10-31"


def test_discord_command_descriptions_and_choices_have_chinese_entries() -> None:
    """What the Discord translator (issue 17) reads: every description and choice, in both languages."""
    for command in COMMANDS.values():
        assert ZH_TW[f"cmd.{command.name}"]
        for param in command.params:
            for choice in param.choices:
                assert ZH_TW[f"choice.{choice}"] and EN[f"choice.{choice}"], choice
    assert ZH_TW["param.chart.series"] == "要畫的數列"
