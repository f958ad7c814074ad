"""Alphabets, part counts and pattern templates."""

from __future__ import annotations

import pytest

from quickotp.domain import sms
from quickotp.domain.errors import (
    PatternTextEmpty,
    PatternVariablesInvalid,
    PatternWithoutVariables,
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("Your code: 1234", sms.Encoding.GSM7, 15, 1),
        ("a" * 160, sms.Encoding.GSM7, 160, 1),
        ("a" * 161, sms.Encoding.GSM7, 161, 2),
        ("a" * 306, sms.Encoding.GSM7, 306, 2),
        ("a" * 307, sms.Encoding.GSM7, 307, 3),
        ("€" * 80, sms.Encoding.GSM7, 160, 1),  # extension characters take two septets
        ("€" * 81, sms.Encoding.GSM7, 162, 2),
        ("کد ورود شما: 1234", sms.Encoding.UCS2, 17, 1),
        ("س" * 70, sms.Encoding.UCS2, 70, 1),
        ("س" * 71, sms.Encoding.UCS2, 71, 2),
        ("س" * 134, sms.Encoding.UCS2, 134, 2),
        ("س" * 135, sms.Encoding.UCS2, 135, 3),
        ("😀" * 35, sms.Encoding.UCS2, 70, 1),  # outside the BMP: two UTF-16 units each
        ("a" * 152 + "€" + "a" * 152, sms.Encoding.GSM7, 306, 3),  # € not cut: 152 | 2+151 | 1
        ("س" * 66 + "😀" + "س" * 66, sms.Encoding.UCS2, 134, 3),  # the pair is not cut
    ],
)
def test_segmentation(text: str, encoding: sms.Encoding, units: int, parts: int) -> None:
    """GSM-7 160/153 and UCS-2 70/67, extension characters and surrogates counted right."""
    assert sms.segment(text) == sms.Segmentation(encoding, units, parts)


def test_otp_pattern_needs_code() -> None:
    """An OTP pattern without %code% cannot carry a code."""
    with pytest.raises(PatternWithoutVariables):
        sms.check_pattern("Welcome %name%", otp=True)


def test_otp_pattern_refuses_other_variables() -> None:
    """The gateway fills in the code and nothing else."""
    with pytest.raises(PatternVariablesInvalid):
        sms.check_pattern("Hi %name%, your code is %code%", otp=True)


def test_plain_pattern_may_hold_any_variables() -> None:
    """A pattern that is not for OTP may name its own variables."""
    assert sms.check_pattern("  Hi %name%, order %tracking%  ", otp=False) == (
        "Hi %name%, order %tracking%"
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_pattern(text: str) -> None:
    """An empty text is its own error (Amoot's MessageText_Empty)."""
    with pytest.raises(PatternTextEmpty):
        sms.check_pattern(text, otp=False)


def test_pattern_without_variables() -> None:
    """Every pattern defines at least one variable (Amoot's Patterns_Empty)."""
    with pytest.raises(PatternWithoutVariables):
        sms.check_pattern("Hello there", otp=False)


def test_number_patterns_must_be_variables_of_the_text() -> None:
    """NumberPatterns naming a variable the text lacks is refused."""
    with pytest.raises(PatternVariablesInvalid):
        sms.numeric_variables("Order %tracking%", otp=False, named="tracking,amount")


def test_otp_code_is_always_numeric() -> None:
    """An OTP pattern's %code% is digit-only even when NumberPatterns is empty."""
    assert sms.numeric_variables("Code %code%", otp=True) == ["code"]


def test_render_fills_known_variables_only() -> None:
    """Unknown variables stay as written; %code% may appear twice."""
    assert sms.render("%code% / %code% %x%", {"code": "0123"}) == "0123 / 0123 %x%"
