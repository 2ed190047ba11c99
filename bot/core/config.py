"""Configuration: read once from the environment and .env, validated at startup, secrets redacted."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from bot.core.lang import SUPPORTED_LANGS, parse_lang

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SECRET_SUFFIXES = ("_token", "_key", "_secret", "_webhook_url")
DEFAULT_WEB_PORT = 8080


class ConfigError(Exception):
    """A configuration value is invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    nyfed_base_url: str = "https://markets.newyorkfed.org"
    fred_csv_url: str = "https://fred.stlouisfed.org/graph/fredgraph.csv"
    fred_api_url: str = "https://api.stlouisfed.org/fred"
    fred_api_key: str | None = None
    fiscaldata_base_url: str = "https://api.fiscaldata.treasury.gov/services/api/fiscal_service"
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_paid_broadcast: bool = False
    discord_bot_token: str | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"
    discord_webhook_url: str | None = None
    database_path: Path = Path("plumbline.db")
    poll_interval_seconds: int | None = None
    admin_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    http_timeout_seconds: float = 15.0
    http_retry_attempts: int = 4
    tight_bp: float = 5.0
    web_host: str = "127.0.0.1"
    web_port: int | None = DEFAULT_WEB_PORT  # None: WEB_PORT=off, no dashboard
    lang: str = "en"  # PLUMBLINE_LANG: the console's, the CLI's and the webhook's language

    def secrets(self) -> list[str]:
        """Every secret value that is set, for log redaction."""
        found: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and value and f.name.endswith(_SECRET_SUFFIXES):
                found.append(value)
        return found

    def redacted(self) -> dict[str, str]:
        """The settings as strings, safe to print: secrets show only whether they are set."""
        shown: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(_SECRET_SUFFIXES):
                shown[f.name] = "(set)" if value else "(unset)"
            elif isinstance(value, frozenset):
                shown[f.name] = ",".join(str(v) for v in sorted(value)) or "(none)"
            else:
                shown[f.name] = "(unset)" if value is None else str(value)
        return shown


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, got {raw!r}")
    return raw.rstrip("/")


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _id_set(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").strip()
    if not raw:
        return frozenset()
    ids: set[int] = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of numeric ids, got {part!r}") from None
    return frozenset(ids)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false), got {raw!r}")


def _number(
    env: Mapping[str, str], name: str, default: float | None, low: float, high: float, *, whole: bool = False
) -> float | None:
    """A finite number in [low, high] (a whole one when whole is set); a bad value names the allowed range."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if whole else "a number"
    allowed = f"{kind} from {low:g} to {high:g}"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {allowed}, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high or (whole and not value.is_integer()):
        raise ConfigError(f"{name} must be {allowed}, got {raw!r}")
    return value


def _web_port(env: Mapping[str, str]) -> int | None:
    raw = env.get("WEB_PORT", "").strip().lower()
    if not raw:
        return DEFAULT_WEB_PORT
    if raw in ("off", "none", "no", "false"):
        return None
    # 0 asks the system for any free port (tests, several instances on one machine).
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"WEB_PORT must be a port number from 1 to 65535, or off, got {raw!r}")
    return int(raw)


def _web_host(env: Mapping[str, str]) -> str:
    raw = env.get("WEB_HOST", "").strip() or Settings.web_host
    if any(c.isspace() for c in raw) or "/" in raw:
        raise ConfigError(
            f"WEB_HOST must be a host name or address such as 127.0.0.1 or 0.0.0.0, got {raw!r}"
        )
    return raw


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Merge .env (lower priority) with the environment and validate every value."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values  # only when there is a file to read: a tenth of a cold start

        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)

    level = merged.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {level!r}")

    interval = _number(merged, "POLL_INTERVAL_SECONDS", None, 1, 86_400, whole=True)
    timeout = _number(merged, "HTTP_TIMEOUT_SECONDS", 15.0, 0.1, 300)
    tight = _number(merged, "CORRIDOR_TIGHT_BP", 5.0, 0.1, 100)
    attempts = _number(merged, "HTTP_RETRY_ATTEMPTS", 4, 1, 20, whole=True)
    lang_raw = merged.get("PLUMBLINE_LANG", "").strip() or "en"
    lang = parse_lang(lang_raw)
    if lang is None:
        raise ConfigError(f"PLUMBLINE_LANG must be one of {', '.join(SUPPORTED_LANGS)}, got {lang_raw!r}")
    db_raw = merged.get("DATABASE_PATH", "").strip()
    database_path = Path(db_raw).expanduser() if db_raw else Path.cwd() / "plumbline.db"

    return Settings(
        nyfed_base_url=_url(merged, "NYFED_BASE_URL", Settings.nyfed_base_url, ("http", "https")),
        fred_csv_url=_url(merged, "FRED_CSV_URL", Settings.fred_csv_url, ("http", "https")),
        fred_api_url=_url(merged, "FRED_API_URL", Settings.fred_api_url, ("http", "https")),
        fred_api_key=_optional(merged, "FRED_API_KEY"),
        fiscaldata_base_url=_url(
            merged, "FISCALDATA_BASE_URL", Settings.fiscaldata_base_url, ("http", "https")
        ),
        telegram_bot_token=_optional(merged, "TELEGRAM_BOT_TOKEN"),
        telegram_api_base_url=_url(
            merged, "TELEGRAM_API_BASE_URL", Settings.telegram_api_base_url, ("http", "https")
        ),
        telegram_paid_broadcast=_flag(merged, "TELEGRAM_PAID_BROADCAST"),
        discord_bot_token=_optional(merged, "DISCORD_BOT_TOKEN"),
        discord_api_base_url=_url(
            merged, "DISCORD_API_BASE_URL", Settings.discord_api_base_url, ("http", "https")
        ),
        discord_gateway_url=_url(merged, "DISCORD_GATEWAY_URL", Settings.discord_gateway_url, ("ws", "wss")),
        discord_webhook_url=(
            _url(merged, "DISCORD_WEBHOOK_URL", "", ("http", "https"))
            if _optional(merged, "DISCORD_WEBHOOK_URL")
            else None
        ),
        database_path=database_path,
        poll_interval_seconds=None if interval is None else int(interval),
        admin_user_ids=_id_set(merged, "ADMIN_USER_IDS"),
        allowed_chat_ids=_id_set(merged, "ALLOWED_CHAT_IDS"),
        log_level=level,
        http_timeout_seconds=timeout if timeout is not None else 15.0,
        http_retry_attempts=int(attempts) if attempts is not None else 4,
        tight_bp=tight if tight is not None else 5.0,
        web_host=_web_host(merged),
        web_port=_web_port(merged),
        lang=lang,
    )
