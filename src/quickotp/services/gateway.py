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

from quickotp.domain import phone
from quickotp.domain.models import Account, Caller, Message, Pattern, Token
from quickotp.ports.outbox import AdmissionControl, NoOutbox, Outbox
from quickotp.ports.store import LineStore, SendStore
from quickotp.services.callers import Callers
from quickotp.services.gateway_config import GatewayConfig, Keys
from quickotp.services.guard import Guard
from quickotp.services.lookups import Lookups
from quickotp.services.patterns import Patterns
from quickotp.services.sending import Sending
from quickotp.services.sends import Outgoing, SentOtp
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

    # who is calling: callers.py ---------------------------------------------------------

    async def authenticate(self, raw_token: str, *, method: str | None, ip: str | None) -> Caller:
        """
        The caller behind `raw_token`, allowed to call `method` from `ip` (`method` None: the
        caller names its method later, with `allow`). Token lookups are cached for
        `config.token_cache` (2 s by default), so disabling a token takes effect within that
        time in every process.
        """
        return await self.callers.authenticate(raw_token, method=method, ip=ip)

    def allow(self, caller: Caller, method: str) -> None:
        """TokenMethodNotAllowed unless the caller's token may call `method`."""
        self.callers.allow(caller, method)

    def caller_of(self, token: Token, account: Account, *, method: str, ip: str | None) -> Caller:
        """
        The caller a signed-in account user sends as with one of their tokens (the panel's
        test send): refused as an API request with that token would be, but for its
        allowed networks, which name the app's servers, not the person's browser.
        """
        return self.callers.caller_of(token, account, method=method, ip=ip)

    # sending: sending.py ----------------------------------------------------------------

    async def send_quick_otp(
        self,
        caller: Caller,
        *,
        mobile: str,
        code_length: str | int | None,
        optional_code: str | None = None,
    ) -> SentOtp:
        """SendQuickOTP: an OTP for `mobile`, durable, charged and queued once this returns."""
        return await self.sending.send_quick_otp(
            caller, mobile=mobile, code_length=code_length, optional_code=optional_code
        )

    async def start_verification(
        self,
        caller: Caller,
        *,
        to: str,
        code_length: int = 6,
        code: str | None = None,
        pattern_id: int | None = None,
        metadata: str | None = None,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> SentOtp:
        """/v1's send: as `send_quick_otp`, with a pattern, metadata and an idempotency key."""
        return await self.sending.start_verification(
            caller,
            to=to,
            code_length=code_length,
            code=code,
            pattern_id=pattern_id,
            metadata=metadata,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )

    async def send(
        self,
        caller: Caller,
        number: phone.Mobile,
        outgoing: Outgoing,
        *,
        metadata: str | None = None,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> SentOtp:
        """One message of messaging.py's, through the same path as `send_quick_otp`."""
        return await self.sending.send(
            caller,
            number,
            outgoing,
            metadata=metadata,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )

    # the neighbouring methods: lookups.py, patterns.py ----------------------------------

    async def account_status(self, caller: Caller) -> Account:
        return await self.lookups.account_status(caller)

    async def get_delivery(self, caller: Caller, message_id: str | int | None) -> Message:
        return await self.lookups.get_delivery(caller, message_id)

    async def get_deliveries(self, caller: Caller, message_ids: str | None) -> list[Message]:
        """The caller's messages among the comma-separated ids, in the order asked."""
        return await self.lookups.get_deliveries(caller, message_ids)

    async def create_pattern(
        self,
        caller: Caller,
        *,
        text: str,
        is_otp: bool,
        number_patterns: str = "",
        description: str = "",
    ) -> Pattern:
        """A new pattern of the caller's, pending the operator's approval."""
        return await self.patterns.create_pattern(
            caller,
            text=text,
            is_otp=is_otp,
            number_patterns=number_patterns,
            description=description,
        )

    async def create_account_pattern(
        self,
        account_id: int,
        *,
        text: str,
        is_otp: bool,
        number_patterns: str = "",
        description: str = "",
        capped: bool = True,
    ) -> Pattern:
        """
        A new pattern of the account's, pending approval: the one way every pattern is made
        (patterns.py says what is refused, and what `capped` means).
        """
        return await self.patterns.create_account_pattern(
            account_id,
            text=text,
            is_otp=is_otp,
            number_patterns=number_patterns,
            description=description,
            capped=capped,
        )

    async def list_patterns(self, caller: Caller) -> list[Pattern]:
        return await self.patterns.list_patterns(caller)
