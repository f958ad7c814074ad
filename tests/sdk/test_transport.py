"""
When no answer comes: a closed port and a socket that never answers surface as the client's
own exceptions, and retries happen only where they are safe, a bounded number of times.
Sync and async alike.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import quickotp_client
from quickotp_client import AsyncClient, Client
from tests.e2e.server import free_port

pytestmark = pytest.mark.anyio

TOKEN = "test-token"
CREATED = {
    "id": "v1",
    "to": "+989120000000",
    "status": "pending",
    "expires_at": "2025-01-01T12:02:00Z",
    "message_id": 7,
    "sandbox": False,
    "metadata": None,
}


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each test once with Client and once with AsyncClient."""
    return str(request.param)


async def call(kind: str, name: str, *args: Any, **options: Any) -> Any:
    """One call by name on a Client or an AsyncClient built with `options`."""
    if kind == "sync":
        with Client(token=TOKEN, **options) as client:
            return getattr(client, name)(*args)
    async with AsyncClient(token=TOKEN, **options) as client:
        return await getattr(client, name)(*args)


@dataclass
class Silent:
    """A socket on 127.0.0.1 that accepts connections and never answers."""

    url: str
    accepted: list[socket.socket] = field(default_factory=list)

    def wait_accepted(self, count: int) -> int:
        deadline = time.monotonic() + 5
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.accepted)


@pytest.fixture
def silent() -> Iterator[Silent]:
    """A never-answering socket, accepting on a thread and counting the connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server = Silent(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                server.accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    for conn in server.accepted:
        conn.close()
    listener.close()


class Scripted:
    """A MockTransport handler: raises `failures` transport errors, then answers `answer`."""

    def __init__(
        self, error: httpx.TransportError | None, failures: int, answer: httpx.Response
    ) -> None:
        self.error = error
        self.failures = failures
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None and len(self.requests) <= self.failures:
            raise self.error
        return self.answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


# real sockets ----------------------------------------------------------------------------


async def test_a_closed_port_is_a_connect_error(kind: str) -> None:
    """Nothing listening: ConnectError, a TransportError, caused by httpx's ConnectError."""
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(quickotp_client.ConnectError) as raised:
        await call(kind, "send_quick_otp", "09120000000", base_url=url, retries=0)

    assert isinstance(raised.value, quickotp_client.TransportError)
    assert not isinstance(raised.value, quickotp_client.TimeoutError)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


async def test_a_server_that_never_answers_is_a_timeout(kind: str, silent: Silent) -> None:
    """No answer in time is TimeoutError; a send without a key is not sent again."""
    with pytest.raises(quickotp_client.TimeoutError) as raised:
        await call(kind, "send_quick_otp", "09120000000", base_url=silent.url, timeout=0.3)

    assert not isinstance(raised.value, quickotp_client.ConnectError)
    assert silent.wait_accepted(1) == 1


async def test_a_timed_out_send_with_a_key_is_retried(kind: str, silent: Silent) -> None:
    """A start carries an idempotency key, so after timeouts it is tried retries + 1 times."""
    with pytest.raises(quickotp_client.TimeoutError):
        await call(kind, "start_verification", "09120000000", base_url=silent.url, timeout=0.3)

    assert silent.wait_accepted(3) == 3


# retries, on a scripted transport ---------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 3])
async def test_connection_failures_are_retried_a_bounded_number_of_times(
    kind: str, retries: int
) -> None:
    """A request that never connected is tried retries + 1 times, then ConnectError."""
    script = Scripted(httpx.ConnectError("refused"), 99, httpx.Response(200))

    with pytest.raises(quickotp_client.ConnectError):
        await call(
            kind,
            "send_quick_otp",
            "09120000000",
            base_url="http://gateway.test",
            retries=retries,
            retry_delay=0.0,
            transport=script.transport,
        )

    assert len(script.requests) == retries + 1


async def test_a_retry_that_connects_returns_the_answer(kind: str) -> None:
    """One failed connection, then an answer: the caller sees only the answer."""
    answer = httpx.Response(201, json=CREATED)
    script = Scripted(httpx.ConnectTimeout("slow"), 1, answer)

    started = await call(
        kind,
        "start_verification",
        "09120000000",
        base_url="http://gateway.test",
        retry_delay=0.0,
        transport=script.transport,
    )

    assert (started.id, len(script.requests)) == ("v1", 2)


async def test_retries_resend_the_same_idempotency_key(kind: str) -> None:
    """Every try of one start carries the same Idempotency-Key; the next call a new one."""
    script = Scripted(httpx.ReadTimeout("slow"), 2, httpx.Response(201, json=CREATED))
    options = {"base_url": "http://gateway.test", "retry_delay": 0.0, "transport": script.transport}

    await call(kind, "start_verification", "09120000000", **options)
    await call(kind, "start_verification", "09120000000", **options)

    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2] != keys[3]


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.WriteError("reset")],
    ids=["read timeout", "dropped", "write error"],
)
async def test_a_send_that_may_have_arrived_is_not_retried(
    kind: str, error: httpx.TransportError
) -> None:
    """SendQuickOTP has no key: a failure after connecting is raised at once, not retried."""
    script = Scripted(error, 99, httpx.Response(200))

    with pytest.raises(quickotp_client.TransportError):
        await call(
            kind,
            "send_quick_otp",
            "09120000000",
            base_url="http://x.test",
            retry_delay=0.0,
            transport=script.transport,
        )

    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "raised"),
    [
        (503, "busy", quickotp_client.ResponseError),
        (200, '{"Status": "ServerError"}', quickotp_client.ServerError),
    ],
    ids=["HTTP 503", "ServerError"],
)
async def test_an_answer_is_never_retried(
    kind: str, status: int, body: str, raised: type[Exception]
) -> None:
    """Retries are for connection failures only: an error answer is raised as it came."""
    script = Scripted(None, 0, httpx.Response(status, text=body))

    with pytest.raises(raised):
        await call(
            kind,
            "send_quick_otp",
            "0912",
            base_url="http://x.test",
            retry_delay=0.0,
            transport=script.transport,
        )

    assert len(script.requests) == 1


async def test_retries_back_off(kind: str) -> None:
    """Two retries wait 0.2 s, then 0.4 s, before trying again."""
    script = Scripted(httpx.ConnectError("refused"), 99, httpx.Response(200))
    started = time.monotonic()

    with pytest.raises(quickotp_client.ConnectError):
        await call(kind, "account_status", base_url="http://x.test", transport=script.transport)

    assert time.monotonic() - started >= 0.6
    assert len(script.requests) == 3
