"""
`Client` and `AsyncClient`: the same calls, blocking and async, over httpx. This module does
the I/O and the retries; what to send and how to read the answer is in `_amoot` and `_v1`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from quickotp_client import _amoot, _v1
from quickotp_client._call import Call
from quickotp_client._errors import ResponseError, reached_server, transport_error
from quickotp_client._models import (
    AcceptedMessage,
    AccountStatus,
    Delivery,
    Message,
    Pattern,
    SentCode,
    SentMessage,
    StartedVerification,
    Verification,
    VerifiedCode,
)
from quickotp_client._version import __version__

T = TypeVar("T")

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


def _headers(call: Call[Any], token: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}" if call.bearer else token}
    if call.idempotency_key is not None:
        headers["Idempotency-Key"] = call.idempotency_key
    return headers


def _retry(exc: httpx.TransportError, call: Call[Any], attempt: int, retries: int) -> bool:
    """
    Whether to try again after `exc` on attempt `attempt` (0-based): only for a transport
    failure, at most `retries` times, and after one that may have reached the server only
    when the call carries an idempotency key (the server then answers a repeat once).
    """
    return attempt < retries and (not reached_server(exc) or call.idempotency_key is not None)


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
        self._token = _token(token)
        self._retries = retries
        self._retry_delay = retry_delay
        self._http = httpx.Client(
            base_url=_base_url(base_url),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

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
        request = self._http.build_request(
            call.method,
            call.path,
            data=call.form,
            json=call.json,
            headers=_headers(call, self._token),
        )
        attempt = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.DecodingError as exc:  # a body its Content-Encoding does not fit
                raise ResponseError(str(exc), http_status=None) from exc
            except httpx.TransportError as exc:
                if not _retry(exc, call, attempt, self._retries):
                    raise transport_error(exc) from exc
                time.sleep(self._retry_delay * 2**attempt)
                attempt += 1
                continue
            return call.read(response)

    # /rest: Amoot's methods --------------------------------------------------------------

    def send_quick_otp(
        self, mobile: str, *, code_length: int | None = None, code: str | None = None
    ) -> SentCode:
        """
        Send a one-time code to `mobile` (any usual form: 09120000000, +989120000000, ...).
        The server makes a `code_length`-digit code (6 by default), or sends your `code`
        (then `code_length` defaults to its length). The answer holds the code.
        """
        return self._run(_amoot.send_quick_otp(mobile, code_length=code_length, code=code))

    def send_simple(
        self,
        mobiles: str | Iterable[str],
        text: str,
        *,
        line: str = "public",
        send_at: datetime | str | None = None,
        backup_line: str | None = None,
    ) -> list[SentMessage]:
        """
        Send `text` to each of `mobiles` (up to 100), each its own message, from `line` (one
        of the account's, or `public`). With `backup_line` (SendWithBackupLine) a message
        goes out on it when `line` cannot send. `send_at` (an aware datetime) schedules it.
        Each recipient's row says how it went: a refused one keeps its status and raises
        nothing. On QuickOTP the account needs the operator's free-text permission.
        """
        return self._run(
            _amoot.send_simple(mobiles, text, line=line, send_at=send_at, backup_line=backup_line)
        )

    def send_otp(
        self,
        mobile: str,
        text: str,
        *,
        code_length: int = 6,
        line: str = "public",
        send_at: datetime | str | None = None,
    ) -> SentCode:
        """
        Send `text` with a code the server makes (Amoot's SendOTP): on QuickOTP `%code%` in the
        text is replaced by it, or it goes on a line of its own after the text.
        """
        return self._run(
            _amoot.send_otp(mobile, text, code_length=code_length, line=line, send_at=send_at)
        )

    def send_with_pattern(
        self,
        mobile: str,
        pattern_id: int,
        values: Sequence[str | int],
        *,
        line: str | None = None,
    ) -> SentMessage:
        """
        Send one of the account's approved patterns, `values` filling its variables in order
        (SendWithPattern; with `line`, SendWithPatternOWN). An OTP pattern's value is your code.
        """
        return self._run(_amoot.send_with_pattern(mobile, pattern_id, values, line=line))

    def verify_quick_otp(self, mobile: str, code: str) -> VerifiedCode:
        """Check the code a person typed against the newest one sent to `mobile` (QuickOTP)."""
        return self._run(_amoot.verify_quick_otp(mobile, code))

    def account_status(self) -> AccountStatus:
        """The account's name, credit, prices and sender lines."""
        return self._run(_amoot.account_status())

    def get_delivery(self, message_id: int) -> Delivery:
        """One message's delivery status."""
        return self._run(_amoot.get_delivery(message_id))

    def get_deliveries(self, message_ids: Iterable[int]) -> list[Delivery]:
        """Several messages' delivery statuses, in the order asked."""
        return self._run(_amoot.get_deliveries(message_ids))

    def pattern_create(
        self,
        text: str,
        *,
        is_otp: bool = False,
        number_patterns: Iterable[str] = (),
        description: str = "",
    ) -> Pattern:
        """
        Ask for a new pattern (`%name%` marks a variable; an OTP pattern holds `%code%`).
        It waits for the operator's approval. `number_patterns` names the digit-only ones.
        """
        return self._run(
            _amoot.pattern_create(
                text, is_otp=is_otp, number_patterns=number_patterns, description=description
            )
        )

    def pattern_list(self) -> list[Pattern]:
        """The account's patterns."""
        return self._run(_amoot.pattern_list())

    # /v1 ---------------------------------------------------------------------------------

    def start_verification(
        self,
        to: str,
        *,
        code_length: int | None = None,
        code: str | None = None,
        pattern_id: int | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> StartedVerification:
        """
        Send a code to `to` and start a verification of it; the server keeps the code and
        checks it (`check_verification`). Sent with an Idempotency-Key, new for each call
        unless you give one, and the same on each retry: a repeat never sends a second SMS.
        """
        return self._run(
            _v1.start_verification(
                to,
                code_length=code_length,
                code=code,
                pattern_id=pattern_id,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    def check_verification(
        self, code: str, *, verification_id: str | None = None, to: str | None = None
    ) -> Verification:
        """
        Check `code` against a verification, by its id or the newest one sent `to` a number.
        Returns the approved verification; any other outcome raises its VerificationError.
        """
        return self._run(_v1.check_verification(code, verification_id=verification_id, to=to))

    def get_verification(self, verification_id: str) -> Verification:
        """A verification and its outcome so far."""
        return self._run(_v1.get_verification(verification_id))

    def cancel_verification(self, verification_id: str) -> Verification:
        """Cancel a pending verification: its code no longer works."""
        return self._run(_v1.cancel_verification(verification_id))

    def send_message(
        self,
        to: str,
        *,
        text: str | None = None,
        pattern_id: int | None = None,
        values: Sequence[str | int] | None = None,
        line: str | None = None,
        backup_line: str | None = None,
        send_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> AcceptedMessage:
        """
        Send free `text`, or pattern `pattern_id` with its `values`, to `to` (/v1). Sent with an
        Idempotency-Key, new for each call unless you give one: a retry never sends twice.
        """
        return self._run(
            _v1.send_message(
                to,
                text=text,
                pattern_id=pattern_id,
                values=values,
                line=line,
                backup_line=backup_line,
                send_at=send_at,
                idempotency_key=idempotency_key,
            )
        )

    def get_message(self, message_id: int) -> Message:
        """A message: its status, delivery, parts and cost."""
        return self._run(_v1.get_message(message_id))


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
        self._token = _token(token)
        self._retries = retries
        self._retry_delay = retry_delay
        self._http = httpx.AsyncClient(
            base_url=_base_url(base_url),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

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
        request = self._http.build_request(
            call.method,
            call.path,
            data=call.form,
            json=call.json,
            headers=_headers(call, self._token),
        )
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.DecodingError as exc:  # a body its Content-Encoding does not fit
                raise ResponseError(str(exc), http_status=None) from exc
            except httpx.TransportError as exc:
                if not _retry(exc, call, attempt, self._retries):
                    raise transport_error(exc) from exc
                await asyncio.sleep(self._retry_delay * 2**attempt)
                attempt += 1
                continue
            return call.read(response)

    async def send_quick_otp(
        self, mobile: str, *, code_length: int | None = None, code: str | None = None
    ) -> SentCode:
        """As `Client.send_quick_otp`."""
        return await self._run(_amoot.send_quick_otp(mobile, code_length=code_length, code=code))

    async def send_simple(
        self,
        mobiles: str | Iterable[str],
        text: str,
        *,
        line: str = "public",
        send_at: datetime | str | None = None,
        backup_line: str | None = None,
    ) -> list[SentMessage]:
        """As `Client.send_simple`."""
        return await self._run(
            _amoot.send_simple(mobiles, text, line=line, send_at=send_at, backup_line=backup_line)
        )

    async def send_otp(
        self,
        mobile: str,
        text: str,
        *,
        code_length: int = 6,
        line: str = "public",
        send_at: datetime | str | None = None,
    ) -> SentCode:
        """As `Client.send_otp`."""
        return await self._run(
            _amoot.send_otp(mobile, text, code_length=code_length, line=line, send_at=send_at)
        )

    async def send_with_pattern(
        self,
        mobile: str,
        pattern_id: int,
        values: Sequence[str | int],
        *,
        line: str | None = None,
    ) -> SentMessage:
        """As `Client.send_with_pattern`."""
        return await self._run(_amoot.send_with_pattern(mobile, pattern_id, values, line=line))

    async def verify_quick_otp(self, mobile: str, code: str) -> VerifiedCode:
        """As `Client.verify_quick_otp`."""
        return await self._run(_amoot.verify_quick_otp(mobile, code))

    async def account_status(self) -> AccountStatus:
        """As `Client.account_status`."""
        return await self._run(_amoot.account_status())

    async def get_delivery(self, message_id: int) -> Delivery:
        """As `Client.get_delivery`."""
        return await self._run(_amoot.get_delivery(message_id))

    async def get_deliveries(self, message_ids: Iterable[int]) -> list[Delivery]:
        """As `Client.get_deliveries`."""
        return await self._run(_amoot.get_deliveries(message_ids))

    async def pattern_create(
        self,
        text: str,
        *,
        is_otp: bool = False,
        number_patterns: Iterable[str] = (),
        description: str = "",
    ) -> Pattern:
        """As `Client.pattern_create`."""
        return await self._run(
            _amoot.pattern_create(
                text, is_otp=is_otp, number_patterns=number_patterns, description=description
            )
        )

    async def pattern_list(self) -> list[Pattern]:
        """As `Client.pattern_list`."""
        return await self._run(_amoot.pattern_list())

    async def start_verification(
        self,
        to: str,
        *,
        code_length: int | None = None,
        code: str | None = None,
        pattern_id: int | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> StartedVerification:
        """As `Client.start_verification`."""
        return await self._run(
            _v1.start_verification(
                to,
                code_length=code_length,
                code=code,
                pattern_id=pattern_id,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    async def check_verification(
        self, code: str, *, verification_id: str | None = None, to: str | None = None
    ) -> Verification:
        """As `Client.check_verification`."""
        return await self._run(_v1.check_verification(code, verification_id=verification_id, to=to))

    async def get_verification(self, verification_id: str) -> Verification:
        """As `Client.get_verification`."""
        return await self._run(_v1.get_verification(verification_id))

    async def cancel_verification(self, verification_id: str) -> Verification:
        """As `Client.cancel_verification`."""
        return await self._run(_v1.cancel_verification(verification_id))

    async def send_message(
        self,
        to: str,
        *,
        text: str | None = None,
        pattern_id: int | None = None,
        values: Sequence[str | int] | None = None,
        line: str | None = None,
        backup_line: str | None = None,
        send_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> AcceptedMessage:
        """As `Client.send_message`."""
        return await self._run(
            _v1.send_message(
                to,
                text=text,
                pattern_id=pattern_id,
                values=values,
                line=line,
                backup_line=backup_line,
                send_at=send_at,
                idempotency_key=idempotency_key,
            )
        )

    async def get_message(self, message_id: int) -> Message:
        """As `Client.get_message`."""
        return await self._run(_v1.get_message(message_id))
