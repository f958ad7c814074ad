"""
`RoutingTransport`: one Transport over every configured route, so the dispatcher stays as
it is. routing.py decides the order; this module acts on it, keeps each route's breaker and
counters, and rebuilds routes when the routes table changes: checked every few seconds, and
at once when this process changed it (`reload`, which the panel's route pages call).

Failover: TransportUnavailable (nothing was sent) tries the next route at once.
DeliveryUncertain (the upstream may have it) is never failed over: it goes back to the
dispatcher, which retries later and records the message as a possible duplicate.
TransportRejected ends the message. With no route stored, the fallback (the dev log sink)
carries everything; with routes stored but every one switched off, nothing is sent
(TransportUnavailable: messages wait, and expire, until a route is switched on).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from quickotp.adapters.transports.http.amoot import AmootConfig, AmootTransport
from quickotp.adapters.transports.http.kavenegar import KavenegarConfig, KavenegarTransport
from quickotp.adapters.transports.http.upstream import new_client
from quickotp.adapters.transports.smpp.slots import NoSlotHere
from quickotp.adapters.transports.smpp.transport import SmppConfig, SmppTransport
from quickotp.domain.delivery import (
    DeliveryReport,
    OutboundSms,
    ReportSink,
    RouteState,
    SendReceipt,
)
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryError,
    DeliveryUncertain,
    InvalidInput,
    LineRefused,
    Subject,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.routing import Breaker, BreakerPolicy, BreakerState, Route, any_match, plan
from quickotp.ports.transport import ReportsRouteState, Transport
from quickotp.support.background import stop

log = logging.getLogger(__name__)

KINDS = ("smpp", "amoot", "kavenegar")
_RETIRE_WAIT = 60.0  # seconds a replaced route may finish its sends before it is closed


def check_url(url: str) -> tuple[str, str]:
    """
    The kind of a route URL and the URL as it may be shown (credential blanked);
    InvalidInput says what is wrong with it, never echoing the credential.
    """
    try:
        scheme = urlsplit(url.strip()).scheme
    except ValueError:  # urlsplit's own refusal, e.g. an unclosed IPv6 bracket
        raise InvalidInput("the route URL is not a URL", subject=Subject.ROUTE_URL) from None
    try:
        if scheme == "smpp":
            SmppConfig.from_url(url)
            return "smpp", _shown_smpp(url)
        if scheme == "amoot":
            return "amoot", AmootConfig.from_url(url)[1]
        if scheme == "kavenegar":
            return "kavenegar", KavenegarConfig.from_url(url)[1]
    except ConfigurationError as exc:
        raise InvalidInput(str(exc), subject=Subject.ROUTE_SETTINGS) from None
    raise InvalidInput(
        f"a route URL starts with one of {', '.join(k + '://' for k in KINDS)}",
        subject=Subject.ROUTE_URL,
    )


def _shown_smpp(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def build_transport(route: Route, clock: Callable[[], datetime]) -> Transport:
    """
    The transport for one route, named after it (messages.transport carries the name);
    `clock` is the time now (UTC), the composition root's.
    """
    if route.kind == "smpp":
        return SmppTransport.from_url(route.url, clock=clock, name=route.name)
    if route.kind == "amoot":
        amoot, _ = AmootConfig.from_url(route.url)
        return AmootTransport(new_client(), amoot, clock=clock, name=route.name, owns_client=True)
    if route.kind == "kavenegar":
        kavenegar, _ = KavenegarConfig.from_url(route.url)
        return KavenegarTransport(
            new_client(), kavenegar, clock=clock, name=route.name, owns_client=True
        )
    raise ConfigurationError(f"route {route.name}: unknown kind {route.kind!r}")


class _Reports:
    """
    The report sink each route's transport is given.

    The dispatcher's sink returns once the report is committed; an SMPP session reads its
    next deliver_sm only after the sink returns, so awaiting each commit in turn would make
    receipts one commit each (about 300 receipts/s while 900 submits/s go out). Here each
    report is handed on as its own task, so reports arriving together share a commit; at most
    `limit` wait at once, after which the reader waits too. (The SMPP session answers a
    deliver_sm once this has taken it: a report taken here and lost to a crash before its
    commit is not sent again by the SMSC.)

    A sink that hands back a future (the dispatcher's: its group commit's) is followed as
    is; a coroutine runs as a task.

    Reports are not held back waiting for their submit to be recorded: a report joins the
    same group commit as the outcome queued before it (Dispatcher._record), so it finds its
    message without a wait (holding reports back 100 ms shows no gain in
    bench/e2e_smpp.py).
    """

    def __init__(self, sink: ReportSink, *, limit: int = 4096) -> None:
        self._sink = sink
        self._slots = asyncio.Semaphore(limit)
        self._recording: set[asyncio.Future[None]] = set()  # reports not yet committed

    async def __call__(self, report: DeliveryReport) -> None:
        await self._slots.acquire()
        try:
            recorded = asyncio.ensure_future(self._sink(report))
        except BaseException:  # a sink that refuses at once keeps no slot
            self._slots.release()
            raise
        self._recording.add(recorded)
        recorded.add_done_callback(self._done)

    def _done(self, recorded: asyncio.Future[None]) -> None:
        self._recording.discard(recorded)
        self._slots.release()
        if not recorded.cancelled() and (error := recorded.exception()) is not None:
            log.error("recording a delivery report failed: %r", error)

    async def drain(self) -> None:
        if self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)


class _Rate:
    """Successful sends a second over the last ten whole seconds."""

    def __init__(self, seconds: int = 10) -> None:
        self._seconds = seconds
        self._buckets: deque[list[int]] = deque(maxlen=seconds + 1)  # [second, count]

    def add(self, now: float) -> None:
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([second, 1])

    def per_second(self, now: float) -> float:
        current = int(now)
        done = sum(n for s, n in self._buckets if current - self._seconds <= s < current)
        return round(done / self._seconds, 1)


@dataclass
class _Live:
    """A route in use: its transport, its breaker, and what it did since it was built."""

    route: Route
    transport: Transport
    breaker: Breaker
    in_flight: int = 0
    sent: int = 0
    errors: int = 0
    last_error: str = ""
    rate: _Rate = field(default_factory=_Rate)


class RoutingTransport:
    """A Transport that sends each message through the first route that takes it."""

    name = "router"

    def __init__(
        self,
        load: Callable[[], Awaitable[list[Route]]],
        *,
        fallback: Transport,
        build: Callable[[Route], Transport],
        clock: Callable[[], float],
        policy: BreakerPolicy | None = None,
        refresh: float = 5.0,
        bind_grace: float = 2.0,
    ) -> None:
        """`build` makes a route's transport; `clock` is monotonic seconds (breakers, rates)."""
        self._load = load
        self._fallback = fallback
        self._build = build
        self._clock = clock
        self._policy = policy or BreakerPolicy()
        self._refresh = refresh
        self._bind_grace = bind_grace
        self._live: dict[str, _Live] = {}
        self._stored = 0  # routes in the table, switched on or off
        # Views of _live that each send reads, rebuilt when routes change.
        self._routes: list[Route] = []
        self._breakers: dict[str, Breaker] = {}
        self._smpp: dict[str, SmppTransport] = {}
        self._reports: _Reports | None = None
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._applying = asyncio.Lock()  # one reload at a time (reload())

    async def start(self, reports: ReportSink) -> None:
        """Start the fallback and every configured route; SMPP routes get a moment to bind."""
        self._reports = _Reports(reports)
        await self._fallback.start(reports)
        await self.reload()
        smpp = [
            live.transport
            for live in self._live.values()
            if isinstance(live.transport, SmppTransport)
        ]
        for _ in range(int(self._bind_grace / 0.02)):  # polled: the binds are smpp's own
            if all(t.bound for t in smpp):
                break
            await asyncio.sleep(0.02)
        if self._refresh > 0:
            self._task = asyncio.create_task(self._watch(), name="routes")

    async def aclose(self) -> None:
        await stop(self._task)
        live, self._live = list(self._live.values()), {}
        await asyncio.gather(*(item.transport.aclose() for item in live), return_exceptions=True)
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._reports is not None:
            await self._reports.drain()
        await self._fallback.aclose()

    async def send(self, sms: OutboundSms) -> SendReceipt:
        if not self._live:
            if self._stored:
                raise TransportUnavailable("every route is switched off")
            return await self._fallback.send(sms)
        # No await from here to the loop: the routes cannot change under the plan.
        code = sms.code is not None
        order = plan(
            self._routes,
            mobile=sms.mobile,
            account_id=sms.account_id,
            breakers=self._breakers,
            down=frozenset(name for name, transport in self._smpp.items() if transport.bound == 0),
            now=self._clock(),
            sender=sms.sender,
            code=code,
        )
        if not order and not any_match(
            self._routes, mobile=sms.mobile, account_id=sms.account_id, sender=sms.sender, code=code
        ):
            if any_match(self._routes, mobile=sms.mobile, account_id=sms.account_id, code=code):
                raise LineRefused(f"no route carries the line {sms.sender[:20]}")
            raise TransportRejected(f"no route takes …{sms.mobile[-4:]} for this account")
        last: TransportUnavailable | None = None
        failed_on = ""  # the last route that failed it: the message is counted under it
        # (A route being replaced right now is passed over.)
        for item in [self._live[r.name] for r in order if r.name in self._live]:
            if not item.breaker.begin(self._clock()):
                continue  # another send took the half-open probe meanwhile
            item.in_flight += 1
            try:
                receipt = await item.transport.send(sms)
            except TransportRejected as exc:
                item.breaker.succeeded()  # it answered: the route works
                exc.route = item.route.name
                raise
            except NoSlotHere as exc:  # other dispatchers hold its binds: the route is fine
                item.breaker.released()
                last = exc
                continue
            except TransportUnavailable as exc:
                self._failed(item, exc)
                exc.route = failed_on = item.route.name
                if isinstance(exc, DeliveryUncertain):
                    raise  # it may have been sent: never try another route blindly
                last = exc
                continue
            except BaseException:
                item.breaker.released()
                raise
            finally:
                item.in_flight -= 1
            item.breaker.succeeded()
            item.sent += 1
            item.rate.add(self._clock())
            return receipt
        if last is not None:
            failure = TransportUnavailable(f"every route failed; the last: {last}")
            failure.route = failed_on
            raise failure
        raise TransportUnavailable("every route for this message is cooling down")

    def _failed(self, item: _Live, exc: DeliveryError) -> None:
        was = item.breaker.state
        item.breaker.failed(self._clock())
        item.errors += 1
        item.last_error = str(exc)
        if item.breaker.state is BreakerState.OPEN and was is not BreakerState.OPEN:
            log.warning(
                "route %s is taken out for %.0f s after %d failures in a row: %s",
                item.route.name,
                item.breaker.cool_down,
                item.breaker.failures,
                exc,
            )

    # the live state, for the panel's routes page (the RouteMonitor Protocol) -------------

    def routes(self) -> list[RouteState]:
        """Each route's live state; the fallback's alone when no route is stored."""
        if not self._live and not self._stored:
            if isinstance(self._fallback, ReportsRouteState):
                return [self._fallback.route_state()]
            return [RouteState(name=self._fallback.name, up=None, kind="log")]
        now = self._clock()
        return [self._state(item, now) for item in self._live.values()]

    def _state(self, item: _Live, now: float) -> RouteState:
        breaker = item.breaker.current(now)
        binds = binds_up = window = None
        up: bool | None = breaker is not BreakerState.OPEN
        if isinstance(item.transport, SmppTransport):
            config = SmppConfig.from_url(item.route.url)
            binds, binds_up = config.binds, item.transport.bound
            window = config.window * config.binds
            if up and not item.transport.holds_binds:
                up = None  # other dispatchers hold every bind slot: theirs to say
            elif up:
                up = binds_up > 0
        elif item.sent == 0 and item.errors == 0 and breaker is BreakerState.CLOSED:
            up = None  # an HTTP upstream says nothing of itself until it is used
        detail = f"{item.route.kind} · breaker {breaker} · sent {item.sent} · {item.route.shown}"
        if item.last_error:
            detail += f" · last error: {item.last_error}"
        return RouteState(
            name=item.route.name,
            up=up,
            binds_up=binds_up,
            binds=binds,
            window_in_use=item.in_flight,
            window_size=window,
            throughput=item.rate.per_second(now),
            errors=item.errors,
            detail=detail,
            kind=item.route.kind,
            sent=item.sent,
            breaker=str(breaker),
            failures=item.breaker.failures,
            last_error=item.last_error,
        )

    def transport_of(self, route: Route) -> Transport | None:
        """The transport this process runs for `route` as it is now (None: none runs it)."""
        item = self._live.get(route.name)
        return item.transport if item is not None and item.route == route else None

    # keeping up with the routes table ------------------------------------------------------

    async def reload(self) -> None:
        """
        Read the routes table now and apply it (nothing before start()). One reload at a
        time, so an older read is never applied over a newer one.
        """
        if self._reports is None:
            return
        async with self._applying:
            await self._apply(await self._load())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                await self.reload()
            except Exception as exc:  # keep routing with what we have
                log.error("reloading routes failed, keeping the current ones: %s", exc)

    async def _apply(self, routes: list[Route]) -> None:
        """Start new and changed routes, retire removed and changed ones."""
        if self._reports is None:
            raise RuntimeError("routes are applied after start()")
        wanted = {route.name: route for route in routes if route.enabled}
        self._stored = len(routes)
        for name, item in list(self._live.items()):
            if wanted.get(name) != item.route:
                del self._live[name]
                self._retire(item)
        for name, route in wanted.items():
            if name in self._live:
                continue
            transport = self._build(route)
            await transport.start(self._reports)
            self._live[name] = _Live(route, transport, Breaker(self._policy))
            log.info("route %s (%s) is in use: %s", name, route.kind, route.shown)
        self._routes = [item.route for item in self._live.values()]
        self._breakers = {name: item.breaker for name, item in self._live.items()}
        self._smpp = {
            name: item.transport
            for name, item in self._live.items()
            if isinstance(item.transport, SmppTransport)
        }

    def _retire(self, item: _Live) -> None:
        async def close() -> None:
            for _ in range(int(_RETIRE_WAIT / 0.1)):
                if not item.in_flight:
                    break
                await asyncio.sleep(0.1)
            await item.transport.aclose()
            log.info("route %s is no longer in use", item.route.name)

        task = asyncio.create_task(close())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
