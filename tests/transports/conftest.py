"""
Fake upstream providers that follow the documented request and answer shapes (Amoot's
/rest methods, Kavenegar's verify/lookup), served over real HTTP on 127.0.0.1.
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

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.got) < count:
                await asyncio.sleep(0.05)


@dataclass
class Upstream:
    """What the fake upstream answers next, and what it was asked."""

    status_code: int = 200
    body: Any = None  # JSON to answer with; bytes are sent as they are
    by_path: dict[str, Any] = field(default_factory=dict)  # a body for one path instead
    delay: float = 0.0  # seconds before answering: longer than the client's timeout = no answer
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.requests.append((request.url.path, form, dict(request.headers)))
            if self.delay:
                await asyncio.sleep(self.delay)
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
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http
