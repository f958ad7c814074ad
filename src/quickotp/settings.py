"""
Settings, read once from a mapping (the environment in production, a dict in tests).

Every variable starts with QUICKOTP_; docs/operations.md lists each with its default and
meaning (tests/test_docs.py holds it to the names read here). Outside dev mode the
gateway refuses to start without a real secret key. The panel's sign-in reads two:

- QUICKOTP_OPEN_SIGNUP (1 or 0; on in dev mode, else off): anyone may make an account
  on the panel's sign-up page; off, people come in only by an operator's invitation.
- QUICKOTP_SESSION_HOURS (12; 1 to 720): how long a panel sign-in lasts before the
  user signs in again.

And dev mode one more: QUICKOTP_DEV_KEY_FILE (`quickotp-dev.key` in the working directory)
is where dev mode keeps the secret key it makes when QUICKOTP_SECRET_KEY is not set.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from quickotp.domain.errors import ConfigurationError
from quickotp.domain.lines import SharedLines
from quickotp.domain.urls import url_problem

DEV_KEY_FILE = "quickotp-dev.key"
MIN_SECRET_LENGTH = 32


class Secret:
    """A value that never prints itself (after Starlette's config.Secret)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


@dataclass(frozen=True)
class Settings:
    dev: bool
    secret_key: Secret
    database_url: str
    redis_url: str | None
    limits_fail_open: bool  # the limits backend down: let requests through (default: refuse)
    guard: Mapping[str, str]  # QUICKOTP_GUARD_<NAME> variables, checked by guard.policy_from_env
    sqlite_synchronous: str
    otp_ttl: timedelta
    verify_attempts: int
    price_per_part: int  # rial
    regions: tuple[str, ...]
    data_as_array: bool  # SendQuickOTP's Data as a one-element array instead of an object
    sink_file: str | None
    token_cache: timedelta
    # QUICKOTP_OPEN_SIGNUP: anyone may make an account on the panel; off: by invitation only.
    open_signup: bool
    session_lifetime: timedelta  # QUICKOTP_SESSION_HOURS: how long a panel sign-in lasts
    dispatch: bool  # run the dispatcher inside `serve`
    dispatch_concurrency: int
    dispatch_lease: timedelta  # a dispatcher that dies leaves its claims for this long
    route_failures: int = 5  # transient failures in a row that take a route out
    webhook_private_urls: bool = False  # delivery reports may go to private addresses
    route_cool_down: timedelta = timedelta(seconds=30)  # how long it stays out before a probe
    dispatch_batch: int = 100  # most messages one dispatcher claims and holds at once
    # Record transactions (outcomes, reports) one dispatcher runs at once on PostgreSQL
    # (SQLite: always 1, its one writer); see services/dispatcher.py.
    dispatch_record_flights: int = 4
    # Refuse a send when its route's estimated wait passes this share of the code's validity
    # (percent; 0 switches admission control off): see services/admission.py.
    admission_wait_percent: int = 50
    # Connections (and requests) one API process serves at once; past it uvicorn answers 503
    # at once. Each request in flight holds a little memory (its group-commit slot, its
    # single-flight entry), so this is what bounds them.
    max_connections: int = 4096
    # The names clients send for shared lines (public, service, 98) and the lines they stand
    # for; unset, each stands for the caller's own default line.
    shared_lines: SharedLines = field(default_factory=SharedLines)
    # How long a message without a code (free text, a plain pattern) may wait for an upstream.
    message_ttl: timedelta = timedelta(hours=24)
    # Addresses (or networks) of the proxies whose X-Forwarded-For and X-Forwarded-Proto are
    # believed; none by default, so a client's address is always its connection's peer.
    forwarded_allow_ips: tuple[str, ...] = ()
    # Where Prometheus reads /metrics: (host, port), or None for nowhere but the API's port.
    metrics_address: tuple[str, int] | None = ("127.0.0.1", 9108)
    # A bearer token /metrics asks for; with it, /metrics is served on the API's port too.
    metrics_token: Secret | None = None
    # A connection's request line and headers arrive within this, or it gets 408 and is
    # closed; a request body may pause this long between chunks (web/connections.py).
    header_timeout: timedelta = timedelta(seconds=10)
    body_timeout: timedelta = timedelta(seconds=10)
    max_connections_per_address: int = 256  # open at once from one address, per process; 0: off
    max_pending_patterns: int = 20  # an account's patterns awaiting approval
    patterns_per_hour: int = 20  # patterns an account may submit in an hour
    # Finished messages older than this many days are pruned once an hour by `serve` and
    # `dispatch` (0: never by themselves; `quickotp prune` still works).
    retention_days: int = 90
    # OTEL_EXPORTER_OTLP_ENDPOINT is set: spans of accepts, sends and reports go there
    # (support/tracing.py; the OpenTelemetry exporter reads it and its neighbours itself).
    tracing: bool = False
    # Where clients reach the gateway (https://sms.example.com), for the panel's quick-start
    # snippets; unset, the panel writes the address each page was asked at.
    public_url: str | None = None
    # Where route alarms are posted (None: the log and the panel only), by the same rule as
    # delivery-report URLs, and the secret that signs them (None: unsigned).
    route_alarm_url: str | None = None
    route_alarm_secret: Secret | None = None
    webhook_attempts: int = 10  # POSTs of one delivery report before it is given up

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, dev: bool | None = None) -> Settings:
        """Settings from QUICKOTP_* variables; ConfigurationError names what is wrong."""
        dev = _flag(env, "QUICKOTP_DEV") if dev is None else dev
        return cls(
            dev=dev,
            secret_key=_secret_key(env, dev=dev),
            database_url=env.get("QUICKOTP_DATABASE_URL", "sqlite:///quickotp.db"),
            redis_url=env.get("QUICKOTP_REDIS_URL") or None,
            limits_fail_open=_choice(env, "QUICKOTP_LIMITS_FAIL", ("closed", "open")) == "open",
            guard={k: v for k, v in env.items() if k.startswith("QUICKOTP_GUARD_")},
            sqlite_synchronous=env.get("QUICKOTP_SQLITE_SYNCHRONOUS", "FULL"),
            otp_ttl=timedelta(seconds=_int(env, "QUICKOTP_OTP_TTL_SECONDS", 120, low=10)),
            verify_attempts=_int(env, "QUICKOTP_VERIFY_ATTEMPTS", 5, low=1),
            price_per_part=_int(env, "QUICKOTP_PRICE_PER_PART", 1000, low=0),
            regions=tuple(env.get("QUICKOTP_ALLOWED_REGIONS", "IR").upper().split(",")),
            data_as_array=_choice(env, "QUICKOTP_OTP_DATA_FORM", ("object", "array")) == "array",
            sink_file=env.get("QUICKOTP_SINK_FILE") or None,
            open_signup=_flag(env, "QUICKOTP_OPEN_SIGNUP")
            if "QUICKOTP_OPEN_SIGNUP" in env
            else dev,
            session_lifetime=timedelta(
                hours=_int(env, "QUICKOTP_SESSION_HOURS", 12, low=1, high=24 * 30)
            ),
            token_cache=timedelta(
                seconds=_int(env, "QUICKOTP_TOKEN_CACHE_SECONDS", 2, low=0, high=60)
            ),
            dispatch=not _flag(env, "QUICKOTP_NO_DISPATCH"),
            dispatch_concurrency=_int(env, "QUICKOTP_DISPATCH_CONCURRENCY", 10, low=1),
            dispatch_lease=timedelta(
                seconds=_int(env, "QUICKOTP_DISPATCH_LEASE_SECONDS", 30, low=1)
            ),
            route_failures=_int(env, "QUICKOTP_ROUTE_FAILURES", 5, low=1, high=1000),
            webhook_private_urls=_flag(env, "QUICKOTP_WEBHOOK_PRIVATE_URLS")
            if "QUICKOTP_WEBHOOK_PRIVATE_URLS" in env
            else dev,
            route_cool_down=timedelta(
                seconds=_int(env, "QUICKOTP_ROUTE_COOL_DOWN_SECONDS", 30, low=1, high=3600)
            ),
            dispatch_batch=_int(env, "QUICKOTP_DISPATCH_BATCH", 100, low=1, high=10_000),
            dispatch_record_flights=_int(
                env, "QUICKOTP_DISPATCH_RECORD_FLIGHTS", 4, low=1, high=16
            ),
            admission_wait_percent=_int(
                env, "QUICKOTP_ADMISSION_WAIT_PERCENT", 50, low=0, high=100
            ),
            max_connections=_int(env, "QUICKOTP_MAX_CONNECTIONS", 4096, low=16, high=1_000_000),
            shared_lines=SharedLines.parse(env.get("QUICKOTP_SHARED_LINES", "")),
            message_ttl=timedelta(
                seconds=_int(env, "QUICKOTP_MESSAGE_TTL_SECONDS", 86_400, low=60, high=7 * 86_400)
            ),
            forwarded_allow_ips=_networks(env, "QUICKOTP_FORWARDED_ALLOW_IPS"),
            metrics_address=_address(env, "QUICKOTP_METRICS_ADDRESS", "127.0.0.1:9108"),
            metrics_token=_token(env, "QUICKOTP_METRICS_TOKEN"),
            header_timeout=timedelta(
                seconds=_int(env, "QUICKOTP_HEADER_TIMEOUT_SECONDS", 10, low=1, high=300)
            ),
            body_timeout=timedelta(
                seconds=_int(env, "QUICKOTP_BODY_TIMEOUT_SECONDS", 10, low=1, high=300)
            ),
            max_connections_per_address=_int(
                env, "QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS", 256, low=0, high=1_000_000
            ),
            max_pending_patterns=_int(env, "QUICKOTP_MAX_PENDING_PATTERNS", 20, low=1, high=10_000),
            patterns_per_hour=_int(env, "QUICKOTP_PATTERNS_PER_HOUR", 20, low=1, high=100_000),
            retention_days=_int(env, "QUICKOTP_RETENTION_DAYS", 90, low=0, high=36_500),
            tracing=bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()),
            public_url=_public_url(env, "QUICKOTP_PUBLIC_URL"),
            route_alarm_url=_report_url(env, "QUICKOTP_ROUTE_ALARM_URL"),
            route_alarm_secret=_token(env, "QUICKOTP_ROUTE_ALARM_SECRET"),
            webhook_attempts=_int(env, "QUICKOTP_WEBHOOK_ATTEMPTS", 10, low=1, high=50),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return False
    if value in {"1", "true", "yes", "on"}:
        return True
    raise ConfigurationError(f"{name} must be 1 or 0, not {value!r}")


def _int(
    env: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise ConfigurationError(f"{name} must be from {low} to {high or 'any'}, not {value}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, choices[0]).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses and networks (`*`: any address), checked."""
    found = tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())
    for item in found:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"{name} holds {item!r}, which is not an IP address or network"
            ) from None
    return found


def _address(env: Mapping[str, str], name: str, default: str) -> tuple[str, int] | None:
    """`HOST:PORT` (an IPv6 host in brackets) as (host, port); empty: None."""
    raw = env.get(name, default).strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    try:
        ipaddress.ip_address(host)
        number = int(port) if bracketed or ":" not in host else 0  # IPv6 goes in brackets
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise ConfigurationError(
            f"{name} must be an IP address and a port, as 127.0.0.1:9108, not {raw!r}"
        )
    return host, number


def _report_url(env: Mapping[str, str], name: str) -> str | None:
    """A URL the gateway posts to, by delivery-report URLs' rule (domain/urls.py); empty: None."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if (problem := url_problem(raw)) is not None:
        raise ConfigurationError(f"{name} cannot be posted to: {problem}")
    return raw


MIN_TOKEN_LENGTH = 16


def _token(env: Mapping[str, str], name: str) -> Secret | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if len(raw) < MIN_TOKEN_LENGTH or not raw.isprintable() or " " in raw:
        raise ConfigurationError(
            f"{name} must be at least {MIN_TOKEN_LENGTH} characters, without spaces"
        )
    return Secret(raw)


def _secret_key(env: Mapping[str, str], *, dev: bool) -> Secret:
    """
    QUICKOTP_SECRET_KEY; in dev mode without one, the key kept in QUICKOTP_DEV_KEY_FILE
    (made there on first use).
    """
    key = env.get("QUICKOTP_SECRET_KEY", "")
    if key:
        if len(key) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"QUICKOTP_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters"
            )
        return Secret(key)
    if not dev:
        raise ConfigurationError(
            "QUICKOTP_SECRET_KEY is required outside dev mode "
            "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return Secret(_dev_key(Path(env.get("QUICKOTP_DEV_KEY_FILE", DEV_KEY_FILE))))


def _dev_key(path: Path) -> str:
    """Dev mode's key, made once and kept beside the database so tokens survive restarts."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Made readable by its owner alone, in one step: never a moment with the key in a file
    # another user can read.
    try:
        made = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process made it just now
        return path.read_text().strip()
    with os.fdopen(made, "w") as file:
        file.write(key + "\n")
    return key


def _public_url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL with a host and no query, without its trailing slash; None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must be an http(s) URL such as https://sms.example.com")
    return raw.rstrip("/")
