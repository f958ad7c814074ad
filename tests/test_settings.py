"""Settings: read once from a mapping, secrets refused outside dev mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from quickotp.domain.errors import ConfigurationError
from quickotp.settings import Settings

KEY = "k" * 40


def test_production_refuses_to_start_without_a_secret_key() -> None:
    """Outside dev mode there is no default secret."""
    with pytest.raises(ConfigurationError, match="QUICKOTP_SECRET_KEY"):
        Settings.from_env({})


def test_a_short_secret_key_is_refused() -> None:
    """A key too short to be a real secret is refused."""
    with pytest.raises(ConfigurationError, match="at least 32"):
        Settings.from_env({"QUICKOTP_SECRET_KEY": "short"})


def test_dev_mode_makes_and_keeps_its_own_key(tmp_path: Path) -> None:
    """Dev mode generates a key once, private to its owner, and reuses it."""
    env = {"QUICKOTP_DEV": "1", "QUICKOTP_DEV_KEY_FILE": str(tmp_path / "dev.key")}

    first = Settings.from_env(env)
    second = Settings.from_env(env)

    assert first.secret_key.reveal() == second.secret_key.reveal()
    assert len(first.secret_key.reveal()) >= 32
    assert (tmp_path / "dev.key").stat().st_mode & 0o077 == 0


def test_the_secret_never_prints_itself() -> None:
    """repr, str and f-strings of settings show no secret."""
    settings = Settings.from_env({"QUICKOTP_SECRET_KEY": KEY})

    assert KEY not in repr(settings)
    assert KEY not in f"{settings.secret_key}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUICKOTP_OTP_TTL_SECONDS", "soon"),
        ("QUICKOTP_OTP_TTL_SECONDS", "1"),
        ("QUICKOTP_OTP_DATA_FORM", "list"),
        ("QUICKOTP_DEV", "maybe"),
        ("QUICKOTP_TOKEN_CACHE_SECONDS", "3600"),
        ("QUICKOTP_HEADER_TIMEOUT_SECONDS", "0"),
        ("QUICKOTP_BODY_TIMEOUT_SECONDS", "forever"),
        ("QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS", "-1"),
        ("QUICKOTP_MAX_PENDING_PATTERNS", "0"),
        ("QUICKOTP_PATTERNS_PER_HOUR", "0"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    """A bad value is refused with the variable's name in the message."""
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({"QUICKOTP_SECRET_KEY": KEY, name: value})


def test_defaults_are_the_self_hosting_defaults() -> None:
    """SQLite file, no Redis, 2-minute codes, Iran only, Data as an object."""
    settings = Settings.from_env({"QUICKOTP_SECRET_KEY": KEY})

    assert settings.database_url == "sqlite:///quickotp.db"
    assert settings.redis_url is None
    assert settings.otp_ttl.total_seconds() == 120
    assert settings.regions == ("IR",)
    assert settings.data_as_array is False


def test_the_limits_on_clients_have_their_documented_defaults() -> None:
    """Ten-second head and body deadlines, 256 connections an address, 20 patterns."""
    settings = Settings.from_env({"QUICKOTP_SECRET_KEY": KEY})

    assert settings.header_timeout.total_seconds() == 10
    assert settings.body_timeout.total_seconds() == 10
    assert settings.max_connections_per_address == 256
    assert (settings.max_pending_patterns, settings.patterns_per_hour) == (20, 20)
