"""Open episodes: a rule's trailing run of flagged marks, for the rules, the summary and the web page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlite_utils

from storage.marks import Mark, load_marks

# The episodes users hear about, by the rule whose marks record them.
EPISODE_RULES: tuple[str, ...] = ("sofr_breach", "srf_positive@0")


def trailing_run(marks: Sequence[Mark]) -> list[Mark]:
    """The flagged marks at the end of an ordered sequence (the open episode, if any)."""
    run: list[Mark] = []
    for mark in reversed(marks):
        if not mark.flag:
            break
        run.append(mark)
    return list(reversed(run))


def open_episode(marks: Iterable[Mark]) -> list[Mark]:
    """The open episode among a rule's marks in any order."""
    return trailing_run(sorted(marks, key=lambda m: m.ord))


def open_episodes(db: sqlite_utils.Database) -> dict[str, str]:
    """Each episode rule that is open now, with the date its episode began."""
    found: dict[str, str] = {}
    for rule in EPISODE_RULES:
        run = open_episode(load_marks(db, rule).values())
        if run:
            found[rule] = run[0].ord.split("|", 1)[0]
    return found
