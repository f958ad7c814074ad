"""The whole Amoot surface in process: the app with its Relay methods and its reports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from quickotp.bootstrap import Runtime
from quickotp.web.app import create_app


@pytest.fixture
async def rest(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with every /rest method, over httpx."""
    app = create_app(runtime.gateway, relays=runtime.relays, reports=runtime.reports)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
