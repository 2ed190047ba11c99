from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.config import ConfigError, load_settings


def test_defaults_match_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({}, env_file=None)
    assert s.nyfed_base_url == "https://markets.newyorkfed.org"
    assert s.fred_csv_url == "https://fred.stlouisfed.org/graph/fredgraph.csv"
    assert s.fred_api_url == "https://api.stlouisfed.org/fred"
    assert s.fiscaldata_base_url == "https://api.fiscaldata.treasury.gov/services/api/fiscal_service"
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.discord_api_base_url == "https://discord.com/api/v10"
    assert s.discord_gateway_url == "wss://gateway.discord.gg"
    assert s.database_path == tmp_path / "plumbline.db"
    assert s.poll_interval_seconds is None and s.log_level == "INFO"
    assert s.telegram_bot_token is None and s.fred_api_key is None


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("NYFED_BASE_URL=http://127.0.0.1:9/\nLOG_LEVEL=debug\nADMIN_USER_IDS=1, 2\n")
    s = load_settings({"LOG_LEVEL": "WARNING"}, env_file=env)
    assert s.nyfed_base_url == "http://127.0.0.1:9"
    assert s.log_level == "WARNING"
    assert s.admin_user_ids == frozenset({1, 2})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NYFED_BASE_URL", "markets.newyorkfed.org", "NYFED_BASE_URL must be a http or https URL"),
        ("DISCORD_GATEWAY_URL", "https://gateway", "DISCORD_GATEWAY_URL must be a ws or wss URL"),
        ("POLL_INTERVAL_SECONDS", "soon", "POLL_INTERVAL_SECONDS must be a whole number"),
        ("POLL_INTERVAL_SECONDS", "-5", "POLL_INTERVAL_SECONDS must be a whole number from 1 to 86400"),
        ("POLL_INTERVAL_SECONDS", "inf", "POLL_INTERVAL_SECONDS must be a whole number from 1 to 86400"),
        ("POLL_INTERVAL_SECONDS", "nan", "POLL_INTERVAL_SECONDS must be a whole number from 1 to 86400"),
        ("POLL_INTERVAL_SECONDS", "1e30", "POLL_INTERVAL_SECONDS must be a whole number from 1 to 86400"),
        ("POLL_INTERVAL_SECONDS", "0.5", "POLL_INTERVAL_SECONDS must be a whole number"),
        ("HTTP_RETRY_ATTEMPTS", "inf", "HTTP_RETRY_ATTEMPTS must be a whole number from 1 to 20"),
        ("HTTP_RETRY_ATTEMPTS", "nan", "HTTP_RETRY_ATTEMPTS must be a whole number from 1 to 20"),
        ("HTTP_RETRY_ATTEMPTS", "0.5", "HTTP_RETRY_ATTEMPTS must be a whole number from 1 to 20"),
        ("HTTP_RETRY_ATTEMPTS", "0", "HTTP_RETRY_ATTEMPTS must be a whole number from 1 to 20"),
        ("HTTP_TIMEOUT_SECONDS", "nan", "HTTP_TIMEOUT_SECONDS must be a number from 0.1 to 300"),
        ("HTTP_TIMEOUT_SECONDS", "inf", "HTTP_TIMEOUT_SECONDS must be a number from 0.1 to 300"),
        ("CORRIDOR_TIGHT_BP", "nan", "CORRIDOR_TIGHT_BP must be a number from 0.1 to 100"),
        ("CORRIDOR_TIGHT_BP", "-inf", "CORRIDOR_TIGHT_BP must be a number from 0.1 to 100"),
        ("ADMIN_USER_IDS", "alice", "ADMIN_USER_IDS must be a comma-separated list"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
        ("TELEGRAM_PAID_BROADCAST", "maybe", "TELEGRAM_PAID_BROADCAST must be 1 or 0"),
    ],
)
def test_bad_values_get_clear_messages(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({name: value}, env_file=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", False), ("0", False), ("false", False), ("1", True), ("true", True), (" YES ", True)],
)
def test_paid_broadcast_flag(raw: str, expected: bool) -> None:
    assert load_settings({"TELEGRAM_PAID_BROADCAST": raw}, env_file=None).telegram_paid_broadcast is expected


def test_secrets_are_redacted() -> None:
    s = load_settings(
        {"TELEGRAM_BOT_TOKEN": "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678", "FRED_API_KEY": "abcd" * 8},
        env_file=None,
    )
    shown = s.redacted()
    assert shown["telegram_bot_token"] == "(set)" and shown["fred_api_key"] == "(set)"
    assert shown["discord_bot_token"] == "(unset)"
    assert "123456:ABC" not in repr(shown)
    assert set(s.secrets()) == {"123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678", "abcd" * 8}


def test_numbers_in_range_are_kept() -> None:
    s = load_settings(
        {"POLL_INTERVAL_SECONDS": "60", "HTTP_RETRY_ATTEMPTS": "3", "HTTP_TIMEOUT_SECONDS": "2.5"},
        env_file=None,
    )
    assert (s.poll_interval_seconds, s.http_retry_attempts, s.http_timeout_seconds) == (60, 3, 2.5)


def test_env_example_lists_every_numeric_setting() -> None:
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    for name in ("POLL_INTERVAL_SECONDS", "HTTP_TIMEOUT_SECONDS", "HTTP_RETRY_ATTEMPTS", "CORRIDOR_TIGHT_BP"):
        assert f"# {name}=" in example
