"""
Every HTTP request gets an id: the client's `X-Request-ID` when it is a sane token, else a
new one. It is echoed in the answer's `X-Request-ID` and set in the log context for as long
as the request is handled, so every log line written for it carries it (support/logs.py).

Plain ASGI around the whole app (/rest, /v1, the panel, the operations endpoints), so a
request pays for a header scan and one context variable, not for a middleware stack.
"""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quickotp.support import logs

HEADER = b"x-request-id"
# What a client may name its request: bounded, and nothing that could forge or split a log
# line or a header (UUIDs, ULIDs, hex, base64 and dotted or dashed tokens fit).
_SANE = re.compile(rb"[A-Za-z0-9._~:+/=-]{1,128}")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's id when sane, else a new one (16 random bytes in hex)."""
    for name, value in headers:
        if name == HEADER:  # ASGI gives header names in lower case
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()


class RequestIds:
    """Gives each HTTP request an id, echoed in the answer and on its log lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = request_id(scope["headers"])
        echoed = (HEADER, given.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        tokens = (  # the account and message are this request's own, once known
            logs.request_id.set(given),
            logs.account_id.set(None),
            logs.message_id.set(None),
        )
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.request_id.reset(tokens[0])
            logs.account_id.reset(tokens[1])
            logs.message_id.reset(tokens[2])
