"""
The use cases behind every surface: who is calling, sending an OTP, and the neighbouring
Amoot methods (account status, delivery lookups, patterns). Every send, OTP or not (free
text and patterns come through messaging.py), goes through `_send`: one guard, credit,
admission, idempotency and accept path.

I/O only through its store ports (ports/store.py); time and randomness come in from the
composition root.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from quickotp.domain import keys, otp, phone, sealing, sms
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    AccountDisabled,
    AccountRateLimited,
    CreditNotEnough,
    IdempotencyConflict,
    InvalidMessageId,
    NotFound,
    PatternDuplicate,
    PatternUnavailable,
    RequestInProgress,
    RequestRepeated,
    TokenDisabled,
    TokenExpired,
    TokenIpNotAllowed,
    TokenMethodNotAllowed,
    TokenMissing,
    TokenUnknown,
)
from quickotp.domain.limits import HOUR, Claim, Repeated, Window
from quickotp.domain.lines import SharedLines
from quickotp.domain.models import (
    Account,
    Caller,
    Message,
    NewMessage,
    Pattern,
    PatternState,
    Token,
    Verification,
    VerificationStatus,
)
from quickotp.ports.outbox import AdmissionControl, NoOutbox, Outbox
from quickotp.ports.store import LineStore, SendStore
from quickotp.services.batching import GroupCommitter
from quickotp.services.cache import TtlCache
from quickotp.services.guard import Guard, Policy, Subject
from quickotp.services.idempotency import Idempotency
from quickotp.services.verification import Verifications
from quickotp.support import logs
from quickotp.support.tracing import OFF, Spans

log = logging.getLogger(__name__)

# Bounds on what the service keeps in memory, whatever callers send.
_TOKEN_CACHE_SIZE = 10_000
_PATTERN_CACHE_SIZE = 10_000
MAX_DELIVERY_IDS = 100
IDEMPOTENCY_V1_SECONDS = 24 * 3600
# A repeat whose first request runs in another process waits this long for its answer.
_REPLAY_POLLS = 20
_REPLAY_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class SentOtp:
    """
    An accepted message. `code` and `verification_id` are "" for a message that carries no
    code (free text, a plain pattern), and `code` is "" in a /v1 answer, which never shows it.
    """

    message_id: int
    mobile: phone.Mobile
    code: str
    verification_id: str
    expires_at: datetime | None = None
    sandbox: bool = False  # a test number: accepted and verifiable, never sent


@dataclass(frozen=True)
class Outgoing:
    """
    What one message says and how it goes out, as messaging.py asks for it (checked there).
    With `code_length` (or `own_code`) it carries a code and gets a verification: the
    code fills `pattern`'s %code%, or goes into `text` (sms.with_code). Without, `text` is
    the message as it is sent.
    """

    text: str | None = None
    pattern: Pattern | None = None  # the approved pattern the text comes from
    code_length: int = 0  # > 0: the server makes a code of this many digits
    own_code: str | None = None  # the caller's code (an OTP pattern's %code% value)
    sender: str | None = None  # None: the account's default line
    backup_sender: str | None = None  # tried when `sender` cannot send
    not_before: datetime | None = None  # a scheduled send
    # /rest: a repeat of the same parts inside the account's idempotency window gets the
    # first answer and sends nothing (the caller's token and the number are added).
    repeat: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Send:
    """One send, checked at the edge of the use case."""

    caller: Caller
    number: phone.Mobile
    length: int  # 0: no code
    own_code: str | None
    policy: Policy
    pattern_id: int | None = None
    metadata: str | None = None
    key: str | None = None  # idempotency: the request's key, its fingerprint, its window
    fingerprint: str = ""
    seconds: float = 0.0
    need_code: bool = True  # a replay must show the code (/rest) or need not (/v1)
    outgoing: Outgoing = field(default_factory=Outgoing)

    @property
    def otp(self) -> bool:
        """Whether it carries a code (and so gets a verification)."""
        return self.length > 0 or self.own_code is not None


@dataclass(frozen=True)
class GatewayConfig:
    otp_ttl: timedelta = timedelta(minutes=2)
    verify_attempts: int = 5
    price_per_part: int = 1000
    regions: tuple[str, ...] = ("IR",)
    token_cache: timedelta = timedelta(seconds=2)
    # How long a message without a code may wait for an upstream before it is given up.
    message_ttl: timedelta = timedelta(hours=24)
    shared_lines: SharedLines = field(default_factory=SharedLines)  # QUICKOTP_SHARED_LINES
    max_pending_patterns: int = 20  # an account's patterns awaiting approval at once
    patterns_per_hour: int = 20  # patterns an account may submit in an hour


@dataclass(frozen=True)
class Keys:
    """The per-purpose keys, derived from the server secret."""

    token: bytes
    code: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> Keys:
        return cls(token=keys.derive(secret, "token"), code=keys.derive(secret, "code"))


_Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


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
        self._accepting: GroupCommitter[NewMessage, int | None] = GroupCommitter(self._accept_batch)
        cache_seconds = self.config.token_cache.total_seconds()
        self._tokens: TtlCache[bytes, tuple[Token, Account, _Networks] | None] = TtlCache(
            cache_seconds, max_size=_TOKEN_CACHE_SIZE
        )
        self._patterns: TtlCache[int, Pattern | None] = TtlCache(
            cache_seconds, max_size=_PATTERN_CACHE_SIZE
        )
        self._seal_key = keys.derive(self.keys.code, "seal")
        self._rest_repeats = Idempotency(_pack, _unpack)  # /rest: a window of seconds
        self._v1_repeats = Idempotency(_pack, _unpack)  # /v1 Idempotency-Key: a day
        self.verifications = Verifications(
            self.store, self.keys.code, self.clock, self.config.regions, self.guard
        )

    def start(self) -> None:
        self._accepting.start()

    async def aclose(self) -> None:
        await self._accepting.aclose()
        if self.guard is not None:
            await self.guard.limiter.aclose()

    # who is calling -------------------------------------------------------------------

    async def authenticate(self, raw_token: str, *, method: str | None, ip: str | None) -> Caller:
        """
        The caller behind `raw_token`, allowed to call `method` from `ip` (`method` None: the
        caller names its method later, with `allow`).

        Token lookups are cached for `config.token_cache` (2 s by default), so disabling a
        token takes effect within that time in every process.
        """
        token_text = raw_token.strip()
        if token_text[:7].lower() == "bearer ":
            token_text = token_text[7:].strip()
        if not token_text:
            raise TokenMissing("no token given")
        found = await self._find_token(keys.token_digest(self.keys.token, token_text))
        if found is None:
            raise TokenUnknown("no such token")
        token, account, networks = found
        self._usable(token, account)
        if networks and not _address_in(ip, networks):
            raise TokenIpNotAllowed(f"token {token.id} may not be used from this address")
        logs.bind_account(account.id)
        caller = Caller(token, account, ip)
        if method is not None:
            self.allow(caller, method)
        return caller

    def caller_of(self, token: Token, account: Account, *, method: str, ip: str | None) -> Caller:
        """
        The caller a signed-in account user sends as with one of their tokens (the panel's
        test send): refused as an API request with that token would be, but for its
        allowed networks, which name the app's servers, not the person's browser.
        """
        self._usable(token, account)
        caller = Caller(token, account, ip)
        self.allow(caller, method)
        return caller

    def _usable(self, token: Token, account: Account) -> None:
        if not token.active:
            raise TokenDisabled(f"token {token.id} is disabled")
        if not account.active:
            raise AccountDisabled(f"account {account.id} is disabled")
        if token.expires_at is not None and token.expires_at <= self.clock():
            raise TokenExpired(f"token {token.id} expired")

    def allow(self, caller: Caller, method: str) -> None:
        """TokenMethodNotAllowed unless the caller's token may call `method`."""
        token = caller.token
        if token.allowed_methods and method.lower() not in token.allowed_methods:
            raise TokenMethodNotAllowed(f"token {token.id} may not call {method}")

    async def _find_token(self, digest: bytes) -> tuple[Token, Account, _Networks] | None:
        async def load() -> tuple[Token, Account, _Networks] | None:
            found = await self.store.find_token(digest)
            if found is None:
                return None
            token, account = found
            networks = tuple(ipaddress.ip_network(net, strict=False) for net in token.allowed_ips)
            return token, account, networks

        return await self._tokens.get(digest, load)

    def forget_cached(self) -> None:
        """Drop cached tokens and patterns (after this process changed one)."""
        self._tokens.forget()
        self._patterns.forget()
        if self.guard is not None:
            self.guard.forget()

    # SendQuickOTP ---------------------------------------------------------------------

    async def send_quick_otp(
        self,
        caller: Caller,
        *,
        mobile: str,
        code_length: str | int | None,
        optional_code: str | None = None,
    ) -> SentOtp:
        """
        Accept an OTP for `mobile`: durable, charged and queued once this returns.

        The caller's own code, when given, is sent as given even if its length differs from
        `code_length` (which must still be valid); otherwise a code of `code_length`
        random digits is made. A repeat of the same (token, number, own code) inside the
        account's idempotency window gets the first answer and sends nothing.
        """
        number = phone.normalise(mobile, regions=self._regions())
        length = otp.code_length(code_length)
        own = otp.caller_code(optional_code)
        policy = await self._policy(caller.account.id)
        key = _key("rest", str(caller.token.id), number.e164, own or "")
        send = _Send(caller, number, length, own, policy)
        if policy.idempotency_seconds:
            send = replace(send, key=key, fingerprint=key, seconds=policy.idempotency_seconds)
        return await self._once(send)

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
        """
        /v1's send: as `send_quick_otp`, with a pattern of the caller's choice and metadata;
        with an `idempotency_key`, a repeat inside 24 hours gets the first answer, and the
        same key with another `fingerprint` (request body) raises IdempotencyConflict.
        """
        number = phone.normalise(to, regions=self._regions())
        length = otp.code_length(code_length)
        own = otp.caller_code(code)
        policy = await self._policy(caller.account.id)
        send = _Send(caller, number, length, own, policy, pattern_id, metadata, need_code=False)
        if idempotency_key is not None:
            key = _key("v1", str(caller.account.id), idempotency_key)
            send = replace(send, key=key, fingerprint=fingerprint, seconds=IDEMPOTENCY_V1_SECONDS)
        return await self._once(send)

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
        """
        Accept one message of messaging.py's (free text, a pattern, a code in free text):
        durable, charged and queued (or scheduled) once this returns, through the same
        guard, admission control and idempotency as `send_quick_otp`. With an
        `idempotency_key` (/v1), a repeat inside 24 hours gets the first answer; without,
        `outgoing.repeat` keys /rest's window.
        """
        policy = await self._policy(caller.account.id)
        send = _Send(
            caller,
            number,
            outgoing.code_length,
            outgoing.own_code,
            policy,
            outgoing.pattern.id if outgoing.pattern is not None else None,
            metadata,
            need_code=idempotency_key is None,
            outgoing=outgoing,
        )
        if idempotency_key is not None:
            key = _key("v1", str(caller.account.id), idempotency_key)
            send = replace(send, key=key, fingerprint=fingerprint, seconds=IDEMPOTENCY_V1_SECONDS)
        elif outgoing.repeat and policy.idempotency_seconds:
            key = _key("rest", str(caller.token.id), number.e164, *outgoing.repeat)
            send = replace(send, key=key, fingerprint=key, seconds=policy.idempotency_seconds)
        return await self._once(send)

    async def _once(self, send: _Send) -> SentOtp:
        """Run `send` once per idempotency key: in this process, then across processes."""
        if send.key is None:
            return await self._send(send)
        repeats = self._rest_repeats if send.need_code else self._v1_repeats
        return await repeats.run(
            send.key,
            send.fingerprint,
            now=self.clock().timestamp(),
            seconds=send.seconds,
            work=lambda: self._send(send),
        )

    async def _send(self, send: _Send) -> SentOtp:
        caller, number, policy = send.caller, send.number, send.policy
        outgoing = send.outgoing
        test_code = policy.test_code(number.e164)
        if self.admission is not None and test_code is None and outgoing.not_before is None:
            # Before anything is counted. A scheduled send joins no queue now.
            self.admission.check(caller.account.id, number.e164, self._validity(send))
        pattern = outgoing.pattern
        if send.otp and pattern is None and outgoing.text is None:
            pattern = await self._pattern_for(caller.account.id, send.pattern_id)
        resend = None
        if (
            send.otp
            and test_code is None
            and send.own_code is None
            and outgoing.not_before is None
            and policy.on_resend == "same_code"
        ):
            resend = await self._resendable(caller.account.id, number.e164, policy)
        # The verification's id; for a message without one, its request's reference.
        ref = resend[0].id if resend else self.new_id()
        claim = None
        if self.guard is not None:
            rules = self.guard.send_rules(
                policy, Subject(caller.account.id, caller.token.id, caller.ip), number
            )
            if send.key is not None:
                claim = Claim(send.key, send.fingerprint, ref, send.seconds)
            admission = await self.guard.admit(rules, claim)
            if isinstance(admission, Repeated):
                return await self._replay(send, admission)
        code = None
        if send.otp:
            code = test_code or (resend[1] if resend else None) or send.own_code
            code = code or otp.generate(send.length, self.randbelow)
        try:
            return await self._accept(
                send,
                pattern,
                code,
                ref,
                resend[0] if resend else None,
                sandbox=test_code is not None,
            )
        except BaseException:
            if claim is not None and self.guard is not None:
                await self.guard.release(claim.key)
            raise

    def _validity(self, send: _Send) -> int:
        """Seconds the message may wait for an upstream: a code's validity, or the text's."""
        if send.otp:
            return send.policy.validity_seconds
        return int(self.config.message_ttl.total_seconds())

    async def _accept(
        self,
        send: _Send,
        pattern: Pattern | None,
        code: str | None,
        ref: str,
        resend: Verification | None,
        *,
        sandbox: bool,
    ) -> SentOtp:
        caller, number, outgoing = send.caller, send.number, send.outgoing
        text = _text_of(outgoing, pattern, code)
        segmentation = sms.segment(text)
        now = self.clock()
        # A scheduled code is valid from its send time: it must not lapse while it waits.
        start = outgoing.not_before or now
        scheduled = outgoing.not_before is not None
        item = NewMessage(
            account_id=caller.account.id,
            token_id=caller.token.id,
            pattern_id=pattern.id if pattern is not None else None,
            mobile=number.e164,
            sender=outgoing.sender or caller.account.sender,
            text=otp.mask(text, code) if sandbox and code else text,
            code=code,
            encoding=segmentation.encoding,
            parts=segmentation.parts,
            cost=0 if sandbox else segmentation.parts * self.config.price_per_part,
            expires_at=resend.expires_at
            if resend
            else start + timedelta(seconds=self._validity(send)),
            created_at=now,
            verification_id=ref if code is not None else None,
            code_digest=otp.digest(self.keys.code, code) if code is not None else b"",
            attempts_left=send.policy.attempts if code is not None else 0,
            code_sealed=sealing.seal(self._seal_key, ref, code) if code is not None else None,
            sandbox=sandbox,
            metadata=send.metadata,
            resend_of=resend.id if resend else None,
            lease_until=None if sandbox or scheduled else self.outbox.reserve(),
            not_before=outgoing.not_before,
            backup_sender=outgoing.backup_sender,
            ref=ref if code is None else None,
            address=caller.ip,
        )
        began = time.time_ns() if self.spans.on else 0
        message_id = await self._accepting.submit(item)
        if message_id is None:
            raise CreditNotEnough(f"account {caller.account.id} cannot pay for {item.cost} rial")
        logs.bind_message(caller.account.id, message_id)
        if began:
            self.spans.record(
                "quickotp.accept",
                began,
                {
                    "quickotp.message_id": message_id,
                    "quickotp.account_id": caller.account.id,
                    "quickotp.parts": segmentation.parts,
                    "quickotp.sandbox": sandbox,
                },
            )
        # DEBUG, not INFO: a log line per OTP cost 5 % of the request (py-spy); the
        # quickotp_rest_responses counter carries the volume.
        log.debug(
            "accepted message %d for ...%s (%d part(s))%s",
            message_id,
            number.last4,
            segmentation.parts,
            " in the sandbox" if sandbox else " re-sending its code" if resend else "",
        )
        verification_id = ref if code is not None else ""
        return SentOtp(message_id, number, code or "", verification_id, item.expires_at, sandbox)

    async def _accept_batch(self, batch: Sequence[NewMessage]) -> list[int | None]:
        """
        Stores a batch (one transaction), then hands the leased messages to this process's
        dispatcher: here, in the committer's task, so a caller who gave up waiting cannot
        leave a stored message unhanded.
        """
        try:
            ids = await self.store.accept(batch, self.clock())
        except BaseException:
            for item in batch:
                if item.lease_until is not None:
                    self.outbox.unreserve()
            raise
        queued = False
        for item, message_id in zip(batch, ids, strict=True):
            if item.lease_until is None:
                queued = queued or (message_id is not None and not item.sandbox)
            elif message_id is None:  # not stored: the account's credit fell short
                self.outbox.unreserve()
            else:
                self.outbox.hand(item.claimed(message_id))
        if queued:
            self.outbox.wake()
        return ids

    async def _replay(self, send: _Send, repeated: Repeated) -> SentOtp:
        """
        The first answer to a request another process took (its claim was held), rebuilt
        from the database; the code only while the verification still holds it sealed.
        """
        if not repeated.same:
            raise IdempotencyConflict("this idempotency key was used with another request")
        if not send.otp:
            return await self._replay_message(send, repeated.ref)
        found = None
        for _ in range(_REPLAY_POLLS):
            found = await self.store.get_verification(send.caller.account.id, repeated.ref)
            if found is not None:
                break
            await asyncio.sleep(_REPLAY_POLL_SECONDS)
        if found is None:
            raise RequestInProgress("the same request is being answered elsewhere")
        code = ""
        if send.need_code:
            if found.code_sealed is not None:
                code = sealing.unseal(self._seal_key, found.id, found.code_sealed)
            if not code or not otp.matches(self.keys.code, code, found.code_digest):
                raise RequestRepeated("a repeat of an answered request whose code is gone")
        return SentOtp(
            found.message_id, send.number, code, found.id, found.expires_at, found.sandbox
        )

    async def _replay_message(self, send: _Send, ref: str) -> SentOtp:
        """The first answer to a message without a code, found by its request's reference."""
        message = None
        for _ in range(_REPLAY_POLLS):
            message = await self.store.message_by_ref(send.caller.account.id, ref)
            if message is not None:
                break
            await asyncio.sleep(_REPLAY_POLL_SECONDS)
        if message is None:
            raise RequestInProgress("the same request is being answered elsewhere")
        sandbox = message.transport == "sandbox"
        return SentOtp(message.id, send.number, "", "", message.expires_at, sandbox)

    async def _resendable(
        self, account_id: int, e164: str, policy: Policy
    ) -> tuple[Verification, str] | None:
        """The number's pending verification and its code, if a re-send may send it again."""
        found = await self.store.latest_verification(account_id, e164)
        now = self.clock()
        if (
            found is None
            or found.code_sealed is None
            or found.status_at(now) is not VerificationStatus.PENDING
            # Not when too little validity is left for the code to be of use.
            or found.expires_at - now < timedelta(seconds=policy.validity_seconds) / 4
        ):
            return None
        code = sealing.unseal(self._seal_key, found.id, found.code_sealed)
        return (found, code) if otp.matches(self.keys.code, code, found.code_digest) else None

    async def _pattern_for(self, account_id: int, pattern_id: int | None) -> Pattern:
        """The account's OTP pattern: the one asked for, which must be usable, or its newest."""
        if pattern_id is None:
            return await self._otp_pattern(account_id)
        try:
            pattern = await self.store.get_pattern(pattern_id)
        except NotFound:
            pattern = None
        if (
            pattern is None
            or pattern.account_id != account_id
            or not pattern.is_otp
            or pattern.state is not PatternState.APPROVED
        ):
            raise PatternUnavailable(
                f"pattern {pattern_id} is not an approved OTP pattern of yours"
            )
        return pattern

    async def _policy(self, account_id: int) -> Policy:
        if self.guard is not None:
            return await self.guard.policy(account_id)
        return Policy(
            validity_seconds=int(self.config.otp_ttl.total_seconds()),
            attempts=self.config.verify_attempts,
            countries=self.config.regions,
        )

    def _regions(self) -> Collection[str]:
        """
        The gateway's countries (QUICKOTP_ALLOWED_REGIONS): a number of any other is
        Mobile_Invalid, as on Amoot; the guard narrows them per account (Country_NotAllowed).
        """
        return self.config.regions

    async def _otp_pattern(self, account_id: int) -> Pattern:
        pattern = await self._patterns.get(account_id, lambda: self.store.otp_pattern(account_id))
        if pattern is None:
            log.warning("account %d has no approved OTP pattern", account_id)
            raise PatternUnavailable(f"account {account_id} has no approved OTP pattern")
        return pattern

    # the neighbouring methods ---------------------------------------------------------

    async def account_status(self, caller: Caller) -> Account:
        return await self.store.get_account(caller.account.id)

    async def get_delivery(self, caller: Caller, message_id: str | int | None) -> Message:
        ids = _message_ids(str(message_id if message_id is not None else ""))
        if len(ids) != 1:
            raise InvalidMessageId("a message id is one positive whole number")
        found = await self.store.get_messages(caller.account.id, ids)
        if ids[0] not in found:
            raise InvalidMessageId(f"no message {ids[0]} for this account")
        return found[ids[0]]

    async def get_deliveries(self, caller: Caller, message_ids: str | None) -> list[Message]:
        """The caller's messages among the comma-separated ids, in the order asked."""
        ids = _message_ids(message_ids or "")
        if not ids or len(ids) > MAX_DELIVERY_IDS:
            raise InvalidMessageId(f"1 to {MAX_DELIVERY_IDS} message ids, comma-separated")
        found = await self.store.get_messages(caller.account.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise InvalidMessageId(f"no message {missing[0]} for this account")
        return [found[i] for i in ids]

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
        return await self.create_account_pattern(
            caller.account.id,
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
        (the API, the panel's users and its operators, the CLI). PatternDuplicate when the
        account has this text already. Capped (the account's own submissions):
        PatternLimitReached when the account has `max_pending_patterns` waiting already;
        AccountRateLimited past `patterns_per_hour` (counted by the guard's Limiter, so
        every process shares the count). An operator's pattern is not capped.
        """
        checked = sms.check_pattern(text, otp=is_otp)
        numeric = sms.numeric_variables(checked, otp=is_otp, named=number_patterns)
        if await self.store.pattern_text_taken(account_id, checked):
            raise PatternDuplicate("this account has a pattern with this text already")
        if capped and self.guard is not None:
            rate = Window(f"pc:{account_id}", self.config.patterns_per_hour, HOUR)
            await self.guard.admit([(rate, AccountRateLimited)])
        pattern = await self.store.create_pattern(
            account_id=account_id,
            text=checked,
            is_otp=is_otp,
            number_patterns=numeric,
            description=description.strip()[:500],
            now=self.clock(),
            max_pending=self.config.max_pending_patterns if capped else None,
        )
        log.info("account %d created pattern %d", account_id, pattern.id)
        return pattern

    async def list_patterns(self, caller: Caller) -> list[Pattern]:
        return await self.store.list_patterns(caller.account.id)


def _text_of(outgoing: Outgoing, pattern: Pattern | None, code: str | None) -> str:
    """The message's text: a pattern with its code, a code in free text, or the text as is."""
    if code is None:
        if outgoing.text is None:
            raise ValueError("a message without a code needs its text")
        return outgoing.text
    if pattern is not None:
        return sms.render(pattern.text, {sms.CODE_VARIABLE: code})
    if outgoing.text is None:
        raise ValueError("a code needs a pattern or a text to go into")
    return sms.with_code(outgoing.text, code)


def _pack(sent: SentOtp) -> tuple[Any, ...]:
    """An answer as a tuple of plain values, for keeping (services/idempotency.py says why)."""
    number = sent.mobile
    return (
        sent.message_id,
        number.e164,
        number.national,
        number.region,
        sent.code,
        sent.verification_id,
        sent.expires_at,
        sent.sandbox,
    )


def _unpack(kept: tuple[Any, ...]) -> SentOtp:
    message_id, e164, national, region, code, verification_id, expires_at, sandbox = kept
    return SentOtp(
        message_id,
        phone.Mobile(e164, national, region),
        code,
        verification_id,
        expires_at,
        sandbox,
    )


def _key(*parts: str) -> str:
    """An idempotency key: a hash of its parts, so no number or caller key is kept in clear."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _address_in(
    ip: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _message_ids(raw: str) -> list[int]:
    """Message ids from "1,2, 3" (Persian digits allowed); InvalidMessageId for anything else."""
    ids = []
    for part in ascii_digits(raw).split(","):
        text = part.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
            raise InvalidMessageId("a message id must be a positive whole number")
        ids.append(int(text))
    return ids
