"""Codes: lengths, callers' own codes, generation and keyed hashes."""

from __future__ import annotations

import secrets

import pytest

from quickotp.domain import otp
from quickotp.domain.errors import InvalidCodeLength

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("raw", "length"), [("4", 4), ("8", 8), (6, 6), (" 5 ", 5), ("۶", 6), ("0006", 6)]
)
def test_code_length_accepts_4_to_8(raw: str | int, length: int) -> None:
    """CodeLength from 4 to 8, in any digits, is taken."""
    assert otp.code_length(raw) == length


@pytest.mark.parametrize(
    "raw",
    [None, "", "3", "9", "0", "-4", "six", "4.0", "1e1", "٤٤", "10", "6" * 4301, "1" * 10_000],
)
def test_code_length_refuses_the_rest(raw: str | None) -> None:
    """Missing, non-numeric or out-of-range CodeLength is Length_Invalid, however long."""
    with pytest.raises(InvalidCodeLength):
        otp.code_length(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", None), (None, None), ("0123", "0123"), ("۱۲۳۴۵", "12345"), (" 87654321 ", "87654321")],
)
def test_caller_code_is_normalised(raw: str | None, code: str | None) -> None:
    """An empty OptionalCode means 'make one'; Persian digits become ASCII."""
    assert otp.caller_code(raw) == code


@pytest.mark.parametrize("raw", ["123", "123456789", "12a4", "12 34", "１２３４"])
def test_caller_code_must_be_4_to_8_digits(raw: str) -> None:
    """A caller's code of the wrong length or with non-digits is Length_Invalid."""
    with pytest.raises(InvalidCodeLength):
        otp.caller_code(raw)


def test_generated_codes_keep_leading_zeros() -> None:
    """A code is a string of exactly `length` digits, even when the number is small."""
    assert otp.generate(6, lambda bound: 42) == "000042"


def test_generated_codes_cover_the_whole_range() -> None:
    """`randbelow` is asked for 10**length, so every code is possible."""
    bounds: list[int] = []

    def randbelow(bound: int) -> int:
        bounds.append(bound)
        return 0

    otp.generate(5, randbelow)

    assert bounds == [100_000]


def test_real_randomness_makes_digit_strings() -> None:
    """With `secrets.randbelow` the code is all digits and the right length."""
    code = otp.generate(8, secrets.randbelow)

    assert len(code) == 8
    assert code.isdigit()


def test_digest_matches_only_its_code() -> None:
    """The keyed hash verifies the right code, in any digits, and no other."""
    stored = otp.digest(KEY, "048213")

    assert otp.matches(KEY, "048213", stored)
    assert otp.matches(KEY, "۰۴۸۲۱۳", stored)
    assert not otp.matches(KEY, "048214", stored)
    assert not otp.matches(b"x" * 32, "048213", stored)


def test_mask_hides_every_occurrence() -> None:
    """Once sent, the stored text keeps no copy of the code."""
    assert otp.mask("code 4821, again 4821", "4821") == "code ****, again ****"
