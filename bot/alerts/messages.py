"""Turning an alert's facts into a reply users can read, in their language."""

from __future__ import annotations

from bot.alerts.rules import Alert
from bot.core.series import SRF_START
from bot.market.auctions import MIN_HISTORY
from bot.words.fmt import bp, pct, usd_bn
from bot.words.messages import t
from bot.words.reply import Block, Reply, Text


def _num(facts: dict[str, float | str | int | None], key: str) -> float | None:
    value = facts.get(key)
    return float(value) if isinstance(value, int | float) else None


def _session(facts: dict[str, float | str | int | None], lang: str) -> str:
    session = str(facts.get("session") or "")
    return t(f"session.{session}", lang) if session in ("AM", "PM") else t("session.other", lang)


def _session_label(facts: dict[str, float | str | int | None], lang: str) -> str:
    """The operation's short label: AM or PM (上午, 下午), or its code when it is neither."""
    session = str(facts.get("session") or "")
    return t(f"session.label.{session}", lang) if session in ("AM", "PM") else session


def _where(sofr: float | None, ceiling: float | None, lang: str) -> str:
    """'at' the ceiling, or 'N bp under' it."""
    gap = round(((ceiling or 0.0) - (sofr or 0.0)) * 100)
    return t("alert.at_ceiling", lang) if gap == 0 else t("alert.under_ceiling", lang, gap=f"{gap} bp")


def alert_reply(alert: Alert, lang: str = "en") -> Reply:
    """The message for one alert."""
    f = alert.facts
    footer = Text(t("alert.footer", lang))
    if alert.rule == "sofr_breach" and alert.kind == "start":
        body = t(
            "alert.breach.body" if alert.date >= SRF_START else "alert.breach.body_pre_srf",
            lang,
            sofr=pct(_num(f, "sofr"), lang=lang),
            spread=bp(_num(f, "spread_bp"), lang=lang).lstrip("+"),
            ceiling=pct(_num(f, "ceiling"), lang=lang),
        )
        blocks = [Text(body)]
        if _num(f, "p99") is not None or _num(f, "volume") is not None:
            detail = t(
                "alert.breach.detail",
                lang,
                p99=pct(_num(f, "p99"), lang=lang),
                volume=usd_bn(_num(f, "volume"), lang=lang),
            )
            blocks.append(Text(detail))
        return Reply(
            t("alert.breach.title", lang, date=alert.date),
            [*blocks, footer],
            level="breach",
            as_of=t("as_of", lang, date=alert.date),
        )
    if alert.rule == "sofr_breach" and alert.kind == "end":
        sofr, ceiling = _num(f, "sofr"), _num(f, "ceiling")
        body = t(
            "alert.breach_end.body",
            lang,
            sofr=pct(sofr, lang=lang),
            where=_where(sofr, ceiling, lang),
            ceiling=pct(ceiling, lang=lang),
            days=f.get("days"),
            since=f.get("since"),
            peak_sofr=pct(_num(f, "peak_sofr"), lang=lang),
            peak_date=f.get("peak_date"),
            peak_bp=bp(_num(f, "peak_bp"), lang=lang),
        )
        return Reply(
            t("alert.breach_end.title", lang, date=alert.date),
            [Text(body), footer],
            level="calm",
            as_of=t("as_of", lang, date=alert.date),
        )
    if alert.rule == "sofr_breach" and alert.kind == "correction":
        key = "alert.breach_fix.breach" if f.get("breach") else "alert.breach_fix.inside"
        if f.get("old_sofr") is None:
            key = "alert.breach_late"
        body = t(
            key,
            lang,
            date=alert.date,
            sofr=pct(_num(f, "sofr"), lang=lang),
            ceiling=pct(_num(f, "ceiling"), lang=lang),
            spread=bp(_num(f, "spread_bp"), lang=lang).lstrip("+"),
        )
        return Reply(
            t("alert.breach_fix.title", lang, date=alert.date), [Text(body), footer], level="warning"
        )
    if alert.rule.startswith("sofr_near"):
        body = t(
            "alert.near.body",
            lang,
            sofr=pct(_num(f, "sofr"), lang=lang),
            where=_where(_num(f, "sofr"), _num(f, "ceiling"), lang),
            ceiling=pct(_num(f, "ceiling"), lang=lang),
            near=bp(_num(f, "near_bp"), lang=lang).lstrip("+"),
        )
        return Reply(t("alert.near.title", lang, date=alert.date), [Text(body), footer], level="tight")
    if alert.rule.startswith("srf_positive"):
        return _srf_reply(alert, lang, footer)
    if alert.rule == "range_change":
        move = _num(f, "move_bp") or 0.0
        body = t(
            "alert.range.body",
            lang,
            lower=pct(_num(f, "lower"), lang=lang),
            upper=pct(_num(f, "upper"), lang=lang),
            move=bp(move, lang=lang),
            old_lower=pct(_num(f, "old_lower"), lang=lang),
            old_upper=pct(_num(f, "old_upper"), lang=lang),
        )
        return Reply(t("alert.range.title", lang, date=alert.date), [Text(body), footer], level="warning")
    if alert.rule == "auction_weak":
        return _auction_reply(alert, lang, footer)
    return Reply(f"{alert.rule} {alert.kind} {alert.date}", [footer])


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _auction_reply(alert: Alert, lang: str, footer: Text) -> Reply:
    """A weak auction: the result, then each measure beside the band it fell outside."""
    f = alert.facts
    term, kind = str(f.get("security_term")), str(f.get("security_type"))
    blocks: list[Block] = [
        Text(
            t(
                "auctions.weak_body",
                lang,
                term=term,
                type=kind,
                size=usd_bn(_num(f, "offering")),
                rate=pct(_num(f, "rate"), 3),
                indirect=_share(_num(f, "indirect")),
                direct=_share(_num(f, "direct")),
                dealer=_share(_num(f, "dealer")),
            )
        )
    ]
    for measure, key, unit in (("btc", "auctions.weak_btc", ""), ("dealer", "auctions.weak_dealer", "%")):
        mean, sd = _num(f, f"{measure}_mean"), _num(f, f"{measure}_sd")
        value = _num(f, measure)
        if mean is None or sd is None or value is None:
            continue
        digits = 2 if measure == "btc" else 1
        band = f"{2 * sd:.{digits}f}" + (" pp" if unit else "")
        blocks.append(
            Text(
                t(
                    key,
                    lang,
                    value=f"{value:.{digits}f}{unit}",
                    mean=f"{mean:.{digits}f}{unit}",
                    n=f.get(f"{measure}_n"),
                    band=band,
                )
            )
        )
    blocks.append(Text(t("auctions.rule", lang, min=MIN_HISTORY)))
    blocks.append(footer)
    title = t("auctions.weak_title", lang, term=term, type=kind, date=alert.date)
    return Reply(title, blocks, level="warning", as_of=t("as_of", lang, date=alert.date))


def _srf_reply(alert: Alert, lang: str, footer: Text) -> Reply:
    f = alert.facts
    amount = usd_bn(_num(f, "amount"), 3, lang=lang)
    total = usd_bn(_num(f, "day_total"), 3, lang=lang)
    session = _session(f, lang)
    if alert.kind == "correction":
        body = t(
            "alert.srf_fix.body",
            lang,
            amount=amount,
            old=usd_bn(_num(f, "old_amount"), 3, lang=lang),
            threshold=usd_bn(_num(f, "threshold"), 1, lang=lang),
        )
        title = t("alert.srf_fix.title", lang, session=session, date=alert.date)
        return Reply(title, [Text(body), footer], level="warning")
    if alert.kind == "revised":
        old = _num(f, "old_amount")
        key = "alert.srf_late.revised" if old is not None else "alert.srf_late.late"
        body = t(
            key,
            lang,
            session=session,
            amount=amount,
            old=usd_bn(old, 3, lang=lang),
            total=total,
            threshold=usd_bn(_num(f, "threshold"), 1, lang=lang),
        )
        title_key = "alert.srf_late.title" if old is not None else "alert.srf_late.title_late"
        title = t(title_key, lang, amount=amount, date=alert.date)
        return Reply(title, [Text(body), footer], level="breach", as_of=t("as_of", lang, date=alert.date))
    blocks: list[Text] = []
    if alert.kind == "start":
        title = t("alert.srf.title", lang, amount=amount, date=alert.date, session=_session_label(f, lang))
        rate = _num(f, "rate")
        blocks.append(
            Text(t("alert.srf.body", lang, amount=amount, session=session, rate=pct(rate, lang=lang)))
        )
    else:
        tier = _num(f, "tier") or 0.0
        if f.get("tier_up", 1):
            title = t("alert.srf.tier_title", lang, tier=usd_bn(tier, 0, lang=lang), date=alert.date)
        else:
            title = t("alert.srf.record_title", lang, total=total, date=alert.date)
        blocks.append(Text(t("alert.srf.tier_body", lang, session=session, amount=amount, total=total)))
    blocks.append(
        Text(
            t(
                "alert.srf.collateral",
                lang,
                treasury=usd_bn(_num(f, "treasury"), 3, lang=lang),
                agency=usd_bn(_num(f, "agency"), 3, lang=lang),
                mbs=usd_bn(_num(f, "mbs"), 3, lang=lang),
                total=total,
            )
        )
    )
    if f.get("record"):
        blocks.append(Text(t("alert.srf.record", lang, prior=usd_bn(_num(f, "prior_record"), 3, lang=lang))))
    threshold = _num(f, "threshold") or 0.0
    if threshold > 0:
        blocks.append(Text(t("alert.srf.threshold", lang, threshold=usd_bn(threshold, 1, lang=lang))))
    blocks.append(footer)
    return Reply(title, list(blocks), level="breach", as_of=t("as_of", lang, date=alert.date))
