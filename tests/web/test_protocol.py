"""
The HTTP protocol `quickotp serve` builds on (web/protocol.py): answers stay whole and in
order, and bytes that are not HTTP/1.1 get a problem+json 400.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from quickotp.web.protocol import ProblemHttpToolsProtocol
from tests.http_peer import serving

pytestmark = pytest.mark.anyio


async def _stream(request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part
            await asyncio.sleep(0.01)  # each part in a turn of its own

    return StreamingResponse(parts(), media_type="text/plain")


async def _hello(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.query_params.get('n', '')}")


APP = Starlette(
    routes=[Route("/hello", _hello, methods=["GET", "HEAD"]), Route("/stream", _stream)]
)


async def test_answers_stay_whole_on_a_kept_connection_and_when_it_closes() -> None:
    async with (
        serving(APP, http=ProblemHttpToolsProtocol) as url,
        httpx.AsyncClient(base_url=url, timeout=5) as client,
    ):
        answers = [await client.get("/hello", params={"n": n}) for n in range(5)]
        assert [a.text for a in answers] == [f"hello {n}" for n in range(5)]
        head = await client.head("/hello")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == str(len(b"hello "))
        streamed = await client.get("/stream")
        assert streamed.text == "one,two,three"
        closing = await client.get("/hello", params={"n": "x"}, headers={"Connection": "close"})
        assert closing.text == "hello x"
        assert closing.headers["connection"] == "close"


async def test_a_raw_client_reads_the_whole_answer_before_the_server_closes() -> None:
    """HTTP/1.0 without keep-alive: the answer is flushed before the connection closes."""
    async with serving(APP, http=ProblemHttpToolsProtocol) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)
        writer.write(b"GET /hello?n=raw HTTP/1.0\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(5):
            answer = await reader.read()  # to EOF: the server closed after writing it all
        writer.close()
        await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\nhello raw")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32 + b"\r\n\r\n",  # TLS hello
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /rest/SendQuickOTP HTTP/9.9\r\n\r\n",
        b"GET /hello\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["tls", "negative-length", "version", "nul-in-target"],
)
async def test_bytes_that_are_not_http_get_a_problem_answer_and_the_connection_closes(
    garbage: bytes,
) -> None:
    async with serving(APP, http=ProblemHttpToolsProtocol) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)
        writer.write(garbage)
        async with asyncio.timeout(5):
            answer = await reader.read()  # to EOF: the server closes after answering
        writer.close()
        await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 400 Bad Request"
    assert b"content-type: application/problem+json" in lines
    assert b"connection: close" in lines
    assert f"content-length: {len(body)}".encode() in lines
    assert orjson.loads(body) == {
        "type": "urn:quickotp:problem:malformed-http",
        "title": "The request is not valid HTTP/1.1",
        "status": 400,
        "detail": "Invalid HTTP request received.",
    }
