"""README promises: its examples are what the bot prints, its numbers are computed, not remembered."""

from __future__ import annotations

import re
from pathlib import Path

import discord
import pytest

from bot.core.config import load_settings
from bot.frontends.console import answer
from bot.render.text import to_console
from tests.seed import SCENARIOS, seeded

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()

# (the line introducing the example, the scenario whose clock and data it shows, the command)
EXAMPLES = [
    ("`/corridor` on 2025-10-31 (the month-end squeeze):", "month_end_2025", "/corridor"),
    ("`/srf` on 2025-10-31:", "month_end_2025", "/srf"),
    (
        "`/srf` on 2026-02-18, when the only other operation was a Small Value Exercise:",
        "srf_feb_2026",
        "/srf",
    ),
    ("`/sofr` on 2025-10-31:", "month_end_2025", "/sofr"),
    ("`/rrp` in late June 2026:", "june_2026", "/rrp"),
    ("`/tga`:", "june_2026", "/tga"),
    ("`/reserves`:", "june_2026", "/reserves"),
    ("`/liquidity`:", "june_2026", "/liquidity"),
]


def printed(scenario: str, line: str) -> str:
    """What `plumbline ask LINE` prints on that scenario's database, on the day."""
    reply = answer(
        line, load_settings({}, env_file=None), seeded(scenario), clock=lambda: SCENARIOS[scenario].now
    )
    assert reply is not None
    return to_console(reply)


def block_after(heading: str) -> str:
    start = README.index(heading)
    opening = README.index("```\n", start) + 4
    return README[opening : README.index("```\n", opening)].rstrip("\n")


@pytest.mark.parametrize(("heading", "scenario", "line"), EXAMPLES)
def test_readme_examples_are_what_the_bot_prints(heading: str, scenario: str, line: str) -> None:
    assert block_after(heading) == printed(scenario, line)


def test_discord_invite_permissions_are_the_ones_named() -> None:
    """116736 left out View Channels and added Read Message History; the four named add up to 52224."""
    wanted = discord.Permissions(view_channel=True, send_messages=True, embed_links=True, attach_files=True)
    assert wanted.value == 52224
    integers = {int(n) for n in re.findall(r"permissions=(\d+)", README)}
    integers |= {int(n) for n in re.findall(r"permission integer\s+`(\d+)`", README)}
    assert integers == {wanted.value}
