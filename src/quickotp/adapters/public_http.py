"""
Posting to URLs that clients choose (delivery-report URLs) without letting a client aim the
gateway at its own host or network (SSRF).

A host name is resolved once, every address it resolves to must pass
`domain.urls.address_problem`, and the connection goes to one of those checked addresses:
never a second lookup between the check and the connect, which a name answering a public
address to the check and 127.0.0.1 to the connect (DNS rebinding) would get past. The check
lives in the connection pool's network backend (httpcore's public `AsyncNetworkBackend`
API), where httpcore asks to connect to a host: the URL keeps its name, so the Host header,
the TLS server name (SNI), certificate checks and the pool's keep-alive connections are all
by name, as for any other request.

httpx's AsyncHTTPTransport builds its pool without a way to pass a network backend, so
`PublicTransport` is a small httpx transport around httpcore's pool (what httpx's own does,
with our backend), rather than reaching into httpx's private attributes.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from quickotp.domain.models import (
    POST_BROKEN_OFF,
    POST_FAILED,
    POST_NO_ANSWER,
    POST_REFUSED,
    Posted,
)
from quickotp.domain.urls import address_problem, url_problem

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT = 5.0  # seconds a lookup may take where nothing else bounds it (at entry)
# What a client is told of a name that does not pass: the same words whether it did not
# resolve or resolved to an address of ours, so the answer says nothing of our own DNS.
NAME_REFUSED = "its host does not resolve to public addresses only"


class Resolver(Protocol):
    """Names to addresses (a port: the service asked for); OSError when there are none."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """
    The operating system's resolver (getaddrinfo), in threads of its own: a client that
    names slow-resolving hosts ties up these few threads, never the event loop's default
    executor that the rest of the process shares. A lookup whose caller stopped waiting
    before it began is dropped from the queue.
    """

    def __init__(self, threads: int = 4) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="resolver")

    async def resolve(self, host: str, port: int) -> list[str]:
        found = await asyncio.get_running_loop().run_in_executor(
            self._executor,
            functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM),
        )
        return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


class TargetRefused(httpx.ConnectError):
    """The URL's host is, or resolves to, an address reports must not go to: nothing sent."""


async def checked_addresses(
    resolver: Resolver, host: str, port: int, *, allow_private: bool
) -> list[str]:
    """
    The addresses `host` stands for, resolved once, each of them passing address_problem
    (unless `allow_private`); TargetRefused, with the reason for the log, when it resolves
    to none or any one of them does not pass.
    """
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            found = await resolver.resolve(host, port)
        except OSError as exc:
            raise TargetRefused(f"{host} does not resolve: {exc}") from exc
    else:
        found = [host]
    if not found:
        raise TargetRefused(f"{host} resolves to no address")
    if not allow_private:
        for address in found:
            if (problem := address_problem(address)) is not None:
                raise TargetRefused(f"{host} resolves to {address}: {problem}")
    return found


class TargetCheck:
    """Whether a delivery-report URL may be stored: the check at entry, with the same rule."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self.resolver = resolver
        self.allow_private = allow_private

    async def problem(self, url: str) -> str | None:
        """Why `url` cannot take delivery reports, in words a client may see, or None."""
        if (problem := url_problem(url)) is not None:
            return problem
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                await checked_addresses(self.resolver, host, port, allow_private=self.allow_private)
        except TargetRefused as exc:
            log.info("refused a delivery-report URL: %s", exc)
            literal = address_problem(host) if _is_address(host) else None
            return literal or NAME_REFUSED
        except TimeoutError:
            log.info("refused a delivery-report URL: %s did not resolve in time", host)
            return NAME_REFUSED
        return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """
    httpcore's network backend, connecting only to checked addresses (module docstring).
    `inner` makes the connections (AnyIO's by default; tests pass one that records).
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(
                    self.resolver, host, port, allow_private=self.allow_private
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host} did not resolve in time") from None
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:  # in the resolver's order, as a plain connect tries them
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # noqa: S101 - checked_addresses never returns []
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("delivery reports never go to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# httpcore's exceptions as httpx's, most specific first (what httpx's own transport maps).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            mapped = ours(str(exc), request=request)
            mapped.__cause__ = exc
            return mapped
    return exc


class _Body(httpx.AsyncByteStream):
    """A response body from httpcore, its errors as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except TargetRefused:
            raise
        except Exception as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class PublicTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose connections go only to checked addresses (CheckedBackend)."""

    def __init__(
        self,
        backend: CheckedBackend,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = await self._pool.handle_async_request(core)
        except TargetRefused:
            raise
        except Exception as exc:
            raise _as_httpx(exc, request) from exc
        assert isinstance(answer.stream, AsyncIterable)  # noqa: S101 - an async pool's is
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, request),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def public_client(
    resolver: Resolver,
    *,
    allow_private: bool = False,
    inner: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """
    A client for posting to client-chosen URLs: every connection to a checked address (to
    any address with `allow_private`, for tests and dev), no redirects followed (a redirect
    is a second URL nobody checked), no proxies or certificates from the environment
    (`ssl_context`: the certificates to trust, certifi's by default).
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every URL at INFO
    backend = CheckedBackend(resolver, allow_private=allow_private, inner=inner)
    return httpx.AsyncClient(
        transport=PublicTransport(backend, ssl_context=ssl_context),
        follow_redirects=False,
        trust_env=False,
    )


class HttpReportPoster:
    """
    The ReportPoster over an httpx client (the runtime's: `public_client`), which turns what
    went wrong on the URL's side into a Posted summary for the owner and details for the log.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, wait: float
    ) -> Posted:
        try:
            response = await self.client.post(url, content=body, headers=headers, timeout=wait)
        except TargetRefused as exc:
            return Posted(None, POST_REFUSED, str(exc))
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            return Posted(None, POST_NO_ANSWER, _detail(exc))
        except httpx.HTTPError as exc:
            return Posted(None, POST_BROKEN_OFF, _detail(exc))
        except Exception as exc:  # one report's failure is its own, never the batch's
            # (a URL httpx cannot encode raises idna's errors)
            log.exception("a delivery report: posting failed")
            return Posted(None, POST_FAILED, _detail(exc))
        return Posted(response.status_code)

    async def aclose(self) -> None:
        await self.client.aclose()


def _detail(exc: BaseException) -> str:
    """An exception for the log: its class, and its text when it has one."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
