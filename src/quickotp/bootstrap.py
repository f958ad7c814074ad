"""
The composition root: the only module that names concrete classes, reads the real clock
and the real randomness, and reveals the secret key.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import text
from starlette.types import ASGIApp

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.adapters.store.alerts import AlertSqlStore
from quickotp.adapters.store.checkpoint import WalCheckpointer
from quickotp.adapters.store.credentials import CredentialSqlStore
from quickotp.adapters.store.engine import Engines, create_engines
from quickotp.adapters.store.identity import IdentitySqlStore
from quickotp.adapters.store.lines import SqlLines
from quickotp.adapters.store.message_log import MessageLogSqlStore
from quickotp.adapters.store.migrate import SchemaState, schema_state, upgrade
from quickotp.adapters.store.number_index import NumberIndexer
from quickotp.adapters.store.outbox_stats import OutboxStats
from quickotp.adapters.store.panel import PanelSqlStore
from quickotp.adapters.store.reports import ReportSqlStore
from quickotp.adapters.store.retention import RetentionSqlStore
from quickotp.adapters.store.route_alarms import AlarmSqlStore
from quickotp.adapters.store.routes import RouteBook
from quickotp.adapters.store.schedule import SqlSchedule
from quickotp.adapters.store.sql import SqlStore
from quickotp.adapters.store.webhooks import WebhookStore
from quickotp.adapters.transports.log import LogSinkTransport
from quickotp.adapters.transports.routed import RoutingTransport, build_transport, check_url
from quickotp.adapters.transports.smpp.transport import SmppTransport
from quickotp.adapters.transports.trial import RouteTrials
from quickotp.domain import ids, keys
from quickotp.domain.errors import ConfigurationError, InvalidInput
from quickotp.domain.routing import BreakerPolicy, Route
from quickotp.panel.app import Panel, PanelConfig, create_panel
from quickotp.panel.pages import account as account_pages
from quickotp.panel.pages import accounts as accounts_pages
from quickotp.panel.pages import alerts as alert_pages
from quickotp.panel.pages import auth as auth_pages
from quickotp.panel.pages import message_log as message_log_pages
from quickotp.panel.pages import operator as operator_pages
from quickotp.panel.pages import quick_start as quick_start_pages
from quickotp.panel.pages import routes as route_pages
from quickotp.panel.pages import two_factor as two_factor_pages
from quickotp.panel.pages import webhooks as webhook_pages
from quickotp.ports.limits import Limiter
from quickotp.ports.outbox import NoOutbox
from quickotp.ports.people import DeliveryLog
from quickotp.ports.transport import RouteMonitor, Transport
from quickotp.services.admin import Admin
from quickotp.services.admission import Admission
from quickotp.services.credit_alerts import CreditAlerts, EventWorker
from quickotp.services.credit_watch import CreditWatch
from quickotp.services.desk import OperatorDesk
from quickotp.services.dispatcher import DispatchConfig, Dispatcher
from quickotp.services.gateway import Gateway
from quickotp.services.gateway_config import GatewayConfig, Keys
from quickotp.services.guard import Guard, Policy, policy_from_env
from quickotp.services.message_log import MessageLog
from quickotp.services.monitor import ROUTE_METRICS, CounterGuardStats, TransportMonitor
from quickotp.services.pruning import Pruning
from quickotp.services.quick_start import QuickStart
from quickotp.services.report_urls import ReportUrls
from quickotp.services.reports import Reports
from quickotp.services.route_alarms import AlarmHook, RouteWatch
from quickotp.services.routes import RouteDesk
from quickotp.services.users import Users, UsersConfig
from quickotp.services.webhooks import Relays, WebhookConfig, WebhookWorker
from quickotp.services.workspace import Workspace
from quickotp.settings import Settings
from quickotp.support import password_pool, tracing
from quickotp.support.background import stop
from quickotp.support.faults import log_failure
from quickotp.web import amoot_wire
from quickotp.web.app import create_app

if TYPE_CHECKING:  # PostgreSQL and Redis adapters load only when configured (extras)
    from quickotp.adapters.store.bind_leases import BindLeases
    from quickotp.adapters.store.notify import OutboxListener
from quickotp.adapters.public_http import Resolver, SystemResolver, TargetCheck
from quickotp.adapters.report_client import ReportClient
from quickotp.ports.webhooks import UrlCheck
from quickotp.web.metrics import MetricsServer

log = logging.getLogger(__name__)


PANEL_ZONE = ZoneInfo("Asia/Tehran")  # the panel shows and groups times in Iran's time
SCHEMA_NEWER = (
    "the database's schema is newer than this QuickOTP: upgrade QuickOTP, or restore a backup"
)
SCHEMA_BEHIND = "the database schema is not current: run `quickotp migrate`"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _verification_id() -> str:
    return ids.uuid7_hex(time.time_ns() // 1_000_000, os.urandom(ids.RANDOM_BYTES))


@dataclass(frozen=True)
class PruneSchedule:
    """When a running process prunes by itself (QUICKOTP_RETENTION_DAYS above 0)."""

    every: timedelta = timedelta(hours=1)
    first_after: timedelta = timedelta(minutes=5)  # after start: let the process settle first


@dataclass
class Runtime:
    """Everything one process runs, built from Settings; start() and aclose() bracket it."""

    settings: Settings
    engines: Engines
    store: SqlStore
    gateway: Gateway
    admin: Admin
    dispatcher: Dispatcher | None
    users: Users
    workspace: Workspace
    desk: OperatorDesk
    route_book: RouteBook
    relays: Relays
    webhooks: WebhookWorker | None  # beside the dispatcher: posts delivery reports to clients
    reports: Reports  # Statistics and the message reads of the Amoot surface
    pruning: Pruning  # retention: `quickotp prune`, and hourly while running
    spans: tracing.Spans  # OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set
    credit_alerts: CreditAlerts  # low-credit thresholds, and finding the accounts under theirs
    route_desk: RouteDesk  # the operator's route pages
    report_urls: ReportUrls  # an account's Webhooks page
    route_watch: RouteWatch | None = None  # beside the dispatcher: route alarms
    listener: OutboxListener | None = None  # PostgreSQL: wakes the dispatcher on any accept
    admission: Admission | None = None  # refuses what congested routes cannot deliver in time
    bind_leases: BindLeases | None = None  # PostgreSQL: SMPP bind slots shared by dispatchers
    checkpointer: WalCheckpointer | None = None  # SQLite: WAL checkpoints off the write path
    number_index: NumberIndexer | None = None  # SQLite: new numbers into the search's index
    credit_watch: CreditWatch | None = None  # /metrics: the accounts nearest to no credit
    prune_schedule: PruneSchedule = field(default_factory=PruneSchedule)
    # Beside the webhook worker: posts low-credit alerts, and looks for crossings.
    event_worker: EventWorker | None = None
    _pruner: asyncio.Task[None] | None = None
    _alert_watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.start()
        if self.number_index is not None:
            self.number_index.start()
        self.gateway.start()
        if self.admission is not None:
            self.admission.start()
        if self.credit_watch is not None:
            self.credit_watch.start()
        if self.dispatcher is not None:
            await self.dispatcher.start()
            ROUTE_METRICS.watch(self.desk.monitor)
            if self.engines.dialect == "postgresql":
                from quickotp.adapters.store.notify import OutboxListener

                self.listener = OutboxListener(self.settings.database_url, self.dispatcher.wake)
                self.listener.start()
        if self.webhooks is not None:
            await self.webhooks.start()
        if self.event_worker is not None:
            self.event_worker.start()
            self._alert_watch = asyncio.create_task(
                self.credit_alerts.run_every(), name="credit-alerts"
            )
        if self.route_watch is not None:
            self.route_watch.start()
        if self.settings.retention_days:
            self._pruner = asyncio.create_task(
                self.pruning.run_every(
                    timedelta(days=self.settings.retention_days),
                    self.prune_schedule.every,
                    self.prune_schedule.first_after,
                ),
                name="retention",
            )

    async def aclose(self) -> None:
        ROUTE_METRICS.forget(self.desk.monitor)
        await password_pool.shutdown()
        if self.credit_watch is not None:
            await self.credit_watch.aclose()
        await stop(self._pruner)
        self._pruner = None
        if self.admission is not None:
            await self.admission.aclose()
        await self.gateway.aclose()
        if self.gateway.guard is not None:
            await self.gateway.guard.limiter.aclose()
        if self.listener is not None:
            await self.listener.aclose()
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        if self.webhooks is not None:
            await self.webhooks.aclose()
        await stop(self._alert_watch)
        self._alert_watch = None
        if self.event_worker is not None:
            await self.event_worker.aclose()
        if self.route_watch is not None:
            await self.route_watch.aclose()
        await self.report_urls.aclose()
        if self.bind_leases is not None:
            await self.bind_leases.aclose()
        if self.number_index is not None:
            await self.number_index.aclose()
        if self.checkpointer is not None:
            await self.checkpointer.aclose()
        await self.engines.dispose()
        self.spans.shutdown()

    async def migrate(self) -> None:
        """
        Bring the database's schema up to this code's (what `quickotp migrate` does);
        ConfigurationError, changing nothing, when a newer QuickOTP made it.
        """
        if await schema_state(self.engines) is SchemaState.NEWER:
            raise ConfigurationError(SCHEMA_NEWER)
        await upgrade(self.engines, route_key=route_key(self.settings))

    async def check_schema(self) -> None:
        """ConfigurationError, saying what to do, unless the schema is this code's own."""
        state = await schema_state(self.engines)
        if state is SchemaState.NEWER:
            raise ConfigurationError(SCHEMA_NEWER)
        if state is SchemaState.BEHIND:
            raise ConfigurationError(SCHEMA_BEHIND)

    async def ready(self) -> bool:
        """
        Whether every backend this process needs answers: the database, and Redis when the
        fraud guard counts there (QUICKOTP_REDIS_URL): without it every guarded request is
        refused (or, failing open, let through unlimited).
        """
        try:
            async with self.engines.read.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            log_failure(log, "not ready: the database is not reachable", exc=exc)
            return False
        guard = self.gateway.guard
        if guard is not None and not await guard.limiter.ready():
            log.warning("not ready: the limits backend (Redis) does not answer")
            return False
        return True


def needs_extra(module: str, extra: str) -> None:
    """ConfigurationError, naming the extra to install, when an optional driver is missing."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"this configuration needs {module}: pip install 'quickotp[{extra}]'"
        ) from None


def route_key(settings: Settings) -> bytes:
    """The key that seals stored route URLs (their SMSC passwords and API tokens)."""
    return keys.derive(settings.secret_key.reveal().encode(), "routes")


def build_runtime(
    settings: Settings,
    *,
    dispatch: bool | None = None,
    transport: Transport | None = None,
    admit: bool = True,
    resolver: Resolver | None = None,
    clock: Callable[[], datetime] = utc_now,
    spans: tracing.Spans | None = None,
) -> Runtime:
    """
    One process's services. `dispatch` overrides settings.dispatch; `admit=False` leaves out
    admission control (a process that serves no API, as `quickotp dispatch`); `resolver`
    resolves the hosts of delivery-report URLs (the system's by default); `clock` is the
    time now (UTC) that every service reads: the real one, or a demo's that moves through
    the past (scripts/screenshots); `spans` records the accept, dispatch and report spans
    (by default OpenTelemetry's when settings.tracing is on, else none).
    """
    if settings.database_url.startswith("postgres"):
        needs_extra("asyncpg", "postgres")
    resolver = resolver or SystemResolver()
    targets = TargetCheck(resolver, allow_private=settings.webhook_private_urls)
    if spans is None:
        spans = tracing.OFF
        if settings.tracing:
            needs_extra("opentelemetry.sdk", "tracing")
            spans = tracing.otlp(os.environ)
    engines = create_engines(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        sqlite_checkpoints=False,  # the runtime's WalCheckpointer makes them
    )
    store = SqlStore(engines)
    lines = SqlLines(engines)
    key_material = Keys.from_secret(settings.secret_key.reveal().encode())
    route_book = RouteBook(engines, route_key(settings))
    webhook_store = WebhookStore(engines)
    dispatcher = None
    bind_leases = None
    if settings.dispatch if dispatch is None else dispatch:
        if transport is None and engines.dialect == "postgresql":
            from quickotp.adapters.store.bind_leases import BindLeases

            bind_leases = BindLeases(settings.database_url)
        dispatcher = Dispatcher(
            store,
            # The configured routes; with none, the dev log sink carries every message.
            transport
            or RoutingTransport(
                route_book.load,
                fallback=LogSinkTransport(clock, settings.sink_file),
                build=route_builder(bind_leases, clock),
                clock=time.monotonic,
                policy=BreakerPolicy(
                    failures=settings.route_failures,
                    cool_down=settings.route_cool_down.total_seconds(),
                    max_cool_down=max(300.0, settings.route_cool_down.total_seconds()),
                ),
            ),
            clock,
            DispatchConfig(
                concurrency=settings.dispatch_concurrency,
                batch=settings.dispatch_batch,
                lease=settings.dispatch_lease,
                # SQLite has one writer: concurrent records would only queue for it.
                record_flights=settings.dispatch_record_flights
                if engines.dialect == "postgresql"
                else 1,
            ),
            spans=spans,
        )
    admission = None
    if admit and settings.admission_wait_percent:
        admission = Admission(
            OutboxStats(engines),
            route_book.load,
            clock,
            wait_share=settings.admission_wait_percent / 100,
        )
    gateway = Gateway(
        store=store,
        keys=key_material,
        clock=clock,
        randbelow=secrets.randbelow,
        new_id=_verification_id,
        config=GatewayConfig(
            otp_ttl=settings.otp_ttl,
            verify_attempts=settings.verify_attempts,
            price_per_part=settings.price_per_part,
            regions=settings.regions,
            token_cache=settings.token_cache,
            message_ttl=settings.message_ttl,
            shared_lines=settings.shared_lines,
            max_pending_patterns=settings.max_pending_patterns,
            patterns_per_hour=settings.patterns_per_hour,
        ),
        outbox=dispatcher or NoOutbox(),
        guard=build_guard(settings, store, key_material, clock),
        admission=admission,
        lines=lines,
        spans=spans,
    )
    admin = Admin(
        store,
        key_material.token,
        clock,
        secrets.token_urlsafe,
        lines=lines,
        schedule=SqlSchedule(engines),
    )
    pruning = Pruning(RetentionSqlStore(engines, PANEL_ZONE), clock, PANEL_ZONE)
    users, workspace, desk = build_panel_services(
        settings,
        engines,
        store,
        webhook_store,
        gateway,
        admin,
        dispatcher,
        targets,
        clock,
        route_book=route_book,
        pruning=pruning,
    )
    alert_store = AlertSqlStore(engines)
    alarms = AlarmSqlStore(engines)
    router = dispatcher.transport if dispatcher is not None else None
    route_desk = RouteDesk(
        routes=route_book,
        switch=RouteTrials(
            router if isinstance(router, RoutingTransport) else None,
            lambda route: build_transport(route, clock),
        ),
        read_url=check_url,
        alarms=alarms,
        monitor=desk.monitor,
        panel=desk.panel,
        store=store,
        identity=desk.identity,
        clock=clock,
        randbelow=secrets.randbelow,
        regions=settings.regions,
    )
    return Runtime(
        settings,
        engines,
        store,
        gateway,
        admin,
        dispatcher,
        checkpointer=WalCheckpointer(engines) if engines.dialect == "sqlite" else None,
        number_index=NumberIndexer(engines) if engines.dialect == "sqlite" else None,
        users=users,
        workspace=workspace,
        desk=desk,
        route_book=route_book,
        reports=Reports(ReportSqlStore(engines)),
        relays=Relays(webhook_store, clock, lambda: "whsec_" + secrets.token_urlsafe(24), targets),
        webhooks=(
            WebhookWorker(
                webhook_store,
                ReportClient(resolver, allow_private=settings.webhook_private_urls),
                clock,
                WebhookConfig(max_attempts=settings.webhook_attempts),
                render=amoot_wire.report_body,
                owns_poster=True,
            )
            if dispatcher is not None
            else None
        ),
        admission=admission,
        bind_leases=bind_leases,
        credit_watch=CreditWatch(store.lowest_credits, settings.price_per_part) if admit else None,
        pruning=pruning,
        spans=spans,
        credit_alerts=CreditAlerts(alert_store, store, desk.identity, clock),
        event_worker=(
            EventWorker(
                alert_store,
                ReportClient(resolver, allow_private=settings.webhook_private_urls),
                clock,
                owns_poster=True,
            )
            if dispatcher is not None
            else None
        ),
        route_desk=route_desk,
        report_urls=ReportUrls(
            store=store,
            relays=webhook_store,
            panel=desk.panel,
            deliveries=webhook_store,
            retries=webhook_store,
            poster=ReportClient(resolver, allow_private=settings.webhook_private_urls),
            clock=clock,
            render_test=amoot_wire.test_body,
        ),
        route_watch=(
            RouteWatch(desk.monitor, alarms, clock, hook=alarm_hook(settings, resolver))
            if dispatcher is not None
            else None
        ),
    )


def alarm_hook(settings: Settings, resolver: Resolver) -> AlarmHook | None:
    """Where route alarms are posted (QUICKOTP_ROUTE_ALARM_URL), by delivery reports' rule."""
    if settings.route_alarm_url is None:
        return None
    secret = settings.route_alarm_secret
    return AlarmHook(
        settings.route_alarm_url,
        secret.reveal() if secret is not None else "",
        ReportClient(resolver, allow_private=settings.webhook_private_urls),
    )


def route_builder(
    leases: BindLeases | None, clock: Callable[[], datetime]
) -> Callable[[Route], Transport]:
    """
    How the router builds a route's transport, reading the time from `clock`; with `leases`
    (PostgreSQL), an SMPP route's binds are shared with every other dispatcher, so its
    `binds` limit holds across them.
    """

    def build(route: Route) -> Transport:
        if route.kind == "smpp" and leases is not None:
            return SmppTransport.from_url(
                route.url,
                clock=clock,
                name=route.name,
                slots=lambda binds: leases.route(route.name, binds),
            )
        return build_transport(route, clock)

    return build


def build_panel_services(
    settings: Settings,
    engines: Engines,
    store: SqlStore,
    deliveries: DeliveryLog,
    gateway: Gateway,
    admin: Admin,
    dispatcher: Dispatcher | None,
    targets: UrlCheck,
    clock: Callable[[], datetime],
    *,
    route_book: RouteBook,
    pruning: Pruning,
) -> tuple[Users, Workspace, OperatorDesk]:
    """
    The panel's use cases: people and sessions, an account's workspace, the operator's desk
    (which the CLI's operator commands call too).
    """
    identity = IdentitySqlStore(engines)
    panel_store = PanelSqlStore(engines)
    secret = settings.secret_key.reveal().encode()
    users = Users(
        store=identity,
        hasher=PasswordHasher(),
        key=keys.derive(secret, "panel"),
        clock=clock,
        token_urlsafe=secrets.token_urlsafe,
        config=UsersConfig(
            open_signup=settings.open_signup, session_lifetime=settings.session_lifetime
        ),
        credentials=CredentialSqlStore(engines),
    )
    workspace = Workspace(
        store,
        panel_store,
        deliveries,
        gateway,
        admin,
        clock,
        secrets.token_urlsafe,
        PANEL_ZONE,
        targets,
        identity,
    )
    monitor: RouteMonitor = TransportMonitor(
        [dispatcher.transport] if dispatcher is not None else []
    )
    if dispatcher is not None and isinstance(dispatcher.transport, RoutingTransport):
        monitor = dispatcher.transport  # it reports each of its routes
    desk = OperatorDesk(
        store,
        panel_store,
        deliveries,
        identity,
        admin,
        users,
        monitor,
        CounterGuardStats(),
        gateway.guard,
        clock,
        PANEL_ZONE,
        gateway,
        pruning,
    )
    return users, workspace, desk


def build_panel(runtime: Runtime, prefix: str = "/panel") -> ASGIApp:
    """The web panel, to mount at `prefix`."""
    settings = runtime.settings
    panel = Panel(
        users=runtime.users,
        workspace=runtime.workspace,
        desk=runtime.desk,
        alerts=runtime.credit_alerts,
        csrf_key=keys.derive(settings.secret_key.reveal().encode(), "csrf"),
        config=PanelConfig(
            prefix=prefix,
            secure_cookies=not settings.dev,
            session_seconds=int(settings.session_lifetime.total_seconds()),
            open_signup=settings.open_signup,
            zone=PANEL_ZONE,
        ),
    )
    log = MessageLog(
        MessageLogSqlStore(runtime.engines),
        runtime.workspace.store,
        settings.regions,
        utc_now,
        PANEL_ZONE,
    )
    quick = QuickStart(runtime.gateway, runtime.workspace.store, runtime.workspace.panel)
    pages = [
        *auth_pages.routes(panel),
        *account_pages.routes(panel),
        *operator_pages.routes(panel),
        *message_log_pages.routes(panel, log),
        *quick_start_pages.routes(panel, quick, public_url=settings.public_url),
        *accounts_pages.routes(panel),
        *two_factor_pages.routes(panel),
        *alert_pages.routes(panel),
        *route_pages.routes(panel, runtime.route_desk),
        *webhook_pages.routes(panel, runtime.report_urls),
    ]
    return create_panel(panel, pages, hsts=not settings.dev)


def build_guard(
    settings: Settings,
    store: SqlStore,
    key_material: Keys,
    clock: Callable[[], datetime],
) -> Guard:
    """The fraud guard on Redis when QUICKOTP_REDIS_URL is set, else in this process."""
    limiter: Limiter = MemoryLimiter()
    if settings.redis_url:
        needs_extra("redis", "redis")
        from quickotp.adapters.limits.redis import RedisLimiter

        limiter = RedisLimiter.from_url(settings.redis_url)
    base = Policy(
        validity_seconds=int(settings.otp_ttl.total_seconds()),
        attempts=settings.verify_attempts,
        countries=settings.regions,
    )
    try:
        defaults = policy_from_env(settings.guard, base)
    except InvalidInput as exc:
        raise ConfigurationError(f"QUICKOTP_GUARD_*: {exc}") from None
    return Guard(
        store,
        limiter,
        defaults,
        keys.derive(key_material.code, "limits"),
        clock,
        fail_open=settings.limits_fail_open,
        cache_seconds=settings.token_cache.total_seconds(),
    )


def settle_heap() -> None:
    """
    Take everything alive now out of the garbage collector's scans, for good (gc.freeze).

    For a serving process, once it has started: its modules, classes and start-up objects
    live as long as it does, and without this every full collection walks them all again
    (some 150,000 objects: pauses of up to 170 ms under load, as gc.callbacks shows).
    Never for a process that starts runtimes again and again (tests): frozen objects in a
    reference cycle are never freed.
    """
    gc.collect()
    gc.freeze()


def build_app(runtime: Runtime, *, settle: bool = False, serve_metrics: bool = False) -> ASGIApp:
    """
    The web app around `runtime`; `settle`: a serving process's own app (settle_heap);
    `serve_metrics`: serve /metrics on QUICKOTP_METRICS_ADDRESS beside it (`quickotp serve`).
    """
    settings = runtime.settings
    token = settings.metrics_token.reveal() if settings.metrics_token else None
    metrics: list[MetricsServer] = []

    async def start() -> None:
        await runtime.start()
        if serve_metrics and settings.metrics_address is not None:
            server = MetricsServer(*settings.metrics_address, token=token, shared=True)
            server.start()
            metrics.append(server)
        if settle:
            await runtime.users.pool.start()  # a serving process: the password worker too
            settle_heap()

    async def stop() -> None:
        for server in metrics:
            server.stop()
        await runtime.aclose()

    return create_app(
        runtime.gateway,
        data_as_array=runtime.settings.data_as_array,
        ready=runtime.ready,
        on_startup=start,
        on_shutdown=stop,
        panel=build_panel(runtime),
        relays=runtime.relays,
        reports=runtime.reports,
        metrics_token=token,
    )


def app_from_environment() -> ASGIApp:
    """
    The app of one process of `quickotp serve --workers N` (uvicorn's factory, which takes no
    arguments): Settings from this process's environment, which the parent filled in.
    """
    return build_app(build_runtime(Settings.from_env(os.environ)), settle=True, serve_metrics=True)
