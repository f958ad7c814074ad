"""
Amoot SMS as an upstream: QuickOTP fronts Amoot and can fail over to and from it.

Route URL: `amoot://TOKEN@portal.amootsms.com?method=quickotp` (the default) forwards our code
with Amoot's `SendQuickOTP` (Mobile, CodeLength, OptionalCode = our code), so Amoot renders
the operator's own approved OTP pattern there; `?method=pattern&pattern=ID` uses
`SendWithPattern` (Mobile, PatternCodeID, PatternValues = the code). The token goes in the
raw `Authorization` header, as Amoot's clients send it. Other keys: `scheme`, `timeout`
(http_upstream.parse_route_url), and `reports` (below).

Answers (Amoot's REST surface, as docs/amoot-api.md describes it): HTTP 200 with a
`Status` name; `Data` an object or a one-element array carrying `MessageID` and its own
`Status`. How each name maps:
  Success                                        taken; MessageID is the provider id
  Mobile_*, Length_*, SMSMessageText_Empty       TransportRejected: this message, never
  ServerError, a name we do not know, a body
  that is not Amoot's                            DeliveryUncertain: it may have been sent
  every other name (Token_*, User_*, Credit-
  NotEnough, Failed = no approved pattern, ...)  TransportUnavailable: the route cannot
                                                 send now; nothing was sent

Delivery reports are asked for (transports/report_polling.py) with `GetDeliveries`
(ListMessageID, comma-separated). A final `DeliveryType` is handed on: 1 RecievedPhone as
delivered, 2, 3 and 16 as undelivered, 35, 300 and 950-952 as rejected; the others (0
SendToTci, 8 TciReceived, 200 Sent, 400, 900, 100, 5, 500) are asked for again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson

from quickotp.adapters.transports.http import report_polling
from quickotp.adapters.transports.http.upstream import (
    HttpRoute,
    check_sendable,
    parse_route_url,
    status_error,
    upstream_errors,
)
from quickotp.domain import phone
from quickotp.domain.delivery import DeliveryState, OutboundSms, ReportSink, SendReceipt
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "portal.amootsms.com"
REJECTED = frozenset(
    {
        "Mobile_Empty",
        "Mobile_Invalid",
        "Mobiles_Empty",
        "Mobiles_Invalid",
        "Length_Invalid",
        "Length_Exceeded",
        "SMSMessageText_Empty",
    }
)
UNAVAILABLE = frozenset(
    {
        "Failed",
        "AccountIsDemo",
        "CreditNotEnough",
        "LineNumber_NotExist",
        "BackupLineNumber_NotExist",
        "LineNumber_Empty",
        "UserName_Empty",
        "Password_Empty",
        "UserNameOrPassword_Invalid",
        "User_NotExists",
        "User_MobileNotVerified",
        "User_Disabled",
        "User_Expired",
        "User_WebServiceBanned",
        "User_NotAllowWebService",
        "User_NotAllowIP",
        "User_NotAllowMethod",
        "User_NotAllowHttp",
        "Token_NotExists",
        "Token_Invalid",
        "Token_Disabled",
        "Token_Expired",
        "Token_NotAllowIP",
        "Token_NotAllowMethod",
        "System_Disabled",
    }
)


def error_for_status(name: str, status: str) -> DeliveryError:
    """The error an Amoot Status name other than Success stands for (module docstring)."""
    shown = status[:40]
    if status in REJECTED:
        return TransportRejected(f"{name}: Amoot answered {shown}")
    if status in UNAVAILABLE:
        return TransportUnavailable(f"{name}: Amoot answered {shown}")
    return DeliveryUncertain(f"{name}: Amoot answered {shown!r}")


# Amoot's DeliveryType codes that end a message's story; the rest are asked for again.
FINAL_DELIVERY = {
    1: DeliveryState.DELIVERED,  # RecievedPhone
    2: DeliveryState.UNDELIVERED,  # NotRecievedPhone
    3: DeliveryState.UNDELIVERED,  # TciError
    16: DeliveryState.UNDELIVERED,  # NotTciReceived
    35: DeliveryState.REJECTED,  # BlackList
    300: DeliveryState.REJECTED,  # Filtered
    950: DeliveryState.REJECTED,  # WrongNumber
    951: DeliveryState.REJECTED,  # EmptyMessage
    952: DeliveryState.REJECTED,  # ShortCodeInvalid
}
MAX_PATTERN_DIGITS = 18  # a pattern id fits a signed 64-bit number


@dataclass(frozen=True)
class AmootConfig:
    route: HttpRoute
    method: str = "quickotp"  # or "pattern"
    pattern_id: int = 0
    reports: float = report_polling.DEFAULT_EVERY  # seconds between rounds; 0: none

    @classmethod
    def from_url(cls, url: str) -> tuple[AmootConfig, str]:
        """The config in an `amoot://` URL, and the URL as it may be shown."""
        route, shown = parse_route_url(
            url,
            kind="amoot",
            default_host=DEFAULT_HOST,
            options=frozenset({"method", "pattern", "reports"}),
        )
        method = route.options.get("method", "quickotp")
        if method not in {"quickotp", "pattern"}:
            raise ConfigurationError("amoot:// URL parameter method must be quickotp or pattern")
        pattern = route.options.get("pattern", "")
        if method == "pattern" and not (
            pattern.isascii() and pattern.isdigit() and len(pattern) <= MAX_PATTERN_DIGITS
        ):
            raise ConfigurationError(
                f"amoot:// with method=pattern needs pattern=ID (a number of 1-{MAX_PATTERN_DIGITS}"
                " digits)"
            )
        reports = report_polling.reports_every(route.options, "amoot")
        return cls(route, method, int(pattern) if method == "pattern" else 0, reports), shown


class AmootTransport:
    """Forwards OTPs to Amoot's /rest API over the `client` it is given."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: AmootConfig,
        *,
        clock: Callable[[], datetime],
        name: str = "amoot",
        owns_client: bool = False,
        sleep: report_polling.Sleep = asyncio.sleep,
        max_waiting: int = report_polling.MAX_WAITING,
    ) -> None:
        """
        `clock` is the time now (UTC); `sleep` waits between rounds of report polling;
        `max_waiting` bounds the message ids waiting for a report (the oldest go first).
        """
        self.name = name
        self.client = client
        self.config = config
        self._owns_client = owns_client
        self._clock = clock
        self._reports = report_polling.ReportPoller(
            name, config.reports, self._deliveries, clock, sleep, max_waiting=max_waiting
        )

    async def start(self, reports: ReportSink) -> None:
        self._reports.start(reports)

    async def aclose(self) -> None:
        await self._reports.aclose()
        if self._owns_client:
            await self.client.aclose()

    async def send(self, sms: OutboundSms) -> SendReceipt:
        code = check_sendable(self.name, sms, self._clock())
        route = self.config.route
        if self.config.method == "pattern":
            path = "/rest/SendWithPattern"
            form = {
                "Mobile": phone.dialled(sms.mobile),
                "PatternCodeID": str(self.config.pattern_id),
                "PatternValues": code,
            }
        else:
            path = "/rest/SendQuickOTP"
            form = {
                "Mobile": phone.dialled(sms.mobile),
                "CodeLength": str(len(code)),
                "OptionalCode": code,
            }
        with upstream_errors(self.name):
            response = await self.client.post(
                route.base_url + path,
                data=form,
                headers={"Authorization": route.credential, "Accept": "application/json"},
                timeout=route.timeout,
            )
        if response.status_code != 200:
            raise status_error(self.name, response.status_code)
        message_id = self._message_id(response.content, sms)
        if not message_id.startswith("none-"):
            self._reports.track(message_id)
        return SendReceipt(self.name, message_id)

    async def _deliveries(self, message_ids: list[str]) -> list[tuple[str, DeliveryState | None]]:
        """The final states among `message_ids`, from one GetDeliveries."""
        route = self.config.route
        with upstream_errors(self.name):
            response = await self.client.post(
                route.base_url + "/rest/GetDeliveries",
                data={"ListMessageID": ",".join(message_ids)},
                headers={"Authorization": route.credential, "Accept": "application/json"},
                timeout=route.timeout,
            )
        if response.status_code != 200:
            raise status_error(self.name, response.status_code)
        with contextlib.suppress(orjson.JSONDecodeError):
            body: Any = orjson.loads(response.content)
            if isinstance(body, dict) and body.get("Status") == "Success":
                return report_polling.final_states(
                    body.get("Data"), "MessageID", "DeliveryType", FINAL_DELIVERY
                )
            if isinstance(body, dict) and isinstance(body.get("Status"), str):
                raise error_for_status(self.name, body["Status"])
        raise DeliveryUncertain(f"{self.name}: GetDeliveries answered with no Status")

    def _message_id(self, content: bytes, sms: OutboundSms) -> str:
        try:
            body: Any = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise DeliveryUncertain(f"{self.name}: an answer that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("Status"), str):
            raise DeliveryUncertain(f"{self.name}: an answer without a Status")
        if body["Status"] != "Success":
            raise error_for_status(self.name, body["Status"])
        data = body.get("Data")
        if isinstance(data, list):
            data = data[0] if data else None
        if not isinstance(data, dict):
            raise DeliveryUncertain(f"{self.name}: Success without Data")
        item_status = data.get("Status", "Success")
        if isinstance(item_status, str) and item_status != "Success":
            raise error_for_status(self.name, item_status)
        message_id = data.get("MessageID")
        if isinstance(message_id, int | str) and str(message_id) not in {"", "0"}:
            return str(message_id)
        # Taken, but unmatchable: never raise here, a retry would send it twice.
        log.warning("%s: Success without a MessageID for message %d", self.name, sms.message_id)
        return f"none-{sms.message_id}"
