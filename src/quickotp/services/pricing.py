"""
What a message would cost, without sending it: CalculateMessagePrice (free text to a list
of numbers) and CalculatePatternMessagePrice (one of the caller's approved patterns, filled
in, to one number). Parts are counted as sending counts them (domain/sms.py); the price is
parts x the price per part x recipients.

The gateway has one price per part for every line, so the LineNumber a caller names does
not change the price and is not checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from quickotp.domain import phone, sms
from quickotp.domain.errors import GatewayError, InvalidMobiles, MessageTextEmpty
from quickotp.services.messaging import (
    PatternSource,
    approved_pattern,
    mobile_list,
    pattern_values,
)


@dataclass(frozen=True)
class Price:
    parts: int  # of one message
    recipients: int
    per_part: int  # rial
    encoding: sms.Encoding

    @property
    def total(self) -> int:
        return self.parts * self.per_part * self.recipients


class Pricing:
    def __init__(self, patterns: PatternSource, per_part: int, regions: Collection[str]) -> None:
        self.patterns = patterns
        self.per_part = per_part
        self.regions = regions

    def message_price(self, text: str, mobiles: str | Sequence[str]) -> Price:
        """CalculateMessagePrice: `text` to each of `mobiles` (as SendSimple reads them)."""
        if not text.strip():
            raise MessageTextEmpty("SMSMessageText is empty")
        recipients = len(self._mobiles(mobiles))
        segmentation = sms.segment(text)
        return Price(segmentation.parts, recipients, self.per_part, segmentation.encoding)

    async def pattern_price(
        self, account_id: int, *, mobile: str, pattern_id: str, values: str | Sequence[str]
    ) -> Price:
        """
        CalculatePatternMessagePrice: the caller's approved pattern, filled, to `mobile`;
        the pattern and its values are checked as SendWithPattern checks them.
        """
        phone.normalise(mobile, regions=self.regions)
        pattern = await approved_pattern(self.patterns, account_id, pattern_id)
        names = sms.variables(pattern.text)
        filled = pattern_values(pattern, values)
        text = sms.render(pattern.text, dict(zip(names, filled, strict=True)))
        segmentation = sms.segment(text)
        return Price(segmentation.parts, 1, self.per_part, segmentation.encoding)

    def _mobiles(self, raw: str | Sequence[str]) -> list[phone.Mobile]:
        numbers = []
        for position, item in enumerate(mobile_list(raw), start=1):
            try:
                numbers.append(phone.normalise(item, regions=self.regions))
            except GatewayError:
                raise InvalidMobiles(f"number {position} of the list is not a mobile") from None
        return numbers
