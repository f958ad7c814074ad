"""
What a message would cost, without sending it: CalculateMessagePrice (free text to a list
of numbers) and CalculatePatternMessagePrice (one of the caller's approved patterns, filled
in, to one number). Parts are counted as sending counts them (domain/sms.py); the price is
parts x the price per part x recipients.

The gateway has one price per part for every line, so the LineNumber a caller names does
not change the price and is not checked here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import orjson

from quickotp.domain import phone, sms
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    GatewayError,
    InvalidMobiles,
    InvalidPatternValues,
    MobilesEmpty,
    NotFound,
    PatternNotFound,
    SmsTextEmpty,
)
from quickotp.domain.models import Pattern, PatternState

MAX_RECIPIENTS = 100  # numbers priced in one call
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Price:
    parts: int  # of one message
    recipients: int
    per_part: int  # rial
    encoding: sms.Encoding

    @property
    def total(self) -> int:
        return self.parts * self.per_part * self.recipients


class PatternSource(Protocol):
    async def get_pattern(self, pattern_id: int) -> Pattern: ...


class Pricing:
    def __init__(self, patterns: PatternSource, per_part: int, regions: Collection[str]) -> None:
        self.patterns = patterns
        self.per_part = per_part
        self.regions = regions

    def message_price(self, text: str, mobiles: str) -> Price:
        """CalculateMessagePrice: `text` to each of the comma-separated `mobiles`."""
        if not text.strip():
            raise SmsTextEmpty("SMSMessageText is empty")
        recipients = len(self._mobiles(mobiles))
        segmentation = sms.segment(text)
        return Price(segmentation.parts, recipients, self.per_part, segmentation.encoding)

    async def pattern_price(
        self, account_id: int, *, mobile: str, pattern_id: str, values: str
    ) -> Price:
        """CalculatePatternMessagePrice: the caller's approved pattern, filled, to `mobile`."""
        phone.normalise(mobile, regions=self.regions)
        pattern = await self._pattern(account_id, pattern_id)
        text = sms.render(pattern.text, fill(pattern, read_values(values)))
        segmentation = sms.segment(text)
        return Price(segmentation.parts, 1, self.per_part, segmentation.encoding)

    def _mobiles(self, raw: str) -> list[phone.Mobile]:
        written = [item for item in _items(raw) if item.strip()]
        if not written:
            raise MobilesEmpty("Mobiles is empty")
        if len(written) > MAX_RECIPIENTS:
            raise InvalidMobiles(f"Mobiles holds more than {MAX_RECIPIENTS} numbers")
        numbers = []
        for position, item in enumerate(written, start=1):
            try:
                numbers.append(phone.normalise(item, regions=self.regions))
            except GatewayError:
                raise InvalidMobiles(f"number {position} of Mobiles is not a mobile") from None
        return numbers

    async def _pattern(self, account_id: int, raw_id: str) -> Pattern:
        text = ascii_digits(raw_id).strip()
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 19
            or not 0 < int(text) <= _MAX_ID
        ):
            raise PatternNotFound("PatternCodeID must be a positive whole number")
        try:
            pattern = await self.patterns.get_pattern(int(text))
        except NotFound:
            pattern = None
        if pattern is None or pattern.account_id != account_id:
            raise PatternNotFound(f"no pattern {text} for this account")
        if pattern.state is not PatternState.APPROVED:
            raise PatternNotFound(f"pattern {text} is {pattern.state}, not approved")
        return pattern


def read_values(raw: str) -> list[str]:
    """
    PatternValues as clients send them: comma-joined (Amoot's C# and PHP samples join with
    ","), or a JSON array (a JSON body's array, or the array written out), whose values may
    hold commas. Each value is stripped of surrounding spaces.
    """
    return [value.strip() for value in _items(raw)]


def fill(pattern: Pattern, values: list[str]) -> dict[str, str]:
    """The pattern's variables, in order, each with its value; InvalidPatternValues if not."""
    names = sms.variables(pattern.text)
    if len(values) != len(names):
        raise InvalidPatternValues(
            f"pattern {pattern.id} takes {len(names)} value(s), {len(values)} given"
        )
    for name, value in zip(names, values, strict=True):
        if not value:
            raise InvalidPatternValues(f"the value for %{name}% is empty")
        if name in pattern.number_patterns and not (
            ascii_digits(value).isascii() and ascii_digits(value).isdigit()
        ):
            raise InvalidPatternValues(f"the value for %{name}% must be digits")
    return dict(zip(names, values, strict=True))


def _items(raw: str) -> list[str]:
    """A list parameter: a JSON array of strings or numbers, else comma-separated text."""
    text = raw.strip()
    if text.startswith("["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in parsed
        ):
            return [str(v) for v in parsed]
    return raw.split(",")  # bounded: a request body is at most 64 KiB
