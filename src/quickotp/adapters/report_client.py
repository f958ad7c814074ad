"""
The HTTP/1.1 client that POSTs delivery reports to clients' URLs (the runtime's ReportPoster).

Why not httpx here: a delivery report is one small POST whose answer matters only for its
status, and the worker makes one for every message the gateway delivers, on the same event
loop that serves the API. Through httpx (and its httpcore pool) such a POST costs about
0.9 ms of that loop's CPU, the work of three or four OTPs, so a process saturated with
SendQuickOTP fell tens of seconds behind with its reports. This client writes the request
itself and reads the answer with httptools (llhttp, the parser uvicorn serves with) in an
asyncio Protocol: one write and one read callback a POST on a kept-alive connection, about a
tenth of httpx's CPU (`bench/report_clients.py` compares httpx, aiohttp and this, interleaved).

It keeps what the gateway's posting rule needs (adapters/public_http.py): a host name is
resolved once per connection, every address it resolves to must pass `address_problem`
(`checked_addresses`), and the connection is made to one of those checked addresses, never
after a second lookup; the request keeps the URL's name in its Host header, and TLS checks
the certificate against that name (SNI). A connection kept alive was checked when it was
made and goes to the same address.

A receiver cannot hold it or fill its memory: the whole POST (lookup, connect, TLS, request,
answer) has one deadline; an answer's head is refused past MAX_HEAD bytes; a body past
MAX_BODY bytes is not read (the status is kept and the connection closed); chunked and
close-delimited bodies are parsed by llhttp, anything it refuses breaks the exchange off;
redirects are not followed (a 3xx is an answer like any other). A connection goes back to
the pool only after a complete answer that lets it stay open, and at most `per_origin`
connections are open to one origin at once.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import httptools
import httpx
import idna

from quickotp.adapters.public_http import Resolver, TargetRefused, checked_addresses
from quickotp.domain.models import (
    POST_BROKEN_OFF,
    POST_FAILED,
    POST_NO_ANSWER,
    POST_REFUSED,
    Posted,
)

MAX_HEAD = 16 * 1024  # bytes of an answer's status line and headers
MAX_BODY = 64 * 1024  # bytes of an answer's body read before the connection is dropped
# Seconds a kept-alive connection waits for its next POST: under the 5 s after which some
# servers (uvicorn's default) close an idle one, so a POST seldom meets a closing connection.
IDLE_EXPIRY = 4.0
MAX_IDLE = 64  # kept-alive connections in all; past that the longest idle is closed

# The characters a request target keeps as they are: RFC 3986's unreserved and reserved
# ones, and % (a URL's own escapes). Others (non-ASCII, ", <, >, ...) are percent-encoded.
_TARGET_SAFE = "!#$&'()*+,/:;=?@[]~%"


class Opener:
    """Opens a TCP connection (TLS with `server_hostname`) to an address: the loop's own."""

    async def __call__(
        self,
        protocol: Callable[[], asyncio.Protocol],
        address: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> asyncio.BaseTransport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(
            protocol, address, port, ssl=ssl_context, server_hostname=server_hostname
        )
        return transport


class BrokenOff(Exception):
    """Connected, then the exchange failed: no (complete) answer."""


@dataclass(frozen=True)
class Target:
    """What a URL gives a POST: where to connect, and the request's first lines."""

    https: bool
    host: str  # the name (A-labels) or address to resolve and to check TLS against
    port: int
    head: bytes  # "POST <target> HTTP/1.1\r\nHost: ...\r\n" (+ Authorization from userinfo)

    @property
    def origin(self) -> tuple[bool, str, int]:
        return (self.https, self.host, self.port)


def target(url: str) -> Target:
    """A URL as a Target; ValueError for one that cannot be posted to."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("not an http(s) URL with a host")
    host = parts.hostname
    if not host.isascii():
        host = idna.encode(host, uts46=True).decode("ascii")  # IDNA 2008, as url_problem checks
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    named = f"[{host}]" if ":" in host else host
    authority = named if parts.port is None else f"{named}:{port}"
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_TARGET_SAFE)
    head = f"POST {path} HTTP/1.1\r\nHost: {authority.lower()}\r\n"
    if parts.username is not None:  # userinfo in the URL is HTTP Basic, as browsers send it
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        head += f"Authorization: Basic {base64.b64encode(pair.encode()).decode()}\r\n"
    raw = head.encode("ascii")
    if any(byte < 0x20 or byte == 0x7F for byte in raw.replace(b"\r\n", b"")):
        raise ValueError("the URL holds control characters")
    return Target(https, host.lower(), port, raw)


class Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection: one exchange at a time."""

    def __init__(self, on_lost: Callable[[Connection], None]) -> None:
        self._on_lost = on_lost
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.reusable = False  # the last answer was complete and lets the connection stay
        self.answered = False  # a byte of an answer to the request in flight came
        self.idle_since = 0.0
        self._answer: asyncio.Future[int] | None = None
        self._status = 0  # the final (non-1xx) status of the answer being read
        self._head = 0  # bytes of the answer's head read so far
        self._body = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport
        self.open = True

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():  # nothing asked: a confused peer
            self._drop()
            return
        self.answered = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(BrokenOff(f"an answer HTTP/1.1 cannot read: {exc}"))
            return
        if not self._status:  # still in the head (the parser holds at most one read of it)
            self._head += len(data)
            if self._head > MAX_HEAD:
                self._fail(BrokenOff(f"an answer's head over {MAX_HEAD} bytes"))

    def eof_received(self) -> bool:
        return False  # close: an answer delimited by the close is complete (connection_lost)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.reusable = False
        if self._answer is not None and not self._answer.done():
            if self._status:  # the head came whole: a body that ran to the close, or cut
                self._answer.set_result(self._status)
            else:
                self._answer.set_exception(
                    BrokenOff(f"closed before answering{f': {exc}' if exc else ''}")
                )
        self._on_lost(self)

    # httptools' callbacks

    def on_headers_complete(self) -> None:
        if self._answer is None or self._answer.done():  # a second answer to one request
            self._drop()
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue...): the real one follows
            self._head = 0
            return
        self._status = status

    def on_body(self, body: bytes) -> None:
        self._body += len(body)
        if self._body > MAX_BODY and self._answer is not None and not self._answer.done():
            self._answer.set_result(self._status)  # the status is known; the rest is not read
            self._drop()

    def on_message_complete(self) -> None:
        if not self._status:
            return  # the end of an interim answer
        keep = self._parser.should_keep_alive()
        if self._answer is not None and not self._answer.done():
            self.reusable = keep
            self._answer.set_result(self._status)
        if not keep:
            self._drop()

    # the exchange

    async def exchange(self, request: bytes) -> int:
        """Write one request; the status of its answer (BrokenOff if none comes whole)."""
        assert self.transport is not None  # noqa: S101 - exchange follows connection_made
        self._answer = asyncio.get_running_loop().create_future()
        self._status = self._head = self._body = 0
        self.reusable = self.answered = False
        self.transport.write(request)
        try:
            return await self._answer
        finally:
            self._answer = None

    def _fail(self, exc: BrokenOff) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        self._drop()

    def _drop(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()  # no lingering: a hostile peer gets no more of our time


class ReportClient:
    """
    The ReportPoster over kept-alive HTTP/1.1 connections to checked addresses only (module
    docstring). `allow_private` lets any address through (tests, dev); `ssl_context` is the
    certificates to trust (certifi's by default, as httpx's); `opener` makes the connections (tests
    pass one that records the addresses asked for).
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        per_origin: int = 32,
        opener: Opener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.ssl_context = ssl_context or httpx.create_ssl_context()  # certifi's roots
        self.per_origin = per_origin
        self.opener = opener or Opener()
        self.clock = clock
        self._idle: dict[tuple[bool, str, int], list[Connection]] = {}
        self._slots: dict[tuple[bool, str, int], asyncio.Semaphore] = {}
        self._using: dict[tuple[bool, str, int], int] = {}  # POSTs holding or awaiting a slot
        self._targets: dict[str, Target] = {}  # the URLs seen lately, parsed

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, wait: float
    ) -> Posted:
        try:
            where = self._target(url)
            request = b"".join(
                (
                    where.head,
                    *(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()),
                    b"Content-Length: %d\r\n\r\n" % len(body),
                    body,
                )
            )
            if any(ch in value for value in headers.values() for ch in "\r\n"):
                raise ValueError("a header value holds a line break")
        except (ValueError, UnicodeError, idna.IDNAError) as exc:
            return Posted(None, POST_FAILED, _detail(exc))
        try:
            async with asyncio.timeout(wait):
                status = await self._exchange(where, request)
        except TargetRefused as exc:
            return Posted(None, POST_REFUSED, str(exc))
        except TimeoutError:
            return Posted(None, POST_NO_ANSWER, f"no answer within {wait:g} s")
        except BrokenOff as exc:
            return Posted(None, POST_BROKEN_OFF, _detail(exc))
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, reset, a bad certificate
            return Posted(None, POST_NO_ANSWER, _detail(exc))
        return Posted(status)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection._drop()
        self._idle.clear()

    def _target(self, url: str) -> Target:
        found = self._targets.get(url)
        if found is None:
            if len(self._targets) >= 1024:  # a bounded cache of the URLs posted to lately
                self._targets.clear()
            found = self._targets[url] = target(url)
        return found

    async def _exchange(self, where: Target, request: bytes) -> int:
        origin = where.origin
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.per_origin)
        self._using[origin] = self._using.get(origin, 0) + 1
        try:
            async with slots:
                connection = self._reuse(origin)
                if connection is not None:
                    try:
                        status = await connection.exchange(request)
                    except BrokenOff:
                        if connection.answered:
                            raise
                        # Closed by the receiver as it sat idle, before a byte of an answer:
                        # once more on a new connection (the receiver drops a repeat by its
                        # X-QuickOTP-Delivery), rather than a retry seconds later.
                        connection = None
                    except BaseException:
                        connection._drop()
                        raise
                if connection is None:
                    connection = await self._connect(where)
                    try:
                        status = await connection.exchange(request)
                    except BaseException:
                        connection._drop()
                        raise
                if connection.reusable and connection.open:
                    connection.idle_since = self.clock()
                    self._keep(origin, connection)
                else:
                    connection._drop()
                return status
        finally:
            self._using[origin] -= 1
            if not self._using[origin]:  # nobody holds or awaits the origin's slots
                del self._using[origin], self._slots[origin]

    def _reuse(self, origin: tuple[bool, str, int]) -> Connection | None:
        idle = self._idle.get(origin)
        now = self.clock()
        while idle:
            connection = idle.pop()  # the most recently used: the likeliest still open
            if connection.open and now - connection.idle_since < IDLE_EXPIRY:
                return connection
            connection._drop()
        return None

    def _keep(self, origin: tuple[bool, str, int], connection: Connection) -> None:
        self._idle.setdefault(origin, []).append(connection)
        if sum(len(idle) for idle in self._idle.values()) > MAX_IDLE:
            oldest = min(
                (idle[0] for idle in self._idle.values() if idle), key=lambda c: c.idle_since
            )
            self._forget(oldest)
            oldest._drop()

    def _forget(self, connection: Connection) -> None:
        """A connection that closed leaves the pool."""
        for origin, idle in list(self._idle.items()):
            if connection in idle:
                idle.remove(connection)
                if not idle:
                    del self._idle[origin]
                return

    async def _connect(self, where: Target) -> Connection:
        """A new connection to one of the checked addresses of `where`'s host."""
        addresses = await checked_addresses(
            self.resolver, where.host, where.port, allow_private=self.allow_private
        )
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, as a plain connect tries them
            try:
                transport = await self.opener(
                    lambda: Connection(self._forget),
                    address,
                    where.port,
                    ssl_context=self.ssl_context if where.https else None,
                    server_hostname=where.host if where.https else None,
                )
            except (OSError, ssl.SSLError) as exc:
                failure = exc
                continue
            protocol = transport.get_protocol()
            assert isinstance(protocol, Connection)  # noqa: S101 - made by our factory
            return protocol
        assert failure is not None  # noqa: S101 - checked_addresses never returns []
        raise failure


def _detail(exc: BaseException) -> str:
    """An exception for the log: its class, and its text when it has one."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
