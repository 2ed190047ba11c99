"""Everything the daily summary (and, later, any dashboard) shows, read from storage in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlite_utils

from bot.market.episodes import open_episodes
from bot.market.readings import Corridor, changes, corridor_on
from storage.observations import Point, latest, total_between


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The latest reading of each gauge; None where nothing is stored yet."""

    corridor: Corridor | None
    srf: Point | None
    srf_month_to_date: float
    rrp: Point | None
    tga: Point | None
    reserves: Point | None
    net_liquidity: Point | None
    net_liquidity_week_change: float | None
    open_episodes: dict[str, str] = field(default_factory=dict)  # rule -> date the episode began


def read_snapshot(db: sqlite_utils.Database) -> Snapshot:
    """One read of every gauge, so a summary rendered for many schedules and languages reads once."""
    srf = latest(db, "srf")
    mtd = 0.0
    if srf is not None:
        mtd, _ = total_between(db, "srf", date.fromisoformat(srf.date).replace(day=1).isoformat(), srf.date)
    net = latest(db, "net_liquidity")
    week = changes(db, "net_liquidity", net, {"1w": 7}) if net is not None else []
    return Snapshot(
        corridor=corridor_on(db),
        srf=srf,
        srf_month_to_date=mtd,
        rrp=latest(db, "rrp"),
        tga=latest(db, "tga"),
        reserves=latest(db, "reserves"),
        net_liquidity=net,
        net_liquidity_week_change=week[0].delta if week else None,
        open_episodes=open_episodes(db),
    )
