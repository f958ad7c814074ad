"""
/metrics for a process that serves no API (`quickotp dispatch --metrics-port`): the same
registry `quickotp serve` shows at /metrics, on a port of its own.

uvicorn runs in the process's event loop, not in a thread, so each scrape reads the route
states and counters from the loop that changes them. The dispatch process keeps its own
SIGTERM handling: uvicorn is not let to take the signals (capture_signals).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from prometheus_client import make_asgi_app

from quickotp.errors import ConfigurationError


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the process's own handlers stop it, and then this server


class MetricsServer:
    """Serves /metrics on `host`:`port` until closed."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.bound_port = port  # once started, the port it listens on (port 0: the one given)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """
        Listen, inside the running loop; ConfigurationError when the address cannot be had
        (taken, or not this machine's).
        """
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve /metrics on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        config = uvicorn.Config(
            make_asgi_app(), lifespan="off", ws="none", access_log=False, log_level="warning"
        )
        # The socket listens from here on: a scrape that comes before uvicorn has started
        # waits in its backlog.
        self.bound_port = int(sock.getsockname()[1])
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="metrics")

    async def aclose(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
