"""Mobile numbers as people type them, made canonical."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quickotp.domain import phone
from quickotp.domain.errors import InvalidMobile, MobileEmpty

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

# Every Iranian mobile prefix in use: 0901-0905, 0910-0939, 0990-0999 (docs/amoot-api.md).
IRANIAN_PREFIXES = (
    [f"90{d}" for d in range(1, 6)]
    + [f"9{d}" for d in range(10, 40)]
    + [f"99{d}" for d in range(10)]
)


@st.composite
def written_forms(draw: st.DrawFn) -> tuple[str, str]:
    """A real Iranian mobile number, and one way a person might write it."""
    prefix = draw(st.sampled_from(IRANIAN_PREFIXES))
    national = prefix + draw(st.from_regex(r"[0-9]{7}", fullmatch=True))
    lead = draw(st.sampled_from(["+98", "0098", "98", "0", "", "+98 ", "0098-"]))
    sep = draw(st.sampled_from(["", " ", "-"]))
    body = f"{national[:3]}{sep}{national[3:6]}{sep}{national[6:]}"
    digits = draw(st.sampled_from([None, PERSIAN, ARABIC]))
    text = lead + body
    return national, text.translate(digits) if digits else text


@given(written_forms())
def test_every_way_of_writing_a_number_gives_the_same_canonical_form(
    case: tuple[str, str],
) -> None:
    """+98 / 0098 / 98 / 0 / bare, separators and Persian or Arabic-Indic digits all agree."""
    national, written = case

    mobile = phone.normalise(written)

    assert mobile.e164 == "98" + national
    assert mobile.national == int(national)
    assert phone.normalise(mobile.e164) == mobile


@given(written_forms())
def test_the_fast_path_agrees_with_libphonenumber(case: tuple[str, str]) -> None:
    """Iranian mobiles in their usual forms parse the same with and without the fast path."""
    _, written = case
    cleaned = "".join(ch for ch in written.translate(ASCII) if ch in "+0123456789")

    fast = phone.normalise(written)
    slow = phone.parse_with_library(cleaned, regions=("IR",), default_region="IR")

    assert fast == slow


@given(st.text(max_size=60))
def test_junk_never_raises_anything_but_our_two_errors(text: str) -> None:
    """Any string at all either parses or is refused as empty or invalid."""
    with contextlib.suppress(MobileEmpty, InvalidMobile):
        phone.normalise(text)


@pytest.mark.parametrize("prefix", IRANIAN_PREFIXES)
def test_every_iranian_mobile_prefix_is_accepted(prefix: str) -> None:
    """0901-0905, 0910-0939 and 0990-0999 are all mobile ranges."""
    assert phone.normalise(f"0{prefix}1234567").e164 == f"98{prefix}1234567"


@pytest.mark.parametrize("text", ["", "   ", "\u200c", " - "])
def test_nothing_is_empty(text: str) -> None:
    """Blank input is Mobile_Empty, not Mobile_Invalid."""
    with pytest.raises(MobileEmpty):
        phone.normalise(text)


@pytest.mark.parametrize(
    "text",
    [
        "12",
        "abc",
        "02188888888",  # a Tehran landline
        "+447900123456",  # a UK mobile: not an allowed region by default
        "0912000000",  # one digit short
        "091200000000",  # one digit long
        "9" * 41,
        "+98 912 000 00 00 ext 5",
    ],
)
def test_not_an_allowed_mobile_is_invalid(text: str) -> None:
    """Landlines, foreign numbers, wrong lengths and text are Mobile_Invalid."""
    with pytest.raises(InvalidMobile):
        phone.normalise(text)


def test_other_regions_can_be_allowed() -> None:
    """An operator may allow more countries than Iran."""
    mobile = phone.normalise("+447900123456", regions=("IR", "GB"))

    assert (mobile.e164, mobile.region) == ("447900123456", "GB")
