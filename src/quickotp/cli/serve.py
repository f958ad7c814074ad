"""
`quickotp serve` (the API, the panel and, unless told not to, a dispatcher; N processes with
--workers) and `quickotp dispatch` (a dispatcher alone), with the HTTP protocol and the
proxy-header options they run uvicorn with.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url

from quickotp.bootstrap import build_app, build_runtime, settle_heap
from quickotp.cli import args as types
from quickotp.cli.demo import prepare
from quickotp.domain.errors import ConfigurationError
from quickotp.settings import Settings
from quickotp.support import logs

log = logging.getLogger("quickotp")


def add_serve(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common], help="run the gateway")
    serve.add_argument("--host", type=types.host, default="127.0.0.1")
    serve.add_argument("--port", type=types.port, default=8000)
    serve.add_argument("--dev", action="store_true", help="dev mode: demo account, own key")
    serve.add_argument(
        "--no-dispatch", action="store_true", help="accept only; a `dispatch` process delivers"
    )
    serve.add_argument(
        "--workers",
        type=types.workers,
        default=1,
        metavar="N",
        help="API processes on one port (PostgreSQL only); each dispatches unless --no-dispatch",
    )


def add_dispatch(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    dispatch = commands.add_parser(
        "dispatch", parents=[common], help="deliver accepted messages (no API; run any number)"
    )
    dispatch.add_argument(
        "--metrics-port",
        type=types.port,
        metavar="PORT",
        help="serve Prometheus's /metrics on this port (none without it)",
    )
    dispatch.add_argument(
        "--metrics-host", type=types.host, default="127.0.0.1", help="the address for /metrics"
    )


async def dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """
    Deliver accepted messages until SIGTERM or SIGINT; no API, and /metrics only on
    --metrics-port (stopped first, before the sends in flight are finished).
    """
    from quickotp.web.metrics import MetricsServer

    runtime = build_runtime(settings, dispatch=True, admit=False)
    token = settings.metrics_token.reveal() if settings.metrics_token else None
    metrics = (
        MetricsServer(args.metrics_host, args.metrics_port, token=token)
        if args.metrics_port
        else None
    )
    try:
        await runtime.check_schema()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if metrics is not None:
            metrics.start()
        await runtime.start()
        settle_heap()
        log.info(
            "dispatching from %s%s",
            runtime.engines.dialect,
            f"; /metrics on {args.metrics_host}:{metrics.port}" if metrics else "",
        )
        await stop.wait()
        log.info("stopping: finishing the sends in flight")
    finally:
        if metrics is not None:
            metrics.stop()
        await runtime.aclose()
    return 0


def serve(settings: Settings, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.workers > 1:
        return _serve_workers(settings, args, environ)
    import uvicorn

    runtime = build_runtime(settings, dispatch=False if args.no_dispatch else None)
    banner = asyncio.run(prepare(runtime, args))
    if banner:
        print(banner, flush=True)  # noqa: T201 - dev mode's welcome, with the demo token
    uvicorn.run(build_app(runtime, settle=True, serve_metrics=True), **_server(settings, args))
    return 0


def _serve_workers(settings: Settings, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """
    `serve --workers N`: N API processes on one socket (uvicorn's supervisor), each building
    its own Runtime from the environment, with a dispatcher unless --no-dispatch. The schema
    check and dev mode's demo account happen once, here, before they start.
    """
    import uvicorn

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"--workers {args.workers} needs PostgreSQL (QUICKOTP_DATABASE_URL=postgresql://...):"
            " processes sharing one SQLite file queue on its single writer and serve no more"
            " than one process does"
        )
    runtime = build_runtime(settings, dispatch=False, admit=False)
    banner = asyncio.run(prepare(runtime, args))
    if banner:
        print(banner, flush=True)  # noqa: T201 - dev mode's welcome, with the demo token
    # The workers are new interpreters: they read their settings from the environment.
    if environ is not os.environ:
        os.environ.update(environ)
    if settings.dev:
        os.environ["QUICKOTP_DEV"] = "1"
    if args.no_dispatch:
        os.environ["QUICKOTP_NO_DISPATCH"] = "1"
    uvicorn.run(
        "quickotp.bootstrap:app_from_environment",
        factory=True,
        workers=args.workers,
        log_config=logs.dict_config(
            environ.get("QUICKOTP_LOG_FORMAT", "plain").strip().lower(),
            log_level(environ, "INFO"),
        ),
        **_server(settings, args),
    )
    return 0


def _server(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's options for `serve`, with one process or several."""
    return {
        "host": args.host,
        "port": args.port,
        "loop": "uvloop",
        "http": _http_protocol(settings),
        "access_log": False,  # uvicorn's access log writes query strings: tokens and codes
        "log_level": "warning",
        **forwarding(settings),
        "limit_concurrency": settings.max_connections,
    }


def log_level(environ: Mapping[str, str], default: str) -> str:
    """QUICKOTP_LOG_LEVEL, QuickOTP's own loggers' level, when it names one."""
    level = environ.get("QUICKOTP_LOG_LEVEL", default).upper()
    return level if level in {"DEBUG", "INFO", "WARNING", "ERROR"} else default


def _http_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The HTTP protocol `serve` runs: uvicorn's httptools with our writes, deadlines and cap."""
    from quickotp.web.connections import ConnectionLimits, limited_protocol

    return limited_protocol(
        ConnectionLimits(
            head_seconds=settings.header_timeout.total_seconds(),
            body_seconds=settings.body_timeout.total_seconds(),
            per_address=settings.max_connections_per_address,
        )
    )


def forwarding(settings: Settings) -> dict[str, Any]:
    """
    uvicorn's proxy-header options: X-Forwarded-For (and -Proto) believed only from the
    proxies in QUICKOTP_FORWARDED_ALLOW_IPS, and from no one when it is empty (the default).
    uvicorn itself would believe 127.0.0.1 (its FORWARDED_ALLOW_IPS default), so that any
    local process could claim any address past token IP allow-lists and per-address limits.
    """
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.forwarded_allow_ips)}
