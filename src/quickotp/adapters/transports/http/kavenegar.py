"""
Kavenegar's Verify Lookup as an upstream: `kavenegar://API_KEY@api.kavenegar.com?template=NAME`.

Request: `POST {base}/v1/{API_KEY}/verify/lookup.json`, form fields `receptor` (09xxxxxxxxx
for Iranian numbers), `template` (a template approved in the Kavenegar panel), `token` (our
code) and, with `?type=call`, `type`. Other URL keys: `scheme`, `timeout`, `reports`.

The answer, as Kavenegar documents it publicly (implemented from that description, not from
a live account): JSON `{"return": {"status": N, "message": "..."}, "entries": [...]}`, the
HTTP status equal to `return.status`. On success (200) `entries` holds one object per
receptor: `messageid` (a number), `message`, `status` (1 queued, 5 sent to the operator,
10 delivered, ...), `statustext`, `sender`, `receptor`, `date` (Unix time) and `cost`.
Assumed mapping of `return.status`:
  200                         taken; entries[0].messageid is the provider id
  411 receptor invalid,
  413 message empty or long,
  422 invalid characters,
  431 code malformed          TransportRejected: this message, never
  409 server busy, 429, 451
  too many calls; 401 account
  off, 403 key invalid, 407
  IP, 412 sender, 418 credit,
  424 template missing, ...   TransportUnavailable: nothing was sent; this route cannot now
  anything else, or no JSON   DeliveryUncertain (5xx and unknown codes may have been sent)
The API key is part of the URL path, so no URL is ever logged (http_upstream.new_client
silences httpx's request log).

Delivery reports are asked for (transports/report_polling.py) with `POST {base}/v1/{API_KEY}
/sms/status.json`, form field `messageid` (the ids, comma-separated). The answer has the
same envelope, each entry a `messageid` and its `status`: 10 delivered; 6 (failed at the
operator), 11 undelivered and 13 (cancelled, refunded) as undelivered; 14 (blocked by the
receiver) as rejected; 100 (no such message id) is dropped; the rest (1 queued, 2
scheduled, 4 and 5 sent to the operator) are asked for again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

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

DEFAULT_HOST = "api.kavenegar.com"
REJECTED = frozenset({411, 413, 414, 422, 431})
UNAVAILABLE = frozenset(
    {400, 401, 402, 403, 404, 405, 406, 407, 409, 412, 416, 418, 424, 426, 427, 428, 429}
    | {432, 451, 501}
)


# An entry's `status` in sms/status.json that ends a message's story (module docstring).
FINAL_STATUS: dict[int, DeliveryState | None] = {
    10: DeliveryState.DELIVERED,
    6: DeliveryState.UNDELIVERED,
    11: DeliveryState.UNDELIVERED,
    13: DeliveryState.UNDELIVERED,
    14: DeliveryState.REJECTED,
    100: None,  # Kavenegar has no such message id
}


def error_for_status(name: str, status: int) -> DeliveryError:
    """The error a Kavenegar `return.status` other than 200 stands for (module docstring)."""
    if status in REJECTED:
        return TransportRejected(f"{name}: Kavenegar answered {status}")
    if status in UNAVAILABLE:
        return TransportUnavailable(f"{name}: Kavenegar answered {status}")
    return DeliveryUncertain(f"{name}: Kavenegar answered {status}")


@dataclass(frozen=True)
class KavenegarConfig:
    route: HttpRoute
    template: str
    type: str = ""  # "" (sms) or "call"
    reports: float = report_polling.DEFAULT_EVERY  # seconds between rounds; 0: none

    @classmethod
    def from_url(cls, url: str) -> tuple[KavenegarConfig, str]:
        """The config in a `kavenegar://` URL, and the URL as it may be shown."""
        route, shown = parse_route_url(
            url,
            kind="kavenegar",
            default_host=DEFAULT_HOST,
            options=frozenset({"template", "type", "reports"}),
        )
        template = route.options.get("template", "")
        if not template:
            raise ConfigurationError("a kavenegar:// URL needs template=NAME (a Verify template)")
        kind = route.options.get("type", "")
        if kind not in {"", "sms", "call"}:
            raise ConfigurationError("kavenegar:// URL parameter type must be sms or call")
        return cls(
            route, template, kind, report_polling.reports_every(route.options, "kavenegar")
        ), shown


class KavenegarTransport:
    """Sends OTPs with Kavenegar's verify/lookup over the `client` it is given."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: KavenegarConfig,
        *,
        clock: Callable[[], datetime],
        name: str = "kavenegar",
        owns_client: bool = False,
        sleep: report_polling.Sleep = asyncio.sleep,
    ) -> None:
        """`clock` is the time now (UTC); `sleep` waits between rounds of report polling."""
        self.name = name
        self.client = client
        self.config = config
        self._owns_client = owns_client
        self._clock = clock
        self._reports = report_polling.ReportPoller(
            name, config.reports, self._statuses, clock, sleep
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
        form = {
            "receptor": phone.dialled(sms.mobile),
            "template": self.config.template,
            "token": code,
        }
        if self.config.type:
            form["type"] = self.config.type
        with upstream_errors(self.name):
            response = await self.client.post(
                self._url("verify/lookup.json"), data=form, timeout=route.timeout
            )
        message_id = self._message_id(response, sms)
        if not message_id.startswith("none-"):
            self._reports.track(message_id)
        return SendReceipt(self.name, message_id)

    def _url(self, method: str) -> str:
        route = self.config.route
        return f"{route.base_url}/v1/{quote(route.credential, safe='')}/{method}"

    async def _statuses(self, message_ids: list[str]) -> list[tuple[str, DeliveryState | None]]:
        """The final states among `message_ids`, from one sms/status.json."""
        with upstream_errors(self.name):
            response = await self.client.post(
                self._url("sms/status.json"),
                data={"messageid": ",".join(message_ids)},
                timeout=self.config.route.timeout,
            )
        return report_polling.final_states(
            self._entries(response), "messageid", "status", FINAL_STATUS
        )

    def _entries(self, response: httpx.Response) -> list[Any]:
        """The `entries` of an answer whose `return.status` is 200; else the error it means."""
        try:
            body: Any = orjson.loads(response.content)
            status = body["return"]["status"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            if response.status_code != 200:
                raise status_error(self.name, response.status_code) from None
            raise DeliveryUncertain(f"{self.name}: an answer that is not Kavenegar's") from None
        if not isinstance(status, int):
            raise DeliveryUncertain(f"{self.name}: an answer without a numeric status")
        if status != 200:
            raise error_for_status(self.name, status)
        entries = body.get("entries")
        return entries if isinstance(entries, list) else []

    def _message_id(self, response: httpx.Response, sms: OutboundSms) -> str:
        entries = self._entries(response)
        entry = entries[0] if entries else None
        message_id = entry.get("messageid") if isinstance(entry, dict) else None
        if isinstance(message_id, int | str) and str(message_id) not in {"", "0"}:
            return str(message_id)
        log.warning("%s: status 200 without a messageid for message %d", self.name, sms.message_id)
        return f"none-{sms.message_id}"
