"""
Sending: SendQuickOTP, /v1's send, and every other message (free text and patterns come
through messaging.py), all through `Sending.send`'s one path: admission control, the
account's pattern, a re-send of a pending code, the fraud guard and idempotency, then the
accept (accepting.py). A repeat another process took is answered by repeats.py.

I/O only through its store ports (ports/store.py); time and randomness come in from the
composition root.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta

from quickotp.domain import keys, otp, phone, sealing
from quickotp.domain.errors import NotFound, PatternUnavailable
from quickotp.domain.limits import Claim, Repeated
from quickotp.domain.models import Caller, Pattern, PatternState, Verification, VerificationStatus
from quickotp.ports.outbox import AdmissionControl, Outbox
from quickotp.ports.store import SendStore
from quickotp.services import repeats
from quickotp.services.accepting import Accepting
from quickotp.services.cache import TtlCache
from quickotp.services.gateway_config import GatewayConfig
from quickotp.services.guard import Guard, Policy, Subject
from quickotp.services.idempotency import Idempotency
from quickotp.services.sends import Outgoing, Send, SentOtp
from quickotp.support.tracing import Spans

log = logging.getLogger(__name__)

_PATTERN_CACHE_SIZE = 10_000  # OTP patterns kept, whatever callers send
IDEMPOTENCY_V1_SECONDS = 24 * 3600


class Sending:
    """The sending use cases (module docstring), on the store, outbox, guard and admission."""

    def __init__(
        self,
        store: SendStore,
        *,
        code_key: bytes,
        clock: Callable[[], datetime],
        randbelow: Callable[[int], int],
        new_id: Callable[[], str],
        config: GatewayConfig,
        outbox: Outbox,
        guard: Guard | None,
        admission: AdmissionControl | None,
        spans: Spans,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.guard = guard
        self.admission = admission
        self._code_key = code_key
        self._seal_key = keys.derive(code_key, "seal")
        self._randbelow = randbelow
        self._new_id = new_id
        self._patterns: TtlCache[int, Pattern | None] = TtlCache(
            config.token_cache.total_seconds(), max_size=_PATTERN_CACHE_SIZE
        )
        self._rest_repeats = Idempotency(repeats.pack, repeats.unpack)  # /rest: seconds
        self._v1_repeats = Idempotency(repeats.pack, repeats.unpack)  # /v1 Idempotency-Key: a day
        self._replays = repeats.Replays(store, code_key, self._seal_key)
        self._accepting = Accepting(
            store,
            code_key=code_key,
            seal_key=self._seal_key,
            clock=clock,
            price_per_part=config.price_per_part,
            outbox=outbox,
            spans=spans,
        )

    def start(self) -> None:
        self._accepting.start()

    async def aclose(self) -> None:
        await self._accepting.aclose()

    def forget(self) -> None:
        """Drop the cached OTP patterns (after this process changed one)."""
        self._patterns.forget()

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
        if not policy.idempotency_seconds:
            return await self._once(Send(caller, number, length, own, policy))
        key = repeats.key("rest", str(caller.token.id), number.e164, own or "")
        seconds = policy.idempotency_seconds
        return await self._once(
            Send(caller, number, length, own, policy, key=key, fingerprint=key, seconds=seconds)
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
        """
        /v1's send: as `send_quick_otp`, with a pattern of the caller's choice and metadata;
        with an `idempotency_key`, a repeat inside 24 hours gets the first answer, and the
        same key with another `fingerprint` (request body) raises IdempotencyConflict.
        """
        number = phone.normalise(to, regions=self._regions())
        length = otp.code_length(code_length)
        own = otp.caller_code(code)
        policy = await self._policy(caller.account.id)
        send = Send(caller, number, length, own, policy, pattern_id, metadata, need_code=False)
        if idempotency_key is not None:
            key = repeats.key("v1", str(caller.account.id), idempotency_key)
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
        send = Send(
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
            key = repeats.key("v1", str(caller.account.id), idempotency_key)
            send = replace(send, key=key, fingerprint=fingerprint, seconds=IDEMPOTENCY_V1_SECONDS)
        elif outgoing.repeat and policy.idempotency_seconds:
            key = repeats.key("rest", str(caller.token.id), number.e164, *outgoing.repeat)
            send = replace(send, key=key, fingerprint=key, seconds=policy.idempotency_seconds)
        return await self._once(send)

    async def _once(self, send: Send) -> SentOtp:
        """Run `send` once per idempotency key: in this process, then across processes."""
        if send.key is None:
            return await self._send(send)
        answers = self._rest_repeats if send.need_code else self._v1_repeats
        return await answers.run(
            send.key,
            send.fingerprint,
            now=self.clock().timestamp(),
            seconds=send.seconds,
            work=lambda: self._send(send),
        )

    async def _send(self, send: Send) -> SentOtp:
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
        ref = resend[0].id if resend else self._new_id()
        claim = None
        if self.guard is not None:
            rules = self.guard.send_rules(
                policy, Subject(caller.account.id, caller.token.id, caller.ip), number
            )
            if send.key is not None:
                claim = Claim(send.key, send.fingerprint, ref, send.seconds)
            admission = await self.guard.admit(rules, claim)
            if isinstance(admission, Repeated):
                return await self._replays.answer(send, admission)
        code = None
        if send.otp:
            code = test_code or (resend[1] if resend else None) or send.own_code
            code = code or otp.generate(send.length, self._randbelow)
        try:
            return await self._accepting.accept(
                send,
                pattern,
                code,
                ref,
                resend[0] if resend else None,
                sandbox=test_code is not None,
                validity=self._validity(send),
            )
        except BaseException:
            if claim is not None and self.guard is not None:
                await self.guard.release(claim.key)
            raise

    def _validity(self, send: Send) -> int:
        """Seconds the message may wait for an upstream: a code's validity, or the text's."""
        if send.otp:
            return send.policy.validity_seconds
        return int(self.config.message_ttl.total_seconds())

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
        return (found, code) if otp.matches(self._code_key, code, found.code_digest) else None

    async def _pattern_for(self, account_id: int, pattern_id: int | None) -> Pattern:
        """The account's OTP pattern: the one asked for, which must be usable, or its live one."""
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
