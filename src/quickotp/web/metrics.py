"""
Where Prometheus reads the metrics: on an address of their own (QUICKOTP_METRICS_ADDRESS,
127.0.0.1:9108 by default: only this host can read them), and on the API's port only when
QUICKOTP_METRICS_TOKEN is set and the scrape carries it as a bearer token. The counters say
how much traffic each outcome gets and how the routes fare, which is the operator's business.

The own address is served by prometheus_client's WSGI app on the standard library's
threaded WSGI server (what prometheus_client.start_wsgi_server does), with SO_REUSEPORT so
that every process of `serve --workers N` can listen on it: each scrape then reads one
process, as /metrics on the API port did.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, make_wsgi_app
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from quickotp.domain.errors import ConfigurationError

log = logging.getLogger(__name__)

PATH = "/metrics"


def authorized(header: str, token: str | None) -> bool:
    """Whether an Authorization header carries `token` (None: no token asked for)."""
    if token is None:
        return True
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


async def metrics_endpoint(request: Request, token: str) -> Response:
    """/metrics on the API's port: the metrics, to a scrape with the bearer token only."""
    if not authorized(request.headers.get("authorization", ""), token):
        return PlainTextResponse(
            "a bearer token is required", 401, headers={"WWW-Authenticate": "Bearer"}
        )
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _guarded(app: WsgiApp, token: str | None) -> WsgiApp:
    """`app` at PATH alone, behind the bearer token when there is one."""

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not authorized(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"a bearer token is required\n"]
        return app(environ, start_response)

    return guarded


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per scrape on stderr."""


class MetricsServer:
    """The metrics on their own address, in a thread, until `stop`."""

    def __init__(
        self, host: str, port: int, *, token: str | None = None, shared: bool = False
    ) -> None:
        """
        `shared`: every process of `serve --workers N` listens on the one address
        (SO_REUSEPORT); otherwise an address another process holds is a ConfigurationError.
        """
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(ThreadingMixIn, WSGIServer):
            address_family = family
            allow_reuse_address = True
            allow_reuse_port = shared
            daemon_threads = True

        try:
            self._server = make_server(
                host, port, _guarded(make_wsgi_app(REGISTRY), token), Server, _Quiet
            )
        except OSError as exc:  # taken, or not an address of this machine
            raise ConfigurationError(
                f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        self._thread.start()
        log.info("metrics on %s:%d%s", self._server.server_address[0], self.port, PATH)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which must run
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
