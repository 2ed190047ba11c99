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
    "corridor.effr_above": "EFFR ({effr}) also printed above the ceiling ({ceiling}): stress reached the fed funds market.",
    "corridor.effr_lag": "EFFR is from {date}; the NY Fed publishes it about an hour after SOFR.",
    "label.srf": "SRF",
    "label.target_upper": "target upper bound",
    "label.on_rrp": "ON RRP",
    "label.target_lower": "target lower bound",
    "ladder.above": "\u2190 above the ceiling",
    # SRF
    "srf.title": "Standing Repo Facility \u2014 {date}",
    "srf.op": "{session} {window}",
    "srf.total": "Total",
    "srf.none_today": "No SRF take-up on {date}: dealers found repo cash in the market.",
    "srf.positive": "\U0001f534 ${amount} taken up: the Fed created reserves to fund repo.",
    "srf.token": "\U0001f7e1 {amount} taken up: a token amount, but the facility was used.",
    "srf.pm_pending": "The afternoon operation (13:30\u201313:45 ET) is still to come: the day's total may rise.",
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
    "status.outbox": "Outbox: {counts}.",
    "status.outbox_empty": "empty",
    "admin.title": "Plumbline internals",
    "admin.refused": "That command is for this bot's operators (ADMIN_USER_IDS).",
    "admin.chats": "Chats: {total} known, {active} active",
    "admin.subscriptions": "Subscriptions: {alerts} alerts, {daily} daily",
    "status.empty": "No data yet: the poller fills the database on its first run.",
    "status.all_fresh": "Every series is up to date.",
    "status.some_stale": "Some series are late: {names}.",
    # Alerts
    "alert.breach.title": "\U0001f6a8 SOFR above the ceiling \u2014 {date}",
    "alert.breach.body": "SOFR printed {sofr}, {spread} above the corridor ceiling of {ceiling}. Repo cash is short: expect dealers at the Standing Repo Facility.",
    "alert.breach.body_pre_srf": "SOFR printed {sofr}, {spread} above the top of the target range ({ceiling}). Repo cash is short.",
    "alert.breach.detail": "99th percentile {p99}; volume {volume}.",
    "alert.breach_end.title": "\u2705 SOFR back inside the corridor \u2014 {date}",
    "alert.breach_end.body": "SOFR is {sofr}, {where} the ceiling of {ceiling}, after {days} day(s) above it (since {since}; peak {peak_sofr} on {peak_date}, {peak_bp}).",
    "alert.at_ceiling": "at",
    "alert.under_ceiling": "{gap} under",
    "alert.breach_fix.title": "\u270f\ufe0f Correction \u2014 SOFR for {date}",
    "alert.breach_fix.inside": "The NY Fed revised SOFR for {date} to {sofr}, inside the ceiling of {ceiling}: that day was not a breach after all.",
    "alert.breach_fix.breach": "The NY Fed revised SOFR for {date} to {sofr}, {spread} above the ceiling of {ceiling}: that day was a breach.",
    "alert.breach_late": "SOFR for {date} arrived late: {sofr}, {spread} above the ceiling of {ceiling}. That day was a breach.",
    "alert.near.title": "\u26a0\ufe0f SOFR near the ceiling \u2014 {date}",
    "alert.near.body": "SOFR printed {sofr}, {where} the ceiling of {ceiling} (your alert distance: {near}).",
    "alert.srf.title": "\U0001f6a8 SRF take-up: {amount} \u2014 {date} {session}",
    "alert.srf.body": "Dealers took {amount} from the Fed's Standing Repo Facility in the {session} operation (minimum bid rate {rate}). SRF take-up above zero means the Fed is creating reserves to fund repo.",
    "alert.srf.collateral": "Collateral: Treasury {treasury}, agency {agency}, MBS {mbs}. Day total so far: {total}.",
    "alert.srf.tier_title": "\U0001f6a8 SRF take-up passes {tier} \u2014 {date}",
    "alert.srf.record_title": "\U0001f3c6 SRF take-up sets a record: {total} \u2014 {date}",
    "alert.srf.tier_body": "The {session} operation added {amount}; the day's take-up is now {total}.",
    "alert.srf.record": "\U0001f3c6 A record: the largest day stored was {prior}.",
    "alert.srf.threshold": "Your alert threshold: {threshold}.",
    "alert.srf_fix.title": "\u270f\ufe0f Correction \u2014 SRF {session} operation of {date}",
    "alert.srf_fix.body": "The NY Fed revised the take-up to {amount} (was {old}), at or below your threshold of {threshold}. The alert for it is withdrawn.",
    "alert.range.title": "\U0001f3db FOMC moved the target range, effective {date}",
    "alert.range.body": "The fed funds target range is now {lower}\u2013{upper} ({move}), from {old_lower}\u2013{old_upper}. The corridor floor and ceiling move with it.",
    "session.AM": "morning",
    "session.PM": "afternoon",
    "session.other": "additional",
    "alert.footer": "Plumbline alert. /mute 6h to pause, /settings to change.",
    # Daily summary
    "daily.title": "\u2600\ufe0f Plumbline daily \u2014 {date}",
    "daily.corridor": "Corridor ({date}): SOFR {sofr} vs ceiling {ceiling} ({spread}) \u2014 {verdict}",
    "daily.srf": "SRF: {yesterday} on {date}; month to date {mtd}",
    "daily.rrp": "ON RRP: {amount} ({date})",
    "daily.tga": "TGA: {amount} ({vs} vs the $850B target, {date})",
    "daily.reserves": "Reserves: {amount} (week of {date})",
    "daily.liquidity": "Net liquidity: {amount} ({change} w/w, {date})",
    "daily.open": "Open episodes: {episodes}",
    "daily.none_open": "Open episodes: none",
    "daily.missing": "{name}: no data yet",
    "verdict.calm": "calm",
    "verdict.tight": "tight",
    "verdict.breach": "BREACH",
    "episode.sofr_breach": "SOFR above the ceiling since {since}",
    "episode.srf": "SRF take-up since {since}",
    # Subscriptions and settings
    "sub.need_admin": "Only this chat's administrators can change its subscriptions.",
    "sub.need_admin_discord": "You need the Manage Channels permission to change this channel's subscriptions.",
    "sub.alerts_on": "\U0001f514 Alerts on for this chat: SOFR above the ceiling, SRF take-up above {threshold}, FOMC range changes.",
    "sub.zero": "zero",
    "sub.daily_on": "\u2600\ufe0f Daily summary at {time} {tz}{weekends}.",
    "sub.weekdays_only": ", weekdays only",
    "sub.off": "Unsubscribed from {what}.",
    "sub.nothing": "This chat was not subscribed to {what}.",
    "sub.bad_time": "'{value}' is not a time. Use 24-hour HH:MM, e.g. 08:30.",
    "sub.bad_zone": "'{value}' is not a time zone. Use an IANA name such as America/New_York, Europe/London or Asia/Taipei.",
    "sub.threshold_srf": "SRF alerts now fire when take-up exceeds {threshold}.",
    "sub.threshold_near": "You will be told when SOFR comes within {bp} of the ceiling.",
    "sub.threshold_near_off": "Near-ceiling alerts are off.",
    "sub.bad_amount": "'{value}' is not an amount. Use billions, e.g. 5B, 0.5B or 0.",
    "sub.bad_bp": "'{value}' is not a distance. Use basis points, e.g. 3bp (or off).",
    "sub.muted": "\U0001f515 Alerts and summaries paused until {until} UTC.",
    "sub.unmuted": "\U0001f514 Alerts and summaries resumed.",
    "sub.bad_duration": "'{value}' is not a duration. Use e.g. 30m, 6h, 2d (at most 30d), or off.",
    "settings.title": "Settings for this chat",
    "settings.alerts": "Alerts: {state}",
    "settings.daily": "Daily summary: {state}",
    "settings.srf": "SRF threshold: {threshold}",
    "settings.near": "Near-ceiling alert: {near}",
    "settings.muted": "Muted until: {until}",
    "settings.on": "on",
    "settings.off": "off",
    "button.alerts_on": "\U0001f514 Alerts on",
    "button.alerts_off": "\U0001f515 Alerts off",
    "button.daily_on": "\u2600\ufe0f Daily 08:30 NY",
    "button.daily_off": "Daily off",
    "button.mute": "Mute 6h",
    "button.unmute": "Unmute",
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
