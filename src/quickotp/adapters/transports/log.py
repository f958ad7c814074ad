"""
The embedded default transport: each SMS becomes one JSON line on stdout or in a file.

For development and tests; it "delivers" at once and reports the message delivered.
The line holds the SMS text, code included, as a handset would see it: it is the SMS,
not a log, and it never goes to the log stream (stderr).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import datetime

import orjson

from quickotp.domain.delivery import (
    DeliveryReport,
    DeliveryState,
    OutboundSms,
    ReportSink,
    SendReceipt,
)


class LogSinkTransport:
    name = "log"

    def __init__(self, clock: Callable[[], datetime], path: str | None = None) -> None:
        """`clock`: the time now (UTC), when each report says the message was delivered."""
        self.path = path
        self._clock = clock
        self._fd: int | None = None
        self._reports: ReportSink | None = None
        self._pending: set[asyncio.Future[None]] = set()

    async def start(self, reports: ReportSink) -> None:
        self._reports = reports
        if self.path is not None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def send(self, sms: OutboundSms) -> SendReceipt:
        line = orjson.dumps(
            {
                "message_id": sms.message_id,
                "to": sms.mobile,
                "sender": sms.sender,
                "text": sms.text,
                "parts": sms.parts,
            }
        )
        # One O_APPEND write per line: whole lines even with several writers. A few hundred
        # bytes to a local file; not worth a thread hop.
        os.write(self._fd if self._fd is not None else sys.stdout.fileno(), line + b"\n")
        receipt = SendReceipt(self.name, f"log-{sms.message_id}")
        if self._reports is not None:
            report = DeliveryReport(
                self.name, receipt.provider_message_id, DeliveryState.DELIVERED, self._clock()
            )
            recorded = asyncio.ensure_future(self._reports(report))
            self._pending.add(recorded)
            recorded.add_done_callback(self._pending.discard)
        return receipt

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
