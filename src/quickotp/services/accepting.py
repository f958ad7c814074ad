"""
The accept of a send: the new message, its verification and its charge, made one stored
row each in one transaction shared by concurrent accepts (services/batching.py), then
handed to this process's dispatcher. The answer leaves only after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from quickotp.domain import otp, sealing, sms
from quickotp.domain.errors import CreditNotEnough
from quickotp.domain.models import NewMessage, Pattern, Verification
from quickotp.ports.outbox import Outbox
from quickotp.services.batching import GroupCommitter
from quickotp.services.sends import Outgoing, Send, SentOtp
from quickotp.support import logs
from quickotp.support.tracing import Spans

log = logging.getLogger(__name__)


class AcceptStore(Protocol):
    async def accept(self, batch: Sequence[NewMessage], now: datetime) -> list[int | None]: ...


class Accepting:
    """Stores accepted sends in group commits and hands them to `outbox`."""

    def __init__(
        self,
        store: AcceptStore,
        *,
        code_key: bytes,
        seal_key: bytes,
        clock: Callable[[], datetime],
        price_per_part: int,
        outbox: Outbox,
        spans: Spans,
    ) -> None:
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.spans = spans
        self._code_key = code_key
        self._seal_key = seal_key
        self._price_per_part = price_per_part
        self._committer: GroupCommitter[NewMessage, int | None] = GroupCommitter(self._batch)

    def start(self) -> None:
        self._committer.start()

    async def aclose(self) -> None:
        await self._committer.aclose()

    async def accept(
        self,
        send: Send,
        pattern: Pattern | None,
        code: str | None,
        ref: str,
        resend: Verification | None,
        *,
        sandbox: bool,
        validity: int,
    ) -> SentOtp:
        """
        Store `send` as a message (with `code`, a verification of id `ref`; without, `ref`
        is the request's reference), valid for `validity` seconds from its send time, unless
        it re-sends `resend`'s code; CreditNotEnough when the account cannot pay for it.
        """
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
            cost=0 if sandbox else segmentation.parts * self._price_per_part,
            expires_at=resend.expires_at if resend else start + timedelta(seconds=validity),
            created_at=now,
            verification_id=ref if code is not None else None,
            code_digest=otp.digest(self._code_key, code) if code is not None else b"",
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
        message_id = await self._committer.submit(item)
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

    async def _batch(self, batch: Sequence[NewMessage]) -> list[int | None]:
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
