"""
The fraud guard: per-account policy (global defaults from settings, overrides stored per
account), the rules a request must pass, and turning the Limiter's answers into our errors.

I/O only through the Store and Limiter ports; `send_rules` and `Policy` are pure.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge

from quickotp.domain import keys
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    AccountRateLimited,
    CountryNotAllowed,
    GuardRefused,
    InvalidInput,
    IpRateLimited,
    LimitsUnavailable,
    MobileBlocked,
    MobileCooldown,
    MobileLimitReached,
    PumpingSuspected,
    TokenRateLimited,
)
from quickotp.domain.errors import (
    Subject as Field,
)
from quickotp.domain.limits import (
    Admitted,
    Bucket,
    Claim,
    Cooldown,
    Refused,
    Repeated,
    Rule,
    Spike,
    Window,
)
from quickotp.domain.phone import Mobile
from quickotp.ports.limits import Limiter
from quickotp.ports.store import PolicyStore
from quickotp.services.cache import TtlCache

log = logging.getLogger(__name__)

REFUSALS = Counter(
    "quickotp_guard_refusals", "Requests the fraud guard refused, by reason", ["reason"]
)
PUMPING_ALARMS = Counter(
    "quickotp_pumping_alarms",
    "Sends over an account's normal rate to a prefix or country",
    ["kind"],
)
VALIDITY = Gauge(
    "quickotp_otp_validity_seconds",
    "How long a code works, for accounts without a validity of their own",
)
BACKEND_FAILURES = Counter(
    "quickotp_limits_backend_failures",
    "Requests that met an unreachable limits backend, by the direction failed",
    ["direction"],
)

_POLICY_CACHE_SIZE = 10_000
_OUTAGE_LOG_EVERY = 10.0  # seconds between log lines about one outage


@dataclass(frozen=True)
class Policy:
    """
    What the guard allows one account. Every field can be set globally (QUICKOTP_GUARD_<NAME>)
    and per account (`Admin.set_limits`); 0 switches a count or rate off.
    """

    validity_seconds: int = 120  # how long a code works
    attempts: int = 5  # wrong codes a verification survives
    on_resend: str = "cancel"  # a new send to the number: "cancel" the pending one or "same_code"
    idempotency_seconds: int = 10  # /rest: a repeat of (token, mobile, code) inside this is free
    cooldown_seconds: int = 60  # per number
    per_number_hour: int = 5
    per_number_day: int = 10
    account_rate: float = 50.0  # requests per second (token bucket), with its burst
    account_burst: int = 200
    token_rate: float = 50.0
    token_burst: int = 200
    ip_rate: float = 50.0
    ip_burst: int = 200
    countries: tuple[str, ...] = ("IR",)  # ISO 3166 codes
    blocklist: tuple[str, ...] = ()  # E.164 digits: whole numbers or prefixes
    safelist: tuple[str, ...] = ()  # numbers spared the per-number, pumping and country rules
    test_numbers: tuple[tuple[str, str], ...] = ()  # (number, fixed code): never sent
    pumping: str = "block"  # "block", "alarm" (log and count only) or "off"
    pumping_factor: float = 10.0  # x the account's average hour over the day before
    pumping_prefix_digits: int = 6  # a number range: this many leading E.164 digits
    pumping_prefix_min: int = 50  # sends per hour to one range never refused below this
    pumping_country_min: int = 500

    def test_code(self, e164: str) -> str | None:
        return self._test_codes.get(e164)

    @functools.cached_property
    def _test_codes(self) -> dict[str, str]:
        return dict(self.test_numbers)

    def blocked(self, e164: str) -> bool:
        return any(e164.startswith(entry) for entry in self.blocklist)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Policy:
        """This policy with `overrides` applied; InvalidInput names the first bad one."""
        changes = {name: _parse(name, value) for name, value in overrides.items()}
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(Policy)}
_MAX = 10**9  # any count, rate or length of time beyond this is a typing error
_CHOICES = {"on_resend": ("cancel", "same_code"), "pumping": ("block", "alarm", "off")}


def _parse(name: str, value: Any) -> Any:
    """One setting, from JSON or an environment string, checked."""
    if name not in _FIELDS:
        raise InvalidInput(
            f"unknown limit {name!r}: one of {', '.join(_FIELDS)}",
            subject=Field.LIMIT_NAME,
            name=name,
        )
    kind = _FIELDS[name].type
    try:
        if kind == "int":
            number = int(value)
            if not 0 <= number < _MAX or isinstance(value, bool | float):
                raise ValueError
            if name in {"validity_seconds", "attempts", "pumping_prefix_digits"} and number < 1:
                raise ValueError
            return number
        if kind == "float":
            real = float(value)
            if not 0 <= real < _MAX or isinstance(value, bool):
                raise ValueError
            return real
        if kind == "str":
            text = str(value).strip().lower()
            if text not in _CHOICES[name]:
                raise ValueError
            return text
        if name == "test_numbers":
            pairs = value.items() if isinstance(value, Mapping) else _pairs(value)
            return tuple(sorted((_digits(k), _code(c)) for k, c in pairs))
        items = value.split(",") if isinstance(value, str) else list(value)
        if name == "countries":
            codes = tuple(str(c).strip().upper() for c in items if str(c).strip())
            if not all(len(c) == 2 and c.isascii() and c.isalpha() for c in codes):
                raise ValueError
            return codes
        return tuple(_digits(item) for item in items if str(item).strip())
    except (TypeError, ValueError, AttributeError):
        raise InvalidInput(
            f"{value!r} is not a valid value for {name}", subject=Field.LIMIT_VALUE, name=name
        ) from None


def _pairs(value: str) -> list[tuple[str, str]]:
    """ "989120000000:1234,..." as (number, code) pairs."""
    pairs = []
    for entry in value.split(","):
        if entry.strip():
            number, _, code = entry.partition(":")
            pairs.append((number, code))
    return pairs


def _digits(value: Any) -> str:
    text = ascii_digits(str(value)).strip().lstrip("+")
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise ValueError
    return text


def _code(value: Any) -> str:
    text = ascii_digits(str(value)).strip()
    if not text.isascii() or not text.isdigit() or not 4 <= len(text) <= 8:
        raise ValueError
    return text


def policy_from_env(env: Mapping[str, str], base: Policy) -> Policy:
    """`base` with every QUICKOTP_GUARD_<NAME> variable of `env` applied."""
    prefix = "QUICKOTP_GUARD_"
    overrides = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    return base.with_overrides(overrides)


# the rules ------------------------------------------------------------------------------

Checked = tuple[Rule, type[GuardRefused]]


@dataclass(frozen=True)
class Subject:
    """Who is asking: the limits are counted per account, token and client address."""

    account_id: int
    token_id: int
    ip: str | None


def request_rules(policy: Policy, who: Subject) -> list[Checked]:
    """The request-rate buckets every guarded request passes."""
    rules: list[Checked] = []
    if policy.account_rate and policy.account_burst:
        rules.append(
            (
                Bucket(f"ab:{who.account_id}", policy.account_rate, policy.account_burst),
                AccountRateLimited,
            )
        )
    if policy.token_rate and policy.token_burst:
        rules.append(
            (Bucket(f"tb:{who.token_id}", policy.token_rate, policy.token_burst), TokenRateLimited)
        )
    if who.ip and policy.ip_rate and policy.ip_burst:
        rules.append((Bucket(f"ib:{who.ip}", policy.ip_rate, policy.ip_burst), IpRateLimited))
    return rules


def send_rules(policy: Policy, who: Subject, number: Mobile, number_key: str) -> list[Checked]:
    """
    The rules a send to `number` must pass; raises MobileBlocked or CountryNotAllowed when no
    counting is needed to refuse. `number_key` stands for the number in the backend's keys.
    """
    e164 = number.e164
    if policy.blocked(e164):
        raise MobileBlocked(f"...{number.last4} is on the blocklist")
    spared = e164 in policy.safelist or policy.test_code(e164) is not None
    if not spared and number.region not in policy.countries:
        raise CountryNotAllowed(f"sending to {number.region} is not allowed for this account")
    rules = request_rules(policy, who)
    if spared:
        return rules
    account = who.account_id
    if policy.cooldown_seconds:
        rules.append(
            (Cooldown(f"cd:{account}:{number_key}", policy.cooldown_seconds), MobileCooldown)
        )
    if policy.per_number_hour:
        rules.append(
            (Window(f"nh:{account}:{number_key}", policy.per_number_hour, 3600), MobileLimitReached)
        )
    if policy.per_number_day:
        rules.append(
            (Window(f"nd:{account}:{number_key}", policy.per_number_day, 86400), MobileLimitReached)
        )
    if policy.pumping != "off":
        block = policy.pumping == "block"
        prefix = e164[: policy.pumping_prefix_digits]
        rules.append(
            (
                Spike(
                    f"sp:{account}:p:{prefix}",
                    policy.pumping_prefix_min,
                    policy.pumping_factor,
                    block=block,
                ),
                PumpingSuspected,
            )
        )
        rules.append(
            (
                Spike(
                    f"sp:{account}:c:{number.region}",
                    policy.pumping_country_min,
                    policy.pumping_factor,
                    block=block,
                ),
                PumpingSuspected,
            )
        )
    return rules


# the guard ------------------------------------------------------------------------------


@dataclass
class Guard:
    """Applies an account's policy through a Limiter; fails closed unless told to fail open."""

    store: PolicyStore
    limiter: Limiter
    defaults: Policy
    key: bytes  # hides numbers in the backend's keys
    clock: Callable[[], datetime]
    fail_open: bool = False
    cache_seconds: float = 2.0
    _outage_logged: float = field(default=float("-inf"), repr=False)

    def __post_init__(self) -> None:
        VALIDITY.set(self.defaults.validity_seconds)
        self._policies: TtlCache[int, Policy] = TtlCache(
            self.cache_seconds, max_size=_POLICY_CACHE_SIZE
        )

    async def policy(self, account_id: int) -> Policy:
        """The account's policy: the defaults with its own settings applied (cached briefly)."""

        async def load() -> Policy:
            own = await self.store.get_account_settings(account_id)
            try:
                return self.defaults.with_overrides(own)
            except InvalidInput:
                log.exception("account %d has unusable limits; using the defaults", account_id)
                return self.defaults

        return await self._policies.get(account_id, load)

    def forget(self, account_id: int | None = None) -> None:
        self._policies.forget(account_id)

    def number_key(self, e164: str) -> str:
        """A number as it appears in the backend: a keyed hash, so Redis holds no numbers."""
        return keys.hmac_sha256(self.key, e164.encode())[:12].hex()

    async def admit(
        self, rules: Sequence[Checked], claim: Claim | None = None
    ) -> Admitted | Repeated:
        """
        Count the request against `rules` (and set `claim`): Admitted, or Repeated when the
        claim is held. Raises the refusing rule's GuardRefused, or LimitsUnavailable when the
        backend is down and the guard fails closed.
        """
        now = self.clock().timestamp()
        try:
            admission = await self.limiter.admit([rule for rule, _ in rules], now, claim)
        except LimitsUnavailable as exc:
            direction = "open" if self.fail_open else "closed"
            BACKEND_FAILURES.labels(direction).inc()
            if time.monotonic() - self._outage_logged > _OUTAGE_LOG_EVERY:
                self._outage_logged = time.monotonic()
                log.error(
                    "limits backend unavailable, failing %s (%s): %s",
                    direction.upper(),
                    "requests pass unlimited and without idempotency"
                    if self.fail_open
                    else "guarded requests are refused",
                    exc,
                )
            if self.fail_open:
                return Admitted()
            REFUSALS.labels("LimitsUnavailable").inc()
            raise
        if isinstance(admission, Refused):
            rule, error = rules[admission.rule]
            if isinstance(rule, Spike):
                _pumping_alarm(rule, blocked=True)
            REFUSALS.labels(error.__name__).inc()
            raise error(f"refused by {type(rule).__name__.lower()} rule", admission.retry_after)
        if isinstance(admission, Admitted):
            for index in admission.alarms:
                _pumping_alarm(rules[index][0], blocked=False)
        return admission

    def send_rules(self, policy: Policy, who: Subject, number: Mobile) -> list[Checked]:
        """`send_rules` for this guard's keys; refusals decided here are counted too."""
        try:
            return send_rules(policy, who, number, self.number_key(number.e164))
        except GuardRefused as exc:
            REFUSALS.labels(type(exc).__name__).inc()
            raise

    async def release(self, key: str) -> None:
        """Drop a claim whose request failed; an unreachable backend only costs a log line."""
        try:
            await self.limiter.release(key)
        except LimitsUnavailable as exc:
            log.warning("could not release an idempotency claim: %s", exc)


def _pumping_alarm(rule: Rule, *, blocked: bool) -> None:
    kind = "prefix" if ":p:" in rule.key else "country"
    account, value = rule.key.split(":")[1], rule.key.rsplit(":", 1)[-1]
    PUMPING_ALARMS.labels(kind).inc()
    log.warning(
        "pumping alarm: account %s, %s %s far above its normal rate%s",
        account,
        kind,
        value,
        "; sends refused until the hour turns" if blocked else " (alarm only)",
    )
