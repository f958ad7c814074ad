"""
A real HTTP server on 127.0.0.1 for tests: a Starlette app served by uvicorn in the test's
own event loop, started and stopped within a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp,
    port: int | None = None,
    *,
    http: type[asyncio.Protocol] | str = "auto",
    **options: Any,
) -> AsyncIterator[str]:
    """
    Serve `app` on 127.0.0.1 (with uvicorn's `http` protocol and any other uvicorn
    `options`) for the block; its base URL.
    """
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            http=http,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            timeout_graceful_shutdown=1,
            **options,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task
