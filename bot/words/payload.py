"""Replies stored in the outbox as JSON, so a restart sends exactly what was decided before it."""

from __future__ import annotations

import json
from typing import Any

from bot.words.reply import Button, Mono, Reply, Text


def reply_to_json(reply: Reply, chart: str | None = None, render: dict[str, Any] | None = None) -> str:
    """Serialise a reply; a chart is stored as the /chart arguments and drawn fresh at send time.

    render holds the facts an alert or summary was written from, so delivery can put them into each
    chat's language at send time (the stored reply is the English text, for operators and old readers)."""
    return json.dumps(
        {
            "render": render,
            "title": reply.title,
            "fields": reply.fields,
            "blocks": [
                {"mono": list(b.lines)} if isinstance(b, Mono) else {"text": b.text} for b in reply.blocks
            ],
            "as_of": reply.as_of,
            "level": reply.level,
            "buttons": [[[b.label, b.command] for b in row] for row in reply.buttons],
            "chart": chart,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def reply_from_json(text: str) -> tuple[Reply, str | None]:
    """The stored reply and its chart arguments (None when it has no chart)."""
    data: dict[str, Any] = json.loads(text)
    blocks: list[Text | Mono] = [
        Mono(tuple(b["mono"])) if "mono" in b else Text(str(b["text"])) for b in data.get("blocks", [])
    ]
    reply = Reply(
        title=str(data["title"]),
        blocks=blocks,
        fields=[(str(k), str(v)) for k, v in data.get("fields", [])],
        as_of=data.get("as_of"),
        level=data.get("level", "info"),
        buttons=[[Button(str(label), str(cmd)) for label, cmd in row] for row in data.get("buttons", [])],
    )
    chart = data.get("chart")
    return reply, str(chart) if chart else None


def render_of(text: str) -> dict[str, Any] | None:
    """The facts a stored event can be re-rendered from, or None (a plain reply)."""
    data = json.loads(text)
    render = data.get("render") if isinstance(data, dict) else None
    return render if isinstance(render, dict) else None
