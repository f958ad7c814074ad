"""
The use cases behind every surface (REST, /v1, panel, CLI), in one place: who is calling
(callers.py), sending (sending.py, through accepting.py and repeats.py), checking codes
(verification.py), the caller's own lookups (lookups.py) and patterns (patterns.py).
`Gateway` builds each from the ports and settings the composition root hands it, and
passes each call on to the one that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from quickotp.ports.outbox import AdmissionControl, NoOutbox, Outbox
from quickotp.ports.store import LineStore, SendStore
from quickotp.services.callers import Callers
from quickotp.services.gateway_config import GatewayConfig, Keys
from quickotp.services.guard import Guard
from quickotp.services.lookups import Lookups
from quickotp.services.patterns import Patterns
from quickotp.services.sending import Sending
from quickotp.services.verification import Verifications
from quickotp.support.tracing import OFF, Spans


@dataclass
class Gateway:
    """The service layer: every surface (REST, /v1, panel, CLI) calls these."""

    store: SendStore
    keys: Keys
    clock: Callable[[], datetime]
    randbelow: Callable[[int], int]
    new_id: Callable[[], str]
    config: GatewayConfig = field(default_factory=GatewayConfig)
    outbox: Outbox = field(default_factory=NoOutbox)  # this process's dispatcher, if any
    guard: Guard | None = None  # the fraud guard; None: no limits (in-process idempotency only)
    admission: AdmissionControl | None = None  # refuses sends a congested route cannot carry
    lines: LineStore | None = None  # sender lines: with them, free text and patterns are sent
    spans: Spans = OFF  # OpenTelemetry: a span per accept, when tracing is on

    def __post_init__(self) -> None:
        self.callers = Callers(self.store, self.keys.token, self.clock, self.config.token_cache)
        self.sending = Sending(
            self.store,
            code_key=self.keys.code,
            clock=self.clock,
            randbelow=self.randbelow,
            new_id=self.new_id,
            config=self.config,
            outbox=self.outbox,
            guard=self.guard,
            admission=self.admission,
            spans=self.spans,
        )
        self.verifications = Verifications(
            self.store, self.keys.code, self.clock, self.config.regions, self.guard
        )
        self.lookups = Lookups(self.store)
        self.patterns = Patterns(
            self.store,
            self.clock,
            self.guard,
            max_pending=self.config.max_pending_patterns,
            per_hour=self.config.patterns_per_hour,
        )
        # The calls passed on as they are: each is its service's own method, with the
        # signature and docstring it has there.
        # who is calling: callers.py
        self.authenticate = self.callers.authenticate
        self.allow = self.callers.allow
        self.caller_of = self.callers.caller_of
        # sending: sending.py
        self.send_quick_otp = self.sending.send_quick_otp
        self.start_verification = self.sending.start_verification
        self.send = self.sending.send
        # the caller's lookups and patterns: lookups.py, patterns.py
        self.account_status = self.lookups.account_status
        self.get_delivery = self.lookups.get_delivery
        self.get_deliveries = self.lookups.get_deliveries
        self.create_pattern = self.patterns.create_pattern
        self.create_account_pattern = self.patterns.create_account_pattern
        self.list_patterns = self.patterns.list_patterns

    def start(self) -> None:
        self.sending.start()

    async def aclose(self) -> None:
        """Stop accepting, once what is pending is committed (the guard is its maker's)."""
        await self.sending.aclose()

    def forget_cached(self) -> None:
        """Drop cached tokens, patterns and policies (after this process changed one)."""
        self.callers.forget()
        self.sending.forget()
        if self.guard is not None:
            self.guard.forget()
