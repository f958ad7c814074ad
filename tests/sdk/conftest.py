"""
Fixtures for the Python client's tests: the real app in process behind httpx's ASGITransport
(async), and a real `quickotp serve` process on 127.0.0.1 (sync and async), each with an
account that has an approved OTP pattern and a token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import quickotp_client
from quickotp.bootstrap import Runtime
from quickotp.web.app import create_app
from tests.conftest import Seeded
from tests.e2e.server import Gateway

# The fraud guard's per-number limits, /rest's repeat window and the pumping alarm have their
# own tests; here they would refuse a second send to one number within a test run.
GUARD_OFF = {
    "QUICKOTP_GUARD_COOLDOWN_SECONDS": "0",
    "QUICKOTP_GUARD_PER_NUMBER_HOUR": "0",
    "QUICKOTP_GUARD_PER_NUMBER_DAY": "0",
    "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}
IN_PROCESS_URL = "http://gateway.test"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The client's tests need one database, not one of each kind: SQLite."""
    return f"sqlite:///{tmp_path / 'quickotp.db'}"


def asgi(runtime: Runtime, *, data_as_array: bool = False) -> httpx.ASGITransport:
    """The real app over the runtime, in process, as if from a client at 203.0.113.7."""
    app = create_app(runtime.gateway, data_as_array=data_as_array)
    return httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))


@pytest.fixture
async def otp(runtime: Runtime, seeded: Seeded) -> AsyncIterator[quickotp_client.AsyncClient]:
    """An AsyncClient of the real app in process, with the seeded account's token."""
    async with quickotp_client.AsyncClient(
        base_url=IN_PROCESS_URL, token=seeded.token, transport=asgi(runtime)
    ) as client:
        yield client


@dataclass(frozen=True)
class Served:
    """A running gateway process: its URL and a token of an account that can send."""

    url: str
    token: str
    gateway: Gateway


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real `quickotp serve` on 127.0.0.1 for the session (started once: ~2 s)."""
    gateway = Gateway(tmp_path_factory.mktemp("served"), extra_env=GUARD_OFF)
    token = gateway.setup_account()
    gateway.start()
    yield Served(gateway.url, token, gateway)
    gateway.stop()


@pytest.fixture
def sync_otp(served: Served) -> Iterator[quickotp_client.Client]:
    """A blocking Client of the real server process."""
    with quickotp_client.Client(base_url=served.url, token=served.token) as client:
        yield client


@pytest.fixture
async def async_otp(served: Served) -> AsyncIterator[quickotp_client.AsyncClient]:
    """An AsyncClient of the real server process."""
    async with quickotp_client.AsyncClient(base_url=served.url, token=served.token) as client:
        yield client
