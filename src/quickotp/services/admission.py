"""
Admission control: when more is offered than a route can deliver, refuse the excess at once
(RouteOverloaded) instead of accepting codes only for them to expire in the queue.

Each serving process reads the outbox's figures in the background, about once a second
(store/outbox_stats.py), and keeps per route an estimate of how long a message accepted now
would wait before a dispatcher takes it. A request only reads that estimate: while no route
is congested, one attribute test; otherwise its route (the first choice of routing.plan) and
one dict lookup. A send is refused when the wait passes `wait_share` of the code's validity,
so what is accepted still has the rest of its validity to reach the SMSC.

The estimate, per route: a queue is forming when its oldest due message has waited
`SATURATED` seconds or more; then the route is working at its capacity, so the messages due
ahead of a new one divided by the rate at which the backlog drains (from the backlog's size
and the arrivals between readings; see _Drain) is the wait. The head's own delay is a floor:
it holds while the drain rate is unknown or nil (no dispatcher running, the SMSC down), when
only the messages' age tells.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter, Gauge

from quickotp.domain.errors import RouteOverloaded
from quickotp.domain.queue import RouteQueue
from quickotp.domain.routing import FALLBACK, Route, first_choice, first_choices
from quickotp.ports.outbox import QueueFigures
from quickotp.support.background import stop

log = logging.getLogger(__name__)

REFUSALS = Counter(
    "quickotp_admission_refusals", "Sends refused because their route was overloaded", ["route"]
)
WAIT = Gauge(
    "quickotp_route_queue_wait_seconds",
    "Estimated wait in the outbox of a message accepted now, by route (0: no queue)",
    ["route"],
)
OLDEST_DUE = Gauge(
    "quickotp_outbox_oldest_due_seconds",
    "How long the oldest due message in the outbox has waited for a dispatcher (every route)",
)
QUEUE_DUE = Gauge(
    "quickotp_route_queue_due",
    "Messages due and waiting for a dispatcher, by route; read while a queue forms (the oldest"
    " due message has waited a second or more), 0 otherwise",
    ["route"],
)
QUEUE_AGE = Gauge(
    "quickotp_route_queue_age_seconds",
    "How long the route's oldest due message has waited; read while a queue forms, 0 otherwise",
    ["route"],
)

SATURATED = 2.0  # seconds the queue's head has waited: past the dispatcher's idle poll (1 s)
_STALE = 10.0  # seconds without a reading after which the figures are not used
ROUTES_EVERY = 5.0  # seconds between reloads of the routes table
_MAX_RETRY_AFTER = 60


@dataclass(frozen=True)
class RouteLoad:
    """One route's queue as admission control sees it."""

    wait: float  # estimated seconds a message accepted now waits before it is claimed
    due: int  # messages due ahead of it
    head_delay: float  # seconds the oldest due message has waited
    drain: float  # messages a second leaving the backlog (0: not known)


def estimate(due: int, head_delay: float, drain: float) -> float:
    """The wait of a message accepted now (see the module docstring). Pure."""
    if head_delay < SATURATED:
        return 0.0
    if drain <= 0:
        return head_delay
    return max(head_delay, due / drain)


class _Drain:
    """
    One route's drain rate: messages that left its backlog between readings, over a short
    window, and the best such rate of the last minute. A route's capacity changes slowly,
    while what one second shows swings with every stalled commit or busy CPU; taking the
    best recent rate keeps one slow second from refusing a burst of sends, and the head's
    own delay still guards a route that really slowed down.
    """

    def __init__(self, window: float = 3.0, memory: float = 60.0) -> None:
        self.window = window
        self.memory = memory
        self._backlog: int | None = None  # at the last reading
        self._at = 0.0
        self._left: deque[tuple[float, float, int]] = deque()  # (time, seconds, messages left)
        self._rates: deque[tuple[float, float]] = deque()  # (time, rate over the window)

    def update(self, at: float, queue: RouteQueue) -> float:
        """
        Record a reading; the rate. 0 until two readings tell, and 0 while nothing left in
        the last two: a queue that stopped (no dispatcher, the SMSC down) has no rate to
        divide by, only its age.
        """
        if self._backlog is not None and at > self._at:
            left = max(0, self._backlog + queue.arrived - queue.backlog)
            self._left.append((at, at - self._at, left))
        self._backlog, self._at = queue.backlog, at
        while len(self._left) > 1 and self._left[0][0] <= at - self.window:
            self._left.popleft()
        if not self._left:
            return 0.0
        span = sum(seconds for _, seconds, _ in self._left)
        self._rates.append((at, sum(n for _, _, n in self._left) / span))
        while self._rates[0][0] <= at - self.memory:
            self._rates.popleft()
        if not any(n for _, _, n in list(self._left)[-2:]):
            return 0.0
        return max(rate for _, rate in self._rates)


class Admission:
    """
    The per-route wait estimates of one process, refreshed in the background, and the check
    each send passes (see the module docstring).
    """

    def __init__(
        self,
        stats: QueueFigures,
        load_routes: Callable[[], Awaitable[list[Route]]],
        clock: Callable[[], datetime],
        *,
        wait_share: float = 0.5,
        refresh: float = 1.0,
        routes_every: float = ROUTES_EVERY,
    ) -> None:
        self.stats = stats
        self.load_routes = load_routes
        self.clock = clock
        self.wait_share = wait_share
        self.refresh_every = refresh
        self.routes_every = routes_every  # seconds between reloads of the routes table
        self.loads: dict[str, RouteLoad] = {}  # congested routes only
        self._congested = False  # any route with a wait: the only thing an idle check reads
        self._read_at = 0.0  # clock seconds of the last reading
        self._pairs: list[tuple[Route, str]] = []
        self._routes_at = -math.inf
        self._last_id: int | None = None
        self._drains: dict[str | None, _Drain] = {}
        self._shown: set[str] = set()  # route labels of the queue gauges
        self._task: asyncio.Task[None] | None = None

    # the check, on the request path ------------------------------------------------------

    def check(self, account_id: int, mobile: str, validity_seconds: int) -> None:
        """Raise RouteOverloaded when this message would wait past its share of validity."""
        if not self._congested:
            return
        now = self.clock().timestamp()
        if now - self._read_at > _STALE:  # the reader is failing: the database is the issue
            return
        key = first_choice(self._pairs, mobile, account_id)
        load = self.loads.get(key) if key is not None else None
        if load is None:
            return
        limit = validity_seconds * self.wait_share
        if load.wait <= limit:
            return
        REFUSALS.labels(key or "log").inc()
        raise RouteOverloaded(
            f"route {key or 'log'}: about {load.wait:.0f} s in the queue, over {limit:.0f} s",
            retry_after=min(_MAX_RETRY_AFTER, max(1.0, load.wait - limit)),
        )

    # the figures, in the background --------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="admission")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                await self.refresh()
                failing = False
            except Exception as exc:  # keep the last figures; they go stale, then unused
                if not failing:
                    log.warning("reading the outbox's queue figures failed: %s", exc)
                failing = True

    async def refresh(self) -> None:
        """One reading of the outbox: the head always, each route's queue while one forms."""
        moment = self.clock()
        now = moment.timestamp()
        if now - self._routes_at >= self.routes_every:
            self._pairs = first_choices([r for r in await self.load_routes() if r.enabled])
            self._routes_at = now
        head = await self.stats.head(moment)
        head_delay = (moment - head.due_since).total_seconds() if head.due_since else 0.0
        OLDEST_DUE.set(head_delay)
        loads: dict[str, RouteLoad] = {}
        queues: dict[str | None, RouteQueue] = {}
        if head_delay >= SATURATED / 2 or self.loads:
            after = head.last_id if self._last_id is None else self._last_id
            queues, self._last_id = await self.stats.routes(
                [pair[0] for pair in self._pairs], moment, after_id=after
            )
            loads = self._estimate(queues, now, moment)
        else:
            self._drains.clear()  # no queue: an idle gateway reads only the head
            self._last_id = head.last_id
        self._publish(loads)
        self._show_queues(queues, moment)
        self._read_at = now

    def _estimate(
        self, queues: dict[str | None, RouteQueue], now: float, moment: datetime
    ) -> dict[str, RouteLoad]:
        loads = {}
        for key, queue in queues.items():
            drain = self._drains.setdefault(key, _Drain()).update(now, queue)
            delay = (moment - queue.due_since).total_seconds() if queue.due_since else 0.0
            wait = estimate(queue.due, delay, drain)
            if key is not None and wait > 0:
                loads[key] = RouteLoad(wait, queue.due, delay, drain)
        for key in [k for k in self._drains if k not in queues]:
            del self._drains[key]
        return loads

    def _show_queues(self, queues: dict[str | None, RouteQueue], moment: datetime) -> None:
        """Each route's queue for /metrics: what was read, 0 for a route with none."""
        names = {route.name for route, _ in self._pairs} or {FALLBACK}
        keys = {name or "log": name for name in names | {k for k in queues if k is not None}}
        for label in self._shown - set(keys):  # a route removed: its series ends
            QUEUE_DUE.remove(label)
            QUEUE_AGE.remove(label)
        for label, key in keys.items():
            queue = queues.get(key)
            since = queue.due_since if queue is not None else None
            QUEUE_DUE.labels(label).set(queue.due if queue is not None else 0)
            QUEUE_AGE.labels(label).set((moment - since).total_seconds() if since else 0.0)
        self._shown = set(keys)

    def _publish(self, loads: dict[str, RouteLoad]) -> None:
        for key in set(self.loads) | set(loads):
            was, now = key in self.loads, key in loads
            if now and not was:
                load = loads[key]
                log.warning(
                    "route %s: a queue is forming, about %.0f s (%d due, %.0f/s)",
                    key or "log",
                    load.wait,
                    load.due,
                    load.drain,
                )
            elif was and not now:
                log.info("route %s: the queue is gone", key or "log")
            WAIT.labels(key or "log").set(loads[key].wait if now else 0.0)
        self.loads = loads
        self._congested = bool(loads)
