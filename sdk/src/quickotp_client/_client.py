"""
`Client` and `AsyncClient`: the same calls, blocking and async, over httpx. This module does
the I/O and the retries; what to send and how to read the answer is in `_amoot` and `_v1`,
whose call builders are the two clients' methods (`_Blocking` and `_Awaited` run them).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypedDict, TypeVar, overload

import httpx

from quickotp_client import _amoot, _v1
from quickotp_client._call import Call
from quickotp_client._errors import ResponseError, reached_server, transport_error
from quickotp_client._version import __version__

T = TypeVar("T")
P = ParamSpec("P")

AMOOT_URL = "https://portal.amootsms.com"
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
RETRY_DELAY = 0.2  # seconds before the first retry, doubled for each one after it
USER_AGENT = f"quickotp-client/{__version__}"


def _base_url(base_url: str) -> httpx.URL:
    """`base_url` parsed; a ValueError unless it is an absolute http(s) URL."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"the base URL is not a URL: {exc}") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"the base URL is not an http(s) URL: {base_url!r}")
    return url


def _token(token: str) -> str:
    """`token` stripped; a ValueError, which does not repeat it, if a header cannot hold it."""
    token = token.strip()
    if not token.isascii() or not token.isprintable():
        raise ValueError("the token must be printable ASCII: it travels in a header")
    return token


def _request(http: httpx.Client | httpx.AsyncClient, call: Call[Any], token: str) -> httpx.Request:
    headers = {"Authorization": f"Bearer {token}" if call.bearer else token}
    if call.idempotency_key is not None:
        headers["Idempotency-Key"] = call.idempotency_key
    return http.build_request(
        call.method, call.path, data=call.form, json=call.json, headers=headers
    )


class _HttpOptions(TypedDict):
    base_url: httpx.URL
    timeout: float | None
    headers: dict[str, str]


class _Options:
    """What both clients keep besides their httpx client: the token and the retry plan."""

    def __init__(self, token: str, retries: int, retry_delay: float) -> None:
        self.token = _token(token)
        self.retries = retries
        self.retry_delay = retry_delay

    def http(self, base_url: str, timeout: float | None) -> _HttpOptions:
        """The options of the httpx client, `transport` aside."""
        return _HttpOptions(
            base_url=_base_url(base_url), timeout=timeout, headers={"User-Agent": USER_AGENT}
        )

    def backoff(self, exc: httpx.TransportError, call: Call[Any], attempt: int) -> float:
        """
        The seconds to wait before trying again after `exc` on attempt `attempt` (0-based);
        raises its TransportError when no retry is due: only a transport failure is retried,
        at most `retries` times, and one that may have reached the server only when the call
        carries an idempotency key (the server then answers a repeat once).
        """
        if attempt >= self.retries or (reached_server(exc) and call.idempotency_key is None):
            raise transport_error(exc) from exc
        return self.retry_delay * 2.0**attempt


def _undecodable(exc: httpx.DecodingError) -> ResponseError:
    """A body its Content-Encoding does not fit."""
    return ResponseError(str(exc), http_status=None)


class _Method(Generic[P, T]):
    """A client method made of a call builder, whose signature and docstring it takes."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__


class _Blocking(_Method[P, T]):
    """A method of `Client`: the call built, then run."""

    @overload
    def __get__(self, client: None, owner: type[Client]) -> Self: ...

    @overload
    def __get__(self, client: Client, owner: type[Client]) -> Callable[P, T]: ...

    def __get__(self, client: Client | None, owner: type[Client]) -> Self | Callable[P, T]:
        if client is None:
            return self
        build = self._build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return client._run(build(*args, **kwargs))

        return method


class _Awaited(_Method[P, T]):
    """A method of `AsyncClient`: the call built, then awaited."""

    @overload
    def __get__(self, client: None, owner: type[AsyncClient]) -> Self: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type[AsyncClient]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(
        self, client: AsyncClient | None, owner: type[AsyncClient]
    ) -> Self | Callable[P, Coroutine[Any, Any, T]]:
        if client is None:
            return self
        build = self._build

        @functools.wraps(build)
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await client._run(build(*args, **kwargs))

        return method


class Client:
    """
    A blocking client of QuickOTP's /rest (Amoot-compatible) and /v1 APIs.

    `base_url` is the gateway's address (or `AMOOT_URL` for Amoot's /rest methods); `token`
    an API token. `timeout` (seconds) bounds connecting and each read and write. A request
    that fails to connect is retried up to `retries` times; one that may have reached the
    server is retried only when it carries an idempotency key (the /v1 send). The first retry
    waits `retry_delay` seconds, each one after it twice the one before. `transport` is for
    tests (an `httpx.MockTransport`, for one). Use it as a context manager, or `close()` it.

        with Client(base_url="https://otp.example.com", token=token) as otp:
            sent = otp.send_quick_otp("09120000000", code_length=6)
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        retry_delay: float = RETRY_DELAY,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._options = _Options(token, retries, retry_delay)
        self._http = httpx.Client(transport=transport, **self._options.http(base_url, timeout))

    def __repr__(self) -> str:
        return f"Client(base_url={str(self._http.base_url)!r})"  # never the token

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections this client holds."""
        self._http.close()

    def _run(self, call: Call[T]) -> T:
        request = _request(self._http, call, self._options.token)
        for attempt in itertools.count():
            try:
                response = self._http.send(request)
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except httpx.TransportError as exc:
                time.sleep(self._options.backoff(exc, call, attempt))
                continue
            return call.read(response)
        raise AssertionError("unreachable")  # itertools.count() never ends

    # /rest: Amoot's methods
    send_quick_otp = _Blocking(_amoot.send_quick_otp)
    send_simple = _Blocking(_amoot.send_simple)
    send_otp = _Blocking(_amoot.send_otp)
    send_with_pattern = _Blocking(_amoot.send_with_pattern)
    verify_quick_otp = _Blocking(_amoot.verify_quick_otp)
    account_status = _Blocking(_amoot.account_status)
    get_delivery = _Blocking(_amoot.get_delivery)
    get_deliveries = _Blocking(_amoot.get_deliveries)
    pattern_create = _Blocking(_amoot.pattern_create)
    pattern_list = _Blocking(_amoot.pattern_list)
    # /v1
    start_verification = _Blocking(_v1.start_verification)
    check_verification = _Blocking(_v1.check_verification)
    get_verification = _Blocking(_v1.get_verification)
    cancel_verification = _Blocking(_v1.cancel_verification)
    send_message = _Blocking(_v1.send_message)
    get_message = _Blocking(_v1.get_message)


class AsyncClient:
    """
    The async twin of `Client`: the same options and calls, awaited; `aclose()` to close.
    For asyncio (the back-off between retries is an `asyncio.sleep`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        retry_delay: float = RETRY_DELAY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._options = _Options(token, retries, retry_delay)
        self._http = httpx.AsyncClient(transport=transport, **self._options.http(base_url, timeout))

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={str(self._http.base_url)!r})"  # never the token

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client holds."""
        await self._http.aclose()

    async def _run(self, call: Call[T]) -> T:
        request = _request(self._http, call, self._options.token)
        for attempt in itertools.count():
            try:
                response = await self._http.send(request)
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except httpx.TransportError as exc:
                await asyncio.sleep(self._options.backoff(exc, call, attempt))
                continue
            return call.read(response)
        raise AssertionError("unreachable")  # itertools.count() never ends

    send_quick_otp = _Awaited(_amoot.send_quick_otp)
    send_simple = _Awaited(_amoot.send_simple)
    send_otp = _Awaited(_amoot.send_otp)
    send_with_pattern = _Awaited(_amoot.send_with_pattern)
    verify_quick_otp = _Awaited(_amoot.verify_quick_otp)
    account_status = _Awaited(_amoot.account_status)
    get_delivery = _Awaited(_amoot.get_delivery)
    get_deliveries = _Awaited(_amoot.get_deliveries)
    pattern_create = _Awaited(_amoot.pattern_create)
    pattern_list = _Awaited(_amoot.pattern_list)
    start_verification = _Awaited(_v1.start_verification)
    check_verification = _Awaited(_v1.check_verification)
    get_verification = _Awaited(_v1.get_verification)
    cancel_verification = _Awaited(_v1.cancel_verification)
    send_message = _Awaited(_v1.send_message)
    get_message = _Awaited(_v1.get_message)
