"""What messaging.py reads from a request: pattern values, shared lines, a code in free text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickotp.domain import sms
from quickotp.domain.errors import ConfigurationError, PatternValueEmpty, PatternValuesInvalid
from quickotp.domain.lines import SharedLines
from quickotp.domain.models import Pattern, PatternState
from quickotp.services.messaging import pattern_values

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pattern(text: str, *, numbers: tuple[str, ...] = (), otp: bool = False) -> Pattern:
    return Pattern(1, 1, text, otp, numbers, PatternState.APPROVED, "", "", NOW, NOW)


TWO = pattern("hello %name%, order %order%", numbers=("order",))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("Anna,42", ["Anna", "42"]),  # comma-joined, as the vendor's samples send them
        (" Anna , 42 ", ["Anna", "42"]),  # trimmed
        ('["Smith, Anna", "42"]', ["Smith, Anna", "42"]),  # a JSON array's text
        ('["Anna", 42]', ["Anna", "42"]),
        (["Smith, Anna", "42"], ["Smith, Anna", "42"]),  # repeated parameters, as they are
        ("Anna,۴۲", ["Anna", "۴۲"]),  # Persian digits count as digits
    ],
)
def test_values_in_every_form(values: str | list[str], expected: list[str]) -> None:
    """A list as it is, a JSON array, or a comma-separated string, in the variables' order."""
    assert pattern_values(TWO, values) == expected


def test_one_variable_takes_the_whole_string() -> None:
    """A pattern with one variable is not split at commas."""
    assert pattern_values(pattern("note: %text%"), "one, two") == ["one, two"]


def test_a_variable_used_twice_takes_one_value() -> None:
    """Values follow the variables in the order they first appear."""
    twice = pattern("%a% and %b% and %a%")

    assert pattern_values(twice, "x,y") == ["x", "y"]
    assert sms.render(twice.text, {"a": "x", "b": "y"}) == "x and y and x"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ("Anna", PatternValuesInvalid),
        ("Anna,42,7", PatternValuesInvalid),
        ("", PatternValuesInvalid),
        ("Anna,4x", PatternValuesInvalid),
        ("Anna, ", PatternValueEmpty),
        ('["", "1"]', PatternValueEmpty),
        ('["Anna", [1]]', PatternValuesInvalid),  # not a list of scalars: split at the commas
    ],
)
def test_values_that_do_not_fit(values: str, error: type[Exception]) -> None:
    """A wrong count, a non-digit for a digit variable, an empty value: each its error."""
    with pytest.raises(error):
        pattern_values(TWO, values)


def test_a_code_goes_into_free_text() -> None:
    """`%code%` is replaced; without it the code goes on a line of its own after the text."""
    assert sms.with_code("your code: %code%.", "4821") == "your code: 4821."
    assert sms.with_code("welcome", "4821") == "welcome\n4821"


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", {}),
        ("10001234", {"public": "10001234", "service": "10001234", "98": "10001234"}),
        ("public=2000, 98=9810", {"public": "2000", "98": "9810"}),
        ("3000, 98=9810", {"public": "3000", "service": "3000", "98": "9810"}),
    ],
)
def test_shared_lines_setting(setting: str, expected: dict[str, str]) -> None:
    """QUICKOTP_SHARED_LINES: one line for every name, or name=line pairs."""
    assert dict(SharedLines.parse(setting).by_name) == expected


@pytest.mark.parametrize("setting", ["ads=3000", "public=", "public=has space", "9" * 21])
def test_shared_lines_setting_refused(setting: str) -> None:
    """An unknown name or an unusable line stops the gateway at start."""
    with pytest.raises(ConfigurationError):
        SharedLines.parse(setting)
