"""
Fake upstream providers that follow the documented request and answer shapes (Amoot's
/rest methods, Kavenegar's verify/lookup), served over real HTTP on 127.0.0.1, and the
sleep a transport's report polling is handed, which lets each round run when the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quickotp.domain.delivery import DeliveryReport, OutboundSms
from tests.http_peer import serving


def otp_sms(code: str | None = "048213", *, valid_for: float = 120.0) -> OutboundSms:
    """A rendered OTP for 989120000000 and its code."""
    return OutboundSms(
        message_id=7,
        mobile="989120000000",
        sender="10004321",
        text=f"کد ورود شما: {code}",
        parts=1,
        expires_at=datetime.now(UTC) + timedelta(seconds=valid_for),
        account_id=1,
        code=code,
    )


class Reports:
    """A report sink that keeps what it is handed."""

    def __init__(self) -> None:
        self.got: list[DeliveryReport] = []

    async def __call__(self, report: DeliveryReport) -> None:
        self.got.append(report)


class Rounds:
    """
    The sleep a transport's report poller waits in between rounds: it returns when the
    test calls `run`, so a test sees exactly the rounds it asked for. `delays` keeps every
    sleep asked for, in seconds.
    """

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._asleep = asyncio.Event()
        self._wake: asyncio.Future[None] | None = None

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self._wake = asyncio.get_running_loop().create_future()
        self._asleep.set()
        await self._wake

    async def run(self, count: int = 1) -> None:
        """Let `count` rounds run, one after another; return when the poller sleeps again."""
        for _ in range(count):
            async with asyncio.timeout(10):  # generous: a round is one local HTTP request
                await self._asleep.wait()
                self._asleep.clear()
                assert self._wake is not None
                self._wake.set_result(None)
                await self._asleep.wait()


@dataclass
class Upstream:
    """What the fake upstream answers next, and what it was asked."""

    status_code: int = 200
    body: Any = None  # JSON to answer with; bytes are sent as they are
    by_path: dict[str, Any] = field(default_factory=dict)  # a body for one path instead
    silent: bool = False  # no answer until the test is over: past any client's timeout
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    url: str = ""
    over: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.requests.append((request.url.path, form, dict(request.headers)))
            if self.silent:
                await self.over.wait()
            body = self.by_path.get(request.url.path, self.body)
            if isinstance(body, bytes):
                return Response(body, self.status_code)
            return JSONResponse(body, self.status_code)

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """A fake upstream on a free port of 127.0.0.1 (answer shapes set by each test)."""
    fake = Upstream()
    async with serving(fake.app()) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.over.set()  # the answers held back go out, and the server can stop


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http
