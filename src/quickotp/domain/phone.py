"""
Mobile numbers as people type them, made canonical with Google's `phonenumbers`.

Pure. The canonical form is E.164 digits without the '+': 989120000000.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidMobile, MobileEmpty

# Longer than any real number in any written form: refuse before parsing junk.
_MAX_INPUT = 40
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# Iran hands out mobile ranges faster than libphonenumber's metadata follows them (0924-0929,
# 0995 and 0997 are mobile prefixes it does not know yet), so for Iran the whole of
# 0901-0905, 0910-0939 and 0990-0999 counts as mobile, as the operators document it.
_IRANIAN_MOBILE = re.compile(r"9(0[1-5]|[1-3][0-9]|9[0-9])[0-9]{7}")
# The forms Iranian mobiles are written in: +98 / 0098 / 98 / 0 / bare, then 9xxxxxxxxx.
_WRITTEN_IRANIAN = re.compile(r"(?:\+98|0098|98|0)?(9[0-9]{9})")
_SEPARATORS = re.compile(r"[\s\-().\u200c\u200e\u200f\u202a-\u202e]")


@dataclass(frozen=True)
class Mobile:
    """A valid mobile number of an allowed country."""

    e164: str  # digits without '+': 989120000000
    national: int  # the national significant number, as Amoot echoes it: 9120000000
    region: str  # ISO 3166 code: "IR"

    @property
    def last4(self) -> str:
        """The last four digits: all of the number that may appear in a log line."""
        return self.e164[-4:]


def national_number(e164: str) -> int:
    """
    The national significant number of a stored number (E.164 digits), as Amoot echoes it:
    989120000000 -> 9120000000. The same as `normalise(...).national` gave at the send.
    """
    if e164.startswith("98"):
        return int(e164[2:])
    try:
        return phonenumbers.parse("+" + e164).national_number or int(e164)
    except phonenumbers.NumberParseException:
        return int(e164)


def dialled(e164: str) -> str:
    """
    The number as Iranian upstreams (Amoot, Kavenegar) take it: 989120000000 -> 09120000000,
    another country's number with the international prefix: 447700900123 -> 00447700900123.
    """
    return "0" + e164[2:] if e164.startswith("98") else "00" + e164


def normalise(
    raw: str, *, regions: Collection[str] = ("IR",), default_region: str = "IR"
) -> Mobile:
    """
    Parse what a person typed into one canonical mobile number.

    Accepts +98 / 0098 / 98 / 0 / bare national forms, spaces, dashes and brackets, in
    ASCII, Persian or Arabic-Indic digits. Raises MobileEmpty for nothing at all and
    InvalidMobile for anything that is not a mobile number of one of `regions`.
    """
    text = _SEPARATORS.sub("", ascii_digits(raw))
    if not text:
        raise MobileEmpty("no mobile number given")
    if len(text) > _MAX_INPUT or not re.fullmatch(r"\+?[0-9]+", text):
        raise InvalidMobile("not a phone number")
    if "IR" in regions and (national := _written_iranian_mobile(text)) is not None:
        return Mobile(e164="98" + national, national=int(national), region="IR")
    return parse_with_library(text, regions=regions, default_region=default_region)


def parse_with_library(text: str, *, regions: Collection[str], default_region: str) -> Mobile:
    """The general path: digits, with '+' or '00' before a country code, by libphonenumber."""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidMobile("not a phone number") from exc
    region = phonenumbers.region_code_for_number(number)
    if region is None or number.national_number is None or region not in regions:
        raise InvalidMobile(f"numbers of region {region or 'unknown'} are not allowed")
    if not (_iranian_mobile_range(region, number.national_number) or _library_mobile(number)):
        raise InvalidMobile("not a mobile number")
    return Mobile(
        e164=f"{number.country_code}{number.national_number}",
        national=number.national_number,
        region=region,
    )


def _iranian_mobile_range(region: str, national_number: int) -> bool:
    return region == "IR" and _IRANIAN_MOBILE.fullmatch(str(national_number)) is not None


def _library_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return (
        phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def _written_iranian_mobile(text: str) -> str | None:
    """
    The national number of an Iranian mobile in one of its usual written forms, else None.

    The common case, answered without `phonenumbers` (15 us a parse, against 1 us here);
    anything else takes the library's path, which gives the same answer for these forms
    (a property test holds the two together).
    """
    match = _WRITTEN_IRANIAN.fullmatch(text)
    if match is None or _IRANIAN_MOBILE.fullmatch(match.group(1)) is None:
        return None
    return match.group(1)
