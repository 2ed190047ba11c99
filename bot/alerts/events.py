"""Stored events put into a chat's language at send time: one event, each chat its own words."""

from __future__ import annotations

from typing import Any

from bot.alerts.messages import alert_reply
from bot.alerts.rules import Alert
from bot.alerts.summary import daily_reply
from bot.words.reply import Reply


def alert_render(alert: Alert) -> dict[str, Any]:
    """What an alert event stores to be rendered later."""
    return {
        "kind": "alert",
        "alert": {
            "key": alert.key,
            "rule": alert.rule,
            "kind": alert.kind,
            "date": alert.date,
            "facts": dict(alert.facts),
        },
    }


def event_reply(render: dict[str, Any], lang: str) -> Reply | None:
    """The reply for a stored event in lang, or None when the facts are of a kind this version lacks."""
    if render.get("kind") == "alert":
        a = render["alert"]
        return alert_reply(
            Alert(str(a["key"]), str(a["rule"]), str(a["kind"]), str(a["date"]), a["facts"]), lang
        )
    if render.get("kind") == "daily":
        return daily_reply(render["facts"], lang)
    return None
