"""
ReportClient, the HTTP/1.1 poster of delivery reports, against receivers that misbehave:
slow or endless heads, huge bodies, chunked and close-delimited answers, interim answers,
resets, garbage. Each receiver is a raw TCP server on 127.0.0.1 in the test's loop; every
exchange is bounded by the POST's deadline, and what the client keeps of an answer by its
caps, so each test ends on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from quickotp.adapters.report_client import MAX_HEAD, ReportClient, target
from quickotp.domain.models import POST_BROKEN_OFF, POST_FAILED, POST_NO_ANSWER, Posted
from tests.conftest import NamesResolver

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


@dataclass
class Peer:
    """A raw receiver: how many connections it took, the requests it read."""

    port: int = 0
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request: its head and a Content-Length body (b"" at the end of the stream)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


@contextlib.asynccontextmanager
async def peer(handle: Handler) -> AsyncIterator[Peer]:
    made = Peer()
    writers: list[asyncio.StreamWriter] = []

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        made.connections += 1
        made.open_now += 1
        made.most_open = max(made.most_open, made.open_now)
        writers.append(writer)
        try:
            await handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            made.open_now -= 1
            writer.close()

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    made.port = server.sockets[0].getsockname()[1]
    try:
        yield made
    finally:
        server.close()
        for writer in writers:  # a handler still writing gets a reset, and ends
            writer.transport.abort()
        await server.wait_closed()


def answering(made: list[Peer], answer: bytes) -> Handler:
    """Answers every request with `answer`, keeping each request in made[0]."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while request := await read_request(reader):
            made[0].requests.append(request)
            writer.write(answer)
            await writer.drain()

    return handle


@contextlib.asynccontextmanager
async def client(per_origin: int = 32) -> AsyncIterator[ReportClient]:
    poster = ReportClient(NamesResolver({}), allow_private=True, per_origin=per_origin)
    try:
        yield poster
    finally:
        await poster.aclose()


async def post(poster: ReportClient, url: str, *, wait: float = 5.0) -> Posted:
    async with asyncio.timeout(30):  # a fault in the client, not the deadline, reaches this
        return await poster.post(url, b'{"MessageID":1}', {"X-QuickOTP-Delivery": "7"}, wait=wait)


async def posts_to(
    handle: Handler, times: int = 1, *, wait: float = 5.0
) -> tuple[list[Posted], Peer]:
    """`times` POSTs, one after the other, to a peer that answers with `handle`; the peer."""
    async with peer(handle) as made, client() as poster:
        return [await post(poster, made.url, wait=wait) for _ in range(times)], made


@contextlib.asynccontextmanager
async def answering_peer(answer: bytes) -> AsyncIterator[Peer]:
    box: list[Peer] = []
    async with peer(answering(box, answer)) as made:
        box.append(made)
        yield made


async def test_posts_over_one_kept_alive_connection() -> None:
    """Three POSTs, one connection; each request carries Host, its headers and its body."""
    async with answering_peer(OK) as made, client() as poster:
        results = [await post(poster, made.url) for _ in range(3)]

    assert [r.status for r in results] == [200, 200, 200]
    assert made.connections == 1
    head, _, body = made.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook HTTP/1.1"
    assert f"Host: 127.0.0.1:{made.port}".encode() in lines
    assert b"X-QuickOTP-Delivery: 7" in lines
    assert b"Content-Length: 15" in lines
    assert body == b'{"MessageID":1}'


async def test_a_chunked_answer_is_read_and_the_connection_kept() -> None:
    chunked = b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    async with answering_peer(chunked) as made, client() as poster:
        results = [await post(poster, made.url) for _ in range(2)]

    assert [r.status for r in results] == [202, 202]
    assert made.connections == 1


async def test_an_interim_answer_is_skipped_for_the_final_one() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    async with answering_peer(answer) as made, client() as poster:
        posted = await post(poster, made.url)

    assert posted.status == 204


async def test_an_answer_that_closes_is_read_to_the_close_and_not_reused() -> None:
    """No length, `Connection: close`: the body runs to the close; the next POST reconnects."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nsomething broke")
        await writer.drain()

    results, made = await posts_to(handle, 2)

    assert [r.status for r in results] == [500, 500]
    assert made.connections == 2


async def test_a_slow_head_is_cut_at_the_deadline() -> None:
    """A receiver that sends its head a byte at a time, forever, gets the POST's deadline."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while True:
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.05)

    [posted], _ = await posts_to(handle, wait=0.5)

    assert (posted.status, posted.failure) == (None, POST_NO_ANSWER)


async def test_a_head_past_its_cap_breaks_the_exchange_off() -> None:
    """Headers without end, sent as fast as the socket takes them: refused past MAX_HEAD."""
    sent = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        while True:
            writer.write(line)
            sent[0] += len(line)
            await writer.drain()

    [posted], _ = await posts_to(handle)

    assert (posted.status, posted.failure) == (None, POST_BROKEN_OFF)
    assert "head" in posted.detail
    assert sent[0] > MAX_HEAD  # it did send more than the cap


async def test_a_huge_body_keeps_the_status_and_drops_the_connection() -> None:
    """A 10 MB body: the status counts, the body is not read, the connection is not reused."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n")
            for _ in range(10_000):
                writer.write(b"x" * 1000)
                await writer.drain()

    results, made = await posts_to(handle, 2)

    assert [r.status for r in results] == [200, 200]
    assert made.connections == 2


async def test_a_reset_before_the_answer_breaks_the_exchange_off() -> None:
    """The receiver reads the request and resets the connection (SO_LINGER 0)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    [posted], _ = await posts_to(handle)

    assert (posted.status, posted.failure) == (None, POST_BROKEN_OFF)


async def test_garbage_breaks_the_exchange_off() -> None:
    async with answering_peer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as made, client() as poster:
        posted = await post(poster, made.url)

    assert (posted.status, posted.failure) == (None, POST_BROKEN_OFF)


async def test_an_answer_nobody_asked_for_closes_the_connection() -> None:
    """Two answers to one request: the first counts, the connection is not trusted again."""
    async with answering_peer(OK + OK) as made, client() as poster:
        results = [await post(poster, made.url) for _ in range(2)]

    assert [r.status for r in results] == [200, 200]
    assert made.connections == 2


async def test_a_kept_connection_the_receiver_closed_is_not_used() -> None:
    """The receiver closes after each answer although it said nothing: the next reconnects."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()

    async with peer(handle) as made, client() as poster:
        first = await post(poster, made.url)
        async with asyncio.timeout(10):  # until the client has seen the close
            while made.open_now:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        second = await post(poster, made.url)

    assert (first.status, second.status) == (200, 200)
    assert made.connections == 2


async def test_a_kept_connection_closed_as_a_post_went_out_is_tried_once_more() -> None:
    """
    The receiver closes its idle connection as the next POST arrives, answering nothing:
    the POST goes again on a new connection, at once; a fresh connection is not tried twice.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await read_request(reader)  # the second request on this connection: no answer

    results, made = await posts_to(handle, 2)

    assert [r.status for r in results] == [200, 200]
    assert made.connections == 2


async def test_no_listener_is_no_answer() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client() as poster:
        posted = await post(poster, f"http://127.0.0.1:{port}/hook")

    assert (posted.status, posted.failure) == (None, POST_NO_ANSWER)


async def test_connections_to_one_origin_are_bounded() -> None:
    """Ten POSTs at once to a receiver that holds its answers: at most `per_origin` open."""
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            await release.wait()
            writer.write(OK)
            await writer.drain()

    async with peer(handle) as made, client(per_origin=3) as poster:
        posts = [asyncio.create_task(post(poster, made.url)) for _ in range(10)]
        async with asyncio.timeout(10):
            while made.connections < 3:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # room for a fourth, were it allowed
        release.set()
        results = await asyncio.gather(*posts)

    assert [r.status for r in results] == [200] * 10
    assert made.most_open == 3


def test_a_url_becomes_its_request_line_and_host() -> None:
    """Names in A-labels, the port when not the scheme's, the path and query escaped."""
    made = target("https://User:p%40ss@Bücher.Example:8443/dlr/گزارش?x=1&y=<2>#frag")

    assert (made.https, made.host, made.port) == (True, "xn--bcher-kva.example", 8443)
    lines = made.head.decode().split("\r\n")
    assert lines[0] == "POST /dlr/%DA%AF%D8%B2%D8%A7%D8%B1%D8%B4?x=1&y=%3C2%3E HTTP/1.1"
    assert lines[1] == "Host: xn--bcher-kva.example:8443"
    assert lines[2] == "Authorization: Basic VXNlcjpwQHNz"  # User:p@ss
    plain = target("http://[2001:db8::1]/")
    assert (plain.host, plain.port) == ("2001:db8::1", 80)
    assert plain.head == b"POST / HTTP/1.1\r\nHost: [2001:db8::1]\r\n"


async def test_a_header_cannot_smuggle_a_line() -> None:
    async with client() as poster:
        posted = await poster.post("http://127.0.0.1:9/hook", b"{}", {"X-A": "1\r\nX-B: 2"}, wait=1)

    assert (posted.status, posted.failure) == (None, POST_FAILED)
