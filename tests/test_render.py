"""bot.render.text: Telegram HTML, console text and Discord markdown, on hand-made and real replies."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.render.text import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    split_telegram_html,
    to_console,
    to_markdown,
    to_telegram_html,
)
from bot.words.reply import Button, Context, Mono, Reply, Text
from handlers.table import COMMANDS, dispatch
from tests.fakes.telegram import parse_html
from tests.seed import SCENARIOS, seeded

TELEGRAM_TAGS = {"b", "i", "pre", "code", "a", "u", "s"}


class _Checker(HTMLParser):
    """Fails on a tag Telegram does not know, a close without an open, or anything left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible_text(html_text: str) -> str:
    """Parse Telegram HTML strictly and return the text a user sees."""
    checker = _Checker()
    checker.feed(html_text)
    checker.close()
    assert checker.stack == [], checker.stack
    # Only &lt; &gt; &amp; &quot; and numeric entities are valid in Telegram HTML.
    for entity in re.findall(r"&[^;\s]*;", html_text):
        assert entity in {"&lt;", "&gt;", "&amp;", "&quot;"} or re.fullmatch(r"&#x?[0-9a-fA-F]+;", entity), (
            entity
        )
    assert not re.search(r"&(?![a-zA-Z#][^;\s]*;)", html_text), "bare & in Telegram HTML"
    return "".join(checker.text)


def sample() -> Reply:
    return Reply(
        title="SOFR <5% & IORB > EFFR",
        blocks=[Text("a < b & c > d"), Mono((" 4.22 \u25cf SOFR", " 4.00 \u252c <ceiling> & co"))],
        fields=[("SOFR \u2212 ceiling", "+22 bp"), ("A<B", "1 & 2")],
        as_of="As of <2025-10-31>.",
        level="breach",
        buttons=[[Button("\U0001f4c8 Chart", "/chart corridor 3m")]],
    )


# ---------------------------------------------------------------------------------------------------------
# Telegram HTML
# ---------------------------------------------------------------------------------------------------------


def test_telegram_escapes_title_text_fields_and_mono() -> None:
    out = to_telegram_html(sample())
    assert out == (
        "<b>SOFR &lt;5% &amp; IORB &gt; EFFR</b>\n\n"
        "<pre>SOFR \u2212 ceiling  +22 bp\n"
        "A&lt;B              1 &amp; 2</pre>\n\n"
        "a &lt; b &amp; c &gt; d\n\n"
        "<pre> 4.22 \u25cf SOFR\n 4.00 \u252c &lt;ceiling&gt; &amp; co</pre>\n\n"
        "<i>As of &lt;2025-10-31&gt;.</i>"
    )
    assert "SOFR <5% & IORB > EFFR" in visible_text(out)


def test_telegram_fields_are_aligned_in_pre() -> None:
    reply = Reply(
        "t", fields=[("SOFR", "4.22%"), ("SOFR \u2212 ceiling", "+22 bp"), ("EFFR \u2212 IORB", "\u22123 bp")]
    )
    out = to_telegram_html(reply)
    (pre,) = re.findall(r"<pre>(.*?)</pre>", out, re.S)
    lines = pre.splitlines()
    assert lines == [
        "SOFR             4.22%",
        "SOFR \u2212 ceiling  +22 bp",
        "EFFR \u2212 IORB      \u22123 bp",
    ]
    assert len({len(line) for line in lines}) == 1


def test_telegram_quotes_are_escaped_or_harmless() -> None:
    out = to_telegram_html(Reply('say "hi" it\'s', blocks=[Text("<a href='x'>")]))
    visible_text(out)
    assert "<a" not in out


@pytest.mark.parametrize("limit", [TELEGRAM_CAPTION_LIMIT, 300, 120])
def test_telegram_truncation_keeps_tags_balanced(limit: int) -> None:
    reply = sample()
    reply.blocks = [Text(f"paragraph {i} " + "x & y < z " * 12) for i in range(40)]
    reply.blocks.insert(3, Mono(tuple(f"{i:5.2f} \u2502 level" for i in range(30))))
    out = to_telegram_html(reply, limit=limit)
    assert len(out) <= limit
    assert out.startswith("<b>SOFR &lt;5% &amp; IORB &gt; EFFR</b>")
    visible_text(out)


def test_telegram_truncation_drops_whole_paragraphs_from_the_end() -> None:
    reply = Reply(
        "Title", blocks=[Text("A" * 400), Text("B" * 400), Text("C" * 400)], as_of="As of 2025-10-31."
    )
    out = to_telegram_html(reply, limit=TELEGRAM_CAPTION_LIMIT)
    assert out == "<b>Title</b>\n\n" + "A" * 400 + "\n\n" + "B" * 400
    assert to_telegram_html(reply).endswith("<i>As of 2025-10-31.</i>")  # 4096 is enough for all of it


@pytest.mark.parametrize("title", ["R&D " * 400, "<" * 2000, "SOFR " * 300])
def test_telegram_overlong_title_still_fits_the_caption(title: str) -> None:
    out = to_telegram_html(Reply(title, blocks=[Text("body")]), limit=TELEGRAM_CAPTION_LIMIT)
    assert len(out) <= TELEGRAM_CAPTION_LIMIT
    text = visible_text(out)
    assert text and title.startswith(text.rstrip())


# ---------------------------------------------------------------------------------------------------------
# Real replies through every renderer
# ---------------------------------------------------------------------------------------------------------

LINES = [
    "/corridor",
    "/srf",
    "/sofr",
    "/rrp",
    "/tga",
    "/reserves",
    "/liquidity",
    "/status",
    "/help",
    "/help chart",
    "/chart corridor 1y",
    "/chart srf",
    "/chart <b>",
    "/nope",
]


@pytest.mark.parametrize(
    "scenario", ["empty", "repo_spike_2019", "month_end_2025", "srf_feb_2026", "june_2026"]
)
def test_real_replies_render_everywhere(scenario: str) -> None:
    db = seeded(scenario)
    ctx = Context("telegram", "1", "2", SCENARIOS[scenario].now, is_operator=True)
    for line in LINES:
        reply = dispatch(line, ctx, db)
        assert reply is not None
        limit = TELEGRAM_CAPTION_LIMIT if reply.chart is not None else TELEGRAM_TEXT_LIMIT
        out = to_telegram_html(reply, limit=limit)
        assert len(out) <= limit, line
        shown = visible_text(out)
        assert reply.title in shown
        if reply.chart is None:  # a text message has room for everything
            for block in reply.blocks:
                body = block.text if isinstance(block, Text) else "\n".join(block.lines)
                assert body in shown, (line, body)
        console = to_console(reply)
        assert console.startswith(reply.title + "\n" + "=" * min(len(reply.title), 60))
        assert to_markdown(reply.blocks).count("```") % 2 == 0


def test_usage_reply_escapes_the_angle_brackets() -> None:
    reply = dispatch("/chart", Context("telegram", "1", "2", SCENARIOS["empty"].now), seeded("empty"))
    assert reply is not None
    out = to_telegram_html(reply)
    kinds = "corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers"
    assert out == f"<b>Usage: /chart &lt;{kinds}&gt; [1m|3m|1y|5y|max]</b>"


def test_corridor_ladder_survives_in_pre() -> None:
    db = seeded("month_end_2025")
    reply = dispatch("/corridor", Context("telegram", "1", "2", SCENARIOS["month_end_2025"].now), db)
    assert reply is not None
    out = to_telegram_html(reply)
    assert "<pre> 4.22 \u25cf SOFR  \u2190 above the ceiling\n 4.00 \u252c ceiling (SRF)\n" in out
    assert "<pre>Ceiling (SRF)    4.00%\nSOFR             4.22%\n" in out
    assert "\U0001f534 BREACH: SOFR is 22 bp above the ceiling. Repo cash is short." in out


# ---------------------------------------------------------------------------------------------------------
# Console
# ---------------------------------------------------------------------------------------------------------


def test_console_rendering() -> None:
    assert to_console(sample()) == (
        "SOFR <5% & IORB > EFFR\n"
        "======================\n\n"
        "SOFR \u2212 ceiling  +22 bp\n"
        "A<B              1 & 2\n\n"
        "a < b & c > d\n\n"
        " 4.22 \u25cf SOFR\n 4.00 \u252c <ceiling> & co\n\n"
        "As of <2025-10-31>.\n\n"
        "Try: /chart corridor 3m"
    )


def test_console_title_rule_is_capped_at_60() -> None:
    out = to_console(Reply("x" * 100))
    assert out.splitlines()[1] == "=" * 60


def test_console_error_reply_is_just_the_title() -> None:
    assert to_console(Reply("Usage: /corridor", level="error")) == "Usage: /corridor\n================"


# ---------------------------------------------------------------------------------------------------------
# Discord markdown
# ---------------------------------------------------------------------------------------------------------


def test_discord_fences_mono_blocks() -> None:
    blocks = [
        Text("Calm: SOFR is 17 bp below the ceiling."),
        Mono((" 5.50 \u252c ceiling (SRF)", " 5.33 \u25cf SOFR")),
    ]
    assert to_markdown(blocks) == (
        "Calm: SOFR is 17 bp below the ceiling.\n\n```\n 5.50 \u252c ceiling (SRF)\n 5.33 \u25cf SOFR\n```"
    )


def test_discord_fence_cannot_be_closed_from_inside() -> None:
    out = to_markdown([Mono(("a ``` b", "```"))])
    assert out == "```\na ''' b\n'''\n```"
    assert out.count("```") == 2


def test_discord_empty() -> None:
    assert to_markdown([]) == ""


def test_every_command_renders_its_help_in_every_format() -> None:
    for command in COMMANDS.values():
        reply = Reply(f"/{command.name}", blocks=[Text(f"{command.usage}\n{command.help}")])
        assert command.usage in visible_text(to_telegram_html(reply))
        assert command.usage in to_console(reply)
        assert command.usage in to_markdown(reply.blocks)


def _long_srf_history() -> Reply:
    """A ladder of every SRF operation since 2025-10-01: far more than one Telegram message holds."""
    lines = tuple(f"2025-10-{1 + i % 30:02d} AM  $ {i * 0.37:6.2f}B  4.25% & 4.00%" for i in range(300))
    return Reply(
        title="SRF take-up <history> \u2014 2025-10-31",
        fields=[("Month-end record", "$50.35B")],
        blocks=[Text("Standing repo operations, AM and PM."), Mono(lines), Text("Source: NY Fed.")],
        as_of="As of 2025-10-31.",
    )


@pytest.mark.parametrize("limit", [TELEGRAM_TEXT_LIMIT, 1000, 300])
def test_long_telegram_replies_split_at_line_breaks_and_each_part_parses(limit: int) -> None:
    whole = to_telegram_html(_long_srf_history(), limit=10**6)
    parts = split_telegram_html(whole, limit)
    assert len(parts) > 1 and all(len(part) <= limit for part in parts)
    texts = [parse_html(part)[0] for part in parts]  # raises if a part's tags do not balance
    assert "\n".join(texts) == parse_html(whole)[0]  # nothing lost, cut only where a line ended
    assert all(part.startswith("<pre>") for part in parts[1:-1])  # the ladder stays monospace


def test_a_short_reply_is_one_message_and_a_long_line_is_cut_outside_entities() -> None:
    assert split_telegram_html("<b>SOFR 4.22%</b>") == ["<b>SOFR 4.22%</b>"]
    parts = split_telegram_html("<b>" + "SOFR &amp; EFFR " * 40 + "</b>", 100)
    assert all(len(p) <= 100 and p.startswith("<b>") and p.endswith("</b>") for p in parts)
    assert "".join(parse_html(p)[0] for p in parts) == "SOFR & EFFR " * 40
