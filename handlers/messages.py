"""Every user-facing string, by language. Handlers and front-ends look words up here and nowhere else."""

from __future__ import annotations

import logging
import string

log = logging.getLogger(__name__)

DEFAULT_LANG = "en"

EN: dict[str, str] = {
    # General
    "intro": (
        "Plumbline watches the US dollar money-market plumbing.\n"
        "Deficits are funded with Treasuries, their buyers fund themselves in repo, and when repo cash runs "
        "short SOFR breaks above the corridor ceiling and dealers tap the Fed's Standing Repo Facility.\n"
        "SRF take-up above zero means the Fed is creating reserves: Plumbline tells you the moment it happens."
    ),
    "help.title": "Plumbline commands",
    "help.more": "Send /help <command> for details, e.g. /help chart.",
    "help.one": "{usage}\n{help}",
    "usage": "Usage: {usage}",
    "error.unknown_command": "Unknown command {command}. Send /help for the list.",
    "error.internal": "Sorry, something went wrong on our side while answering that. It has been logged.",
    "error.rate_limited": "Easy there: too many commands from this chat. Try again in {seconds} s.",
    "error.not_allowed": "This Plumbline is private to its owner's chats.",
    "error.too_long": "That message is too long to be a command.",
    "as_of": "As of {date}.",
    "as_of_published": "As of {date} (published {published}).",
    "stale": "\u26a0 {name} is {days} days old; it is normally published {cadence}. The source may be late.",
    "no_data": "No {name} data yet. {next_poll}",
    "next_poll.soon": "The first poll runs as soon as the bot starts; try again in a minute, or see /status.",
    "next_poll.at": "The next poll of {source} runs at about {time} ET; see /status.",
    "cadence.daily": "each business day",
    "cadence.weekly": "weekly",
    # Corridor
    "corridor.title": "Fed funds corridor \u2014 {date}",
    "corridor.ceiling": "Ceiling ({label})",
    "corridor.floor": "Floor ({label})",
    "corridor.sofr": "SOFR",
    "corridor.sofr_p99": "SOFR 99th pct",
    "corridor.effr": "EFFR",
    "corridor.iorb": "IORB",
    "corridor.spread.sofr_ceiling": "SOFR \u2212 ceiling",
    "corridor.spread.sofr_iorb": "SOFR \u2212 IORB",
    "corridor.spread.effr_iorb": "EFFR \u2212 IORB",
    "corridor.verdict.calm": "\U0001f7e2 Calm: SOFR is {gap} below the ceiling.",
    "corridor.verdict.tight": "\U0001f7e1 Tight: SOFR is within {tight} of the ceiling ({gap} below).",
    "corridor.verdict.breach": "\U0001f534 BREACH: SOFR is {gap} above the ceiling. Repo cash is short.",
    "corridor.no_ceiling": "The corridor ceiling for {date} is not stored yet, so no verdict.",
    "corridor.effr_lag": "EFFR is from {date}; the NY Fed publishes it about an hour after SOFR.",
    "ladder.above": "\u2190 above the ceiling",
    # SRF
    "srf.title": "Standing Repo Facility \u2014 {date}",
    "srf.op": "{session} {window}",
    "srf.total": "Total",
    "srf.none_today": "No SRF take-up on {date}: dealers found repo cash in the market.",
    "srf.positive": "\U0001f534 ${amount} taken up: the Fed created reserves to fund repo.",
    "srf.rate": "Minimum bid rate {rate} (the corridor ceiling).",
    "srf.collateral": "Collateral: Treasury {treasury}, agency {agency}, MBS {mbs}.",
    "srf.last_positive": "Last day with take-up: {date} ({amount}).",
    "srf.never_positive": "No take-up above zero in the stored history.",
    "srf.total_30d": "Last 30 days: {amount} over {days} day(s) with take-up.",
    "srf.record": "Largest day stored: {date} ({amount}).",
    "srf.sve_excluded": "Small Value Exercise on {date} ({amount}) excluded: it is a test operation, not usage.",
    "srf.no_ops": "No SRF operations stored yet. {next_poll}",
    # SOFR
    "sofr.title": "SOFR \u2014 {date}",
    "sofr.level": "SOFR",
    "sofr.p1": "1st percentile",
    "sofr.p25": "25th percentile",
    "sofr.p75": "75th percentile",
    "sofr.p99": "99th percentile",
    "sofr.volume": "Volume",
    "sofr.change": "Change {ago}",
    "sofr.volume_note": "Volume is the repo the market financed that day, a proxy for hedge funds' demand for cash.",
    # ON RRP
    "rrp.title": "ON RRP \u2014 {date}",
    "rrp.level": "Take-up",
    "rrp.rate": "Award rate (floor)",
    "rrp.change": "Change {ago}",
    "rrp.peak": "Peak stored",
    "rrp.note": "ON RRP is money-market funds' spare cash parked at the Fed. Near zero, the buffer is gone.",
    # TGA
    "tga.title": "Treasury General Account \u2014 {date}",
    "tga.level": "Closing balance",
    "tga.target": "Treasury target",
    "tga.vs_target": "vs target",
    "tga.change": "Change {ago}",
    "tga.rising": "The TGA rose {amount} over the week: that drains reserves from the banking system.",
    "tga.falling": "The TGA fell {amount} over the week: that adds reserves to the banking system.",
    # Reserves
    "reserves.title": "Bank reserves \u2014 week of {date}",
    "reserves.level": "Reserve balances",
    "reserves.change": "Change {ago}",
    # Liquidity
    "liquidity.title": "Net liquidity \u2014 {date}",
    "liquidity.level": "Net liquidity",
    "liquidity.assets": "Fed total assets",
    "liquidity.tga": "\u2212 TGA",
    "liquidity.rrp": "\u2212 ON RRP",
    "liquidity.change": "Change {ago}",
    "liquidity.formula": "Net liquidity = Fed total assets \u2212 TGA \u2212 ON RRP, each as of {date}.",
    "liquidity.inputs": "Inputs: assets {assets}, TGA {tga}, ON RRP {rrp}.",
    # Charts
    "chart.title.corridor": "SOFR in the fed funds corridor",
    "chart.title.srf": "Standing Repo Facility take-up",
    "chart.title.rrp": "ON RRP take-up",
    "chart.title.tga": "Treasury General Account",
    "chart.title.liquidity": "Net liquidity (assets \u2212 TGA \u2212 ON RRP)",
    "chart.title.sofr": "SOFR and its percentiles",
    "chart.caption": "{title}, {since} to {until}.",
    "chart.empty": "No {name} data for {range} yet. {next_poll}",
    "chart.band": "Corridor (floor to ceiling)",
    "chart.target": "Target $850B",
    "chart.label.p1_p99": "1st\u201399th pct",
    # Status
    "status.title": "Data freshness",
    "status.fresh": "\u2705",
    "status.stale": "\u26a0 stale",
    "status.missing": "no data",
    "status.source_ok": "{label}: ok, last fetch {when}",
    "status.source_failing": "{label}: \u26a0 failing since {when}",
    "status.source_never": "{label}: not fetched yet",
    "status.source_error": "{label}: last error: {error} ({failures} in a row)",
    "status.all_fresh": "Every series is up to date.",
    "status.some_stale": "Some series are late: {names}.",
    # Buttons
    "button.chart": "\U0001f4c8 Chart",
    "button.corridor": "Corridor",
    "button.srf": "SRF",
    "button.liquidity": "Liquidity",
}

CATALOGS: dict[str, dict[str, str]] = {"en": EN}


class _Missing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The message for key in lang (English when missing there), with values filled in."""
    catalog = CATALOGS.get(lang, EN)
    template = catalog.get(key) or EN.get(key)
    if template is None:
        log.error("missing message key %r", key)
        return key
    return string.Formatter().vformat(template, (), _Missing(values))
