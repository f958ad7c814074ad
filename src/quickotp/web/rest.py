"""
The `/rest/<Method>` front door, in plain ASGI, with everything else passed on to Starlette.

Every Amoot request comes through here, so it skips Starlette's middleware stack, router,
Request and Response objects: they cost about 40 us of the request's CPU (py-spy under
`bench/rest_send.py`), more than parsing, authenticating and shaping together.
What a request carries is read once into a `RestCall`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/rest/"
MAX_BODY = 64 * 1024  # an Amoot request is a few hundred bytes
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class RestCall:
    """One request on the Amoot surface, as read off the wire."""

    method: str  # the Amoot method named by the path, as written
    verb: str  # GET or POST
    query: bytes
    headers: dict[str, str]  # lower-case names; a repeated header keeps its first value
    body: bytes
    oversized: bool  # the body passed MAX_BODY and was not read to its end
    client: str | None
    scope: Scope  # for the rare multipart body, which Starlette's parser reads


async def read_call(scope: Scope, receive: Receive) -> RestCall:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    chunks: list[bytes] = []
    size, oversized, more = 0, False, scope["method"] != "GET"
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        oversized, more = True, False
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            oversized = True
            break
        chunks.append(chunk)
        more = message.get("more_body", False)
    client = scope.get("client")
    return RestCall(
        method=scope["path"][len(PREFIX) :],
        verb=scope["method"],
        query=scope.get("query_string", b""),
        headers=headers,
        body=b"".join(chunks),
        oversized=oversized,
        client=client[0] if client else None,
        scope=scope,
    )


async def send_json(send: Send, status: int, body: Any) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RestFront:
    """Answers `/rest/...` with `answer`; hands every other request to `rest_of_app`."""

    def __init__(
        self,
        answer: Callable[[RestCall], Awaitable[tuple[int, Any]]],
        rest_of_app: ASGIApp,
    ) -> None:
        self.answer = answer
        self.rest_of_app = rest_of_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.rest_of_app(scope, receive, send)
            return
        if scope["method"] not in {"GET", "POST"}:
            await send_json(send, 405, {"Status": "Failed", "Data": None})
            return
        status, body = await self.answer(await read_call(scope, receive))
        await send_json(send, status, body)
