"""Logging set-up: one format, secrets redacted at every level, noisy library loggers quietened."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from pathlib import Path

_TOKEN_IN_URL = re.compile(r"(/bot)[0-9]+:[A-Za-z0-9_-]+")
_KEY_PARAM = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)
_WEBHOOK = re.compile(r"(/webhooks/[0-9]+/)[A-Za-z0-9_.-]+")


class RedactingFilter(logging.Filter):
    """Replaces every known secret, and anything shaped like a bot token or api key, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = _TOKEN_IN_URL.sub(r"\1***", text)
        text = _KEY_PARAM.sub(r"\1***", text)
        return _WEBHOOK.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self.redact(message)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def setup_logging(level: str, secrets: Iterable[str] = (), stream: object = None) -> RedactingFilter:
    """Configure the root logger once; returns the redacting filter so tests can inspect it."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token.
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return redactor


def log_to_file(path: Path) -> Path | None:
    """Move the root handlers' output from the terminal to path (the console prompt owns the terminal).

    Keeps each handler's format and redaction; returns path, or None when it cannot be opened (then the
    logs stay on stderr, quietened to warnings)."""
    root = logging.getLogger()
    try:
        target = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        for handler in root.handlers:
            handler.setLevel(max(handler.level, logging.WARNING))
        return None
    for old in list(root.handlers):
        if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
            target.setFormatter(old.formatter)
            for f in old.filters:
                target.addFilter(f)
            root.removeHandler(old)
    root.addHandler(target)
    return path
