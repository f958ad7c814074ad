"""The fraud guard's policy: settings from the environment and per account, and its rules."""

from __future__ import annotations

from typing import Any

import pytest

from quickotp.bootstrap import build_runtime
from quickotp.domain import phone
from quickotp.domain.errors import (
    ConfigurationError,
    CountryNotAllowed,
    InvalidInput,
    MobileBlocked,
)
from quickotp.domain.limits import Bucket, Cooldown, Spike, Window
from quickotp.services.guard import Policy, Subject, policy_from_env, send_rules
from tests.conftest import make_settings

WHO = Subject(account_id=7, token_id=3, ip="192.0.2.1")
NUMBER = phone.normalise("09121234567")


def test_defaults_are_on() -> None:
    """Out of the box: 60 s cooldown, 5/h and 10/day per number, rates, pumping block, Iran."""
    policy = Policy()

    assert (policy.cooldown_seconds, policy.per_number_hour, policy.per_number_day) == (60, 5, 10)
    assert (policy.validity_seconds, policy.attempts, policy.idempotency_seconds) == (120, 5, 10)
    assert (policy.pumping, policy.countries, policy.on_resend) == ("block", ("IR",), "cancel")


def test_environment_overrides() -> None:
    """QUICKOTP_GUARD_<NAME> variables set the global defaults, in any case and digits."""
    env = {
        "QUICKOTP_GUARD_COOLDOWN_SECONDS": "30",
        "QUICKOTP_GUARD_ACCOUNT_RATE": "2.5",
        "QUICKOTP_GUARD_COUNTRIES": "ir, gb",
        "QUICKOTP_GUARD_BLOCKLIST": "+98912000, ۹۸۹۳۵",
        "QUICKOTP_GUARD_TEST_NUMBERS": "989120000000:1234,989120000001:۵۶۷۸",
        "QUICKOTP_GUARD_PUMPING": "ALARM",
        "QUICKOTP_OTHER": "ignored",
    }

    policy = policy_from_env(env, Policy())

    assert policy.cooldown_seconds == 30
    assert policy.account_rate == 2.5
    assert policy.countries == ("IR", "GB")
    assert policy.blocklist == ("98912000", "98935")
    assert policy.test_numbers == (("989120000000", "1234"), ("989120000001", "5678"))
    assert policy.pumping == "alarm"


def test_account_overrides_from_json() -> None:
    """An account's settings are JSON values: lists, numbers, an object of test numbers."""
    policy = Policy().with_overrides(
        {
            "per_number_hour": 0,
            "safelist": ["989121234567"],
            "test_numbers": {"989120000000": "1234"},
        }
    )

    assert policy.per_number_hour == 0
    assert policy.safelist == ("989121234567",)
    assert policy.test_code("989120000000") == "1234"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("no_such_limit", 1),
        ("cooldown_seconds", -1),
        ("cooldown_seconds", "soon"),
        ("cooldown_seconds", True),
        ("cooldown_seconds", 1.5),
        ("cooldown_seconds", 10**12),
        ("countries", ["Iran"]),
        ("attempts", 0),
        ("account_rate", -1),
        ("pumping", "maybe"),
        ("on_resend", "twice"),
        ("blocklist", ["98912x"]),
        ("test_numbers", {"989120000000": "12"}),
        ("test_numbers", "989120000000"),
    ],
)
def test_bad_values_are_refused(name: str, value: Any) -> None:
    """Every unusable setting is InvalidInput, naming it."""
    with pytest.raises(InvalidInput, match=name if name != "no_such_limit" else "unknown"):
        Policy().with_overrides({name: value})


def test_a_bad_global_setting_stops_the_start(tmp_path: Any) -> None:
    """A bad QUICKOTP_GUARD_* variable is a ConfigurationError at start, not at the first send."""
    settings = make_settings(f"sqlite:///{tmp_path}/q.db", QUICKOTP_GUARD_PUMPING="sometimes")

    with pytest.raises(ConfigurationError, match="QUICKOTP_GUARD_"):
        build_runtime(settings, dispatch=False)


def test_send_rules_by_default() -> None:
    """A send passes request buckets, the number's cooldown and caps, and two pumping spikes."""
    rules = [rule for rule, _ in send_rules(Policy(), WHO, NUMBER, "n")]

    assert [type(rule) for rule in rules] == [
        Bucket,
        Bucket,
        Bucket,
        Cooldown,
        Window,
        Window,
        Spike,
        Spike,
    ]
    assert {rule.key for rule in rules if isinstance(rule, Spike)} == {
        "sp:7:p:989121",
        "sp:7:c:IR",
    }


def test_switched_off_rules_are_left_out() -> None:
    """Zero switches a rule off; pumping "off" drops the spikes."""
    policy = Policy(
        cooldown_seconds=0, per_number_hour=0, per_number_day=0, ip_rate=0, pumping="off"
    )

    rules = [rule for rule, _ in send_rules(policy, WHO, NUMBER, "n")]

    assert [rule.key for rule in rules] == ["ab:7", "tb:3"]


def test_blocklist_and_country_refuse_without_counting() -> None:
    """A blocked prefix or another country is refused before anything is counted."""
    with pytest.raises(MobileBlocked):
        send_rules(Policy(blocklist=("98912",)), WHO, NUMBER, "n")
    with pytest.raises(CountryNotAllowed):
        send_rules(Policy(countries=("GB",)), WHO, NUMBER, "n")


def test_safe_and_test_numbers_skip_the_per_number_rules() -> None:
    """Safe-listed and test numbers pass only the request buckets (and any country)."""
    safe = Policy(safelist=(NUMBER.e164,), countries=("GB",))
    test = Policy(test_numbers=((NUMBER.e164, "1234"),))

    for policy in (safe, test):
        rules = [rule for rule, _ in send_rules(policy, WHO, NUMBER, "n")]
        assert all(isinstance(rule, Bucket) for rule in rules)
