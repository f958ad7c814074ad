"""
The Amoot methods that read and price without sending, on `/rest/<Method>`:
CalculateMessagePrice, CalculatePatternMessagePrice, Statistics, GetMessage, GetMessages.

Each answers `{"Status", "Data"}` in the key order of Amoot's SOAP contract (the types its
REST methods serialise); on failure `Data` is null (amoot.py shapes failures).
"""

from __future__ import annotations

from typing import Any

from quickotp.domain import phone
from quickotp.domain.errors import GatewayError
from quickotp.domain.models import Caller, DayCount, Message, MessageStatus
from quickotp.services.gateway import Gateway
from quickotp.services.pricing import Pricing
from quickotp.services.reports import Reports
from quickotp.services.verification import phone_regions
from quickotp.web.amoot import Handler
from quickotp.web.amoot_wire import Status, tehran_time

# Statistics' per-state fields, in the contract's order, with our states under them.
# TciError (DeliveryType 3, no upstream would take the message) has no field in Amoot's
# contract; it stands in code order, after NotRecievedPhone.
_DELIVERY_FIELDS: tuple[tuple[str, tuple[MessageStatus, ...]], ...] = (
    ("SendToTci", (MessageStatus.SENT,)),
    ("RecievedPhone", (MessageStatus.DELIVERED,)),
    ("NotRecievedPhone", (MessageStatus.UNDELIVERED,)),
    ("TciError", (MessageStatus.FAILED,)),
    ("UnknownError", ()),
    ("TciReceived", ()),
    ("NotTciReceived", (MessageStatus.EXPIRED,)),
    ("BlackList", ()),
    ("Unknown", ()),
    ("Sent", ()),
    ("Filtered", ()),
    ("SendingList", ()),
    ("NoReceipt", ()),
    ("SendWithAvanak", ()),
    ("SendWithBackupVtel", ()),
    ("SendingQueue", (MessageStatus.QUEUED, MessageStatus.SENDING)),
    ("WrongNumber", ()),
    ("EmptyMessage", ()),
    ("ShortCodeInvalid", ()),
)
_IN_QUEUE = (MessageStatus.QUEUED, MessageStatus.SENDING)
_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
_NOT_SENT = (MessageStatus.FAILED, MessageStatus.EXPIRED)
_SOURCES = (
    "Unknown",
    "Banks",
    "Payamap",
    "FormErsal",
    "AmootSoftware",
    "Schedule",
    "Course",
    "Filter",
    "WebService",
)


class AmootReads:
    """The handlers; Statistics and the message reads only when given `reports`."""

    def __init__(self, gateway: Gateway, reports: Reports | None) -> None:
        config = gateway.config
        self.pricing = Pricing(gateway.store, config.price_per_part, config.regions)
        self.reports = reports

    def handlers(self) -> list[tuple[str, Handler]]:
        found: list[tuple[str, Handler]] = [
            ("CalculateMessagePrice", self.message_price),
            ("CalculatePatternMessagePrice", self.pattern_message_price),
        ]
        if self.reports is not None:
            found += [
                ("Statistics", self.statistics),
                ("GetMessage", self.get_message),
                ("GetMessages", self.get_messages),
            ]
        return found

    def _reports(self) -> Reports:
        if self.reports is None:  # these handlers are registered only with reports
            raise RuntimeError("no reports")
        return self.reports

    async def message_price(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        """LineNumber is read by no one: every line has the same price (pricing.py)."""
        price = self.pricing.message_price(
            params.get("smsmessagetext", ""), params.get("mobiles", "")
        )
        return {"Status": Status.SUCCESS, "Data": price.total}

    async def pattern_message_price(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        price = await self.pricing.pattern_price(
            caller.account.id,
            mobile=params.get("mobile", ""),
            pattern_id=params.get("patterncodeid", ""),
            values=params.get("patternvalues", ""),
        )
        return {"Status": Status.SUCCESS, "Data": price.total}

    async def statistics(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        # Amoot's own C# sample for Statistics sends FromDateTime and ToDateTime.
        counts = await self._reports().statistics(
            caller.account.id,
            params.get("fromdate") or params.get("fromdatetime", ""),
            params.get("todate") or params.get("todatetime", ""),
        )
        return {"Status": Status.SUCCESS, "Data": daily_statistics(counts)}

    async def get_message(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        message = await self._reports().message(caller.account.id, params.get("messageid", ""))
        return {"Status": Status.SUCCESS, "Data": sent_message(message)}

    async def get_messages(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        found = await self._reports().messages(
            caller.account.id,
            params.get("fromdatetime", ""),
            params.get("todatetime", ""),
            from_row=params.get("fromrow", ""),
            count=params.get("count", ""),
        )
        return {"Status": Status.SUCCESS, "Data": [sent_message(m) for m in found]}


def sent_message(message: Message) -> dict[str, Any]:
    """Amoot's MessageResult_Data: Mobile is text here, the 10-digit national number."""
    return {
        "MessageID": message.id,
        "Mobile": _national(message.mobile),
        "LineNumber": message.sender,
        "SMSMessageText": message.text,
        "RegDateTime": tehran_time(message.created_at),
        "SentDateTime": tehran_time(message.submitted_at),
    }


def daily_statistics(counts: list[DayCount]) -> list[dict[str, Any]]:
    """Amoot's DailySentCountInfo, one per Tehran day that has messages, oldest first."""
    days: dict[str, list[DayCount]] = {}
    for count in counts:
        days.setdefault(count.day.strftime("%Y-%m-%dT00:00:00"), []).append(count)
    return [_day(day, found) for day, found in days.items()]


def _day(day: str, counts: list[DayCount]) -> dict[str, Any]:
    def among(states: tuple[MessageStatus, ...]) -> tuple[int, int, int]:
        chosen = [c for c in counts if c.status in states]
        return (
            sum(c.count for c in chosen),
            sum(c.parts for c in chosen),
            sum(c.cost for c in chosen),
        )

    every = tuple(MessageStatus)
    count, parts, cost = among(every)
    body: dict[str, Any] = {
        "OnlyDate": day,
        "Count": count,
        "Total": parts,
        "PriceTotal": cost,
        "User_CountActive": 0,
        "User_CountAtDate": 0,
        "User_CountTotal": 0,
    }
    left_queue = tuple(s for s in every if s not in _IN_QUEUE)
    for name, states in (
        ("InQueue", _IN_QUEUE),
        ("OutOfQueue", left_queue),
        ("Sent", _SENT),
        ("NotSent", _NOT_SENT),
        ("Deleted", ()),
    ):
        body.update(_triple(name, among(states)))
    for line in ("Public", "Private", "Ads", "Services"):  # the gateway has no line kinds
        body.update(
            {
                f"{line}_Count": 0,
                f"{line}_CountTotal": 0,
                f"{line}_CountTotalPrice": 0,
                f"{line}_PriceTotal": 0,
            }
        )
    for name, states in _DELIVERY_FIELDS:
        body.update(_triple(f"Delivery_{name}", among(states)))
    for source in _SOURCES:  # every message came through the web service
        sent_here = source == "WebService"
        body[f"SentFrom_{source}_Count"] = count if sent_here else 0
        body[f"SentFrom_{source}_PriceTotal"] = cost if sent_here else 0
    return body


def _triple(name: str, totals: tuple[int, int, int]) -> dict[str, int]:
    """Messages, parts and cost under one name, as the contract spells them."""
    count, parts, cost = totals
    return {f"{name}_Count": count, f"{name}_CountTotal": parts, f"{name}_PriceTotal": cost}


def _national(e164: str) -> str:
    try:
        return str(phone.normalise("+" + e164, regions=phone_regions()).national)
    except GatewayError:  # stored before its country's rules changed: show it as stored
        return e164
