"""
`quickotp serve` closes connections that hold a place without sending a request (idle, half
a head, a stalled body), refuses an oversized head, and caps connections per address.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow

PER_ADDRESS = 4


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway with one-second deadlines and four connections per address."""
    installed = Gateway(tmp_path_factory.mktemp("connections"))
    assert installed.cli("migrate").returncode == 0
    installed.start(
        QUICKOTP_HEADER_TIMEOUT_SECONDS="1",
        QUICKOTP_BODY_TIMEOUT_SECONDS="1",
        QUICKOTP_MAX_CONNECTIONS_PER_ADDRESS=str(PER_ADDRESS),
    )
    yield installed
    installed.stop()


def connect(gateway: Gateway, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", gateway.port), timeout=5, source_address=(source, 0)
    )
    return sock


def read_until_closed(sock: socket.socket, limit: float = 5.0) -> tuple[bytes, float]:
    """Everything the server writes until it closes (or `limit` s pass), and when it closed."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return received, float("inf")
    except ConnectionResetError:
        pass
    return received, time.monotonic() - started


def test_a_connection_that_sends_nothing_is_answered_408_and_closed(gateway: Gateway) -> None:
    """A socket that never sends a byte is closed after the head deadline, with a 408."""
    with connect(gateway) as sock:
        answer, closed_after = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"urn:quickotp:problem:request-timeout" in answer
    assert 0.5 < closed_after < 3


def test_a_trickled_head_is_closed_at_the_deadline(gateway: Gateway) -> None:
    """Half a head, then a byte now and then: the deadline counts from the start."""
    with connect(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        started = time.monotonic()
        sock.settimeout(0.3)
        answer = b""
        while time.monotonic() - started < 5:
            try:
                sock.sendall(b"a")
                answer += sock.recv(65536)
                if answer:
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        closed_after = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert closed_after < 3


def test_a_stalled_body_is_closed(gateway: Gateway) -> None:
    """A head that promises 100 bytes of body, then 10 of them and silence: closed with 408."""
    with connect(gateway) as sock:
        sock.sendall(
            b"POST /rest/SendQuickOTP HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"Mobile=091"
        )
        answer, closed_after = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert closed_after < 3


def test_an_oversized_head_is_refused_431(gateway: Gateway) -> None:
    """A head past 64 KiB is refused before it is all kept."""
    with connect(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
        try:
            for _ in range(40):
                sock.sendall(b"X-Filler: " + b"a" * 4000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer, _ = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 431 ")


def test_connections_past_the_cap_from_one_address_are_refused(gateway: Gateway) -> None:
    """Four idle sockets from one address: a fifth gets 429; another address is served."""
    held = [connect(gateway) for _ in range(PER_ADDRESS)]
    try:
        time.sleep(0.2)
        with connect(gateway) as fifth:
            answer, closed_after = read_until_closed(fifth)
        with connect(gateway, "127.0.0.2") as elsewhere:
            elsewhere.sendall(
                b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n"
            )
            served, _ = read_until_closed(elsewhere)
    finally:
        for sock in held:
            sock.close()

    assert answer.startswith(b"HTTP/1.1 429 ")
    assert closed_after < 1
    assert served.startswith(b"HTTP/1.1 200 ")


def test_requests_sent_in_time_are_served_as_before(gateway: Gateway) -> None:
    """A keep-alive connection with a pause between requests, and a body sent in chunks, work."""
    with httpx.Client(base_url=gateway.url, timeout=5) as client:
        first = client.get("/healthz")
        time.sleep(0.5)
        second = client.get("/healthz")

        def chunks() -> Iterator[bytes]:
            yield b"Mobile=0912"
            time.sleep(0.5)
            yield b"0000000&CodeLength=5"

        posted = client.post(
            "/rest/SendQuickOTP",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

    assert (first.status_code, second.status_code) == (200, 200)
    assert posted.status_code == 200
    assert posted.json()["Status"] == "Token_Invalid"
