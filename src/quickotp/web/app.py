"""
The ASGI application: routes, and the operations endpoints (/healthz, /readyz, /metrics).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPMethod

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp

from quickotp.services.gateway import Gateway
from quickotp.services.messaging import Messaging
from quickotp.services.reports import Reports
from quickotp.services.webhooks import Relays
from quickotp.web.amoot import AmootApi
from quickotp.web.amoot_reads import AmootReads
from quickotp.web.metrics import metrics_endpoint
from quickotp.web.openapi import DOCUMENT as OPENAPI
from quickotp.web.problems import METHOD_NOT_ALLOWED, NOT_FOUND, plain_problem
from quickotp.web.request_ids import RequestIds
from quickotp.web.rest import RestFront
from quickotp.web.v1 import V1Api


def create_app(
    gateway: Gateway,
    *,
    data_as_array: bool = False,
    ready: Callable[[], Awaitable[bool]] | None = None,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    panel: ASGIApp | None = None,
    relays: Relays | None = None,
    reports: Reports | None = None,
    metrics_token: str | None = None,
) -> ASGIApp:
    """
    The gateway's web app. `on_startup`/`on_shutdown` start and stop what runs beside it;
    `panel`, when given, is mounted at /panel and / leads to it. The Relay methods need
    `relays`; Statistics, GetMessage and GetMessages need `reports`. /metrics is served only
    with a `metrics_token`, to scrapes that carry it (web/metrics.py); /openapi.json is
    public, as the API it describes is.
    """
    reads = AmootReads(gateway, reports).handlers()
    # Free text and patterns need the account's sender lines (Gateway.lines).
    messaging = Messaging(gateway, gateway.lines) if gateway.lines is not None else None
    amoot = AmootApi(
        gateway, data_as_array=data_as_array, relays=relays, reads=reads, messaging=messaging
    )
    v1 = V1Api(gateway, messaging)
    v1_routes = v1.routes()

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def v1_not_found(request: Request) -> Response:
        """Any other /v1 request: 405 with Allow where the path is a resource, else 404."""
        allowed = sorted(
            {
                method
                for route in v1_routes
                if route.matches(request.scope)[0] is Match.PARTIAL
                for method in route.methods or ()
            }
        )
        if allowed:
            return plain_problem(
                METHOD_NOT_ALLOWED,
                f"{request.method} is not one of {', '.join(allowed)}",
                instance=request.url.path,
                headers={"Allow": ", ".join(allowed)},
            )
        return plain_problem(NOT_FOUND, "no such resource", instance=request.url.path)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok = await ready() if ready is not None else True
        return JSONResponse(
            {"status": "ready" if ok else "not ready"}, status_code=200 if ok else 503
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown()

    async def home(request: Request) -> Response:
        return RedirectResponse("/panel/", status_code=303)

    routes: list[BaseRoute] = [
        *v1_routes,
        Route("/v1/{rest:path}", v1_not_found, methods=[method.value for method in HTTPMethod]),
        Route("/openapi.json", openapi),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if metrics_token is not None:
        token = metrics_token

        async def metrics(request: Request) -> Response:
            return await metrics_endpoint(request, token)

        routes.append(Route("/metrics", metrics))
    if panel is not None:
        routes += [Route("/", home), Mount("/panel", app=panel)]
    return RequestIds(RestFront(amoot.handle, Starlette(routes=routes, lifespan=lifespan)))
