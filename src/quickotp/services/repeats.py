"""
Repeated requests: the idempotency key of a send, its answer packed for keeping in this
process (services/idempotency.py says why), and the first answer to a request that another
process took, rebuilt from the database.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Protocol

from quickotp.domain import otp, phone, sealing
from quickotp.domain.errors import IdempotencyConflict, RequestInProgress, RequestRepeated
from quickotp.domain.limits import Repeated
from quickotp.domain.models import Message, Verification
from quickotp.services.sends import Send, SentOtp

# A repeat whose first request runs in another process waits this long for its answer.
_REPLAY_POLLS = 20
_REPLAY_POLL_SECONDS = 0.05


class AnswerStore(Protocol):
    async def get_verification(
        self, account_id: int, verification_id: str
    ) -> Verification | None: ...

    async def message_by_ref(self, account_id: int, ref: str) -> Message | None: ...


def key(*parts: str) -> str:
    """An idempotency key: a hash of its parts, so no number or caller key is kept in clear."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def pack(sent: SentOtp) -> tuple[Any, ...]:
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


def unpack(kept: tuple[Any, ...]) -> SentOtp:
    message_id, e164, national, region, code, verification_id, expires_at, sandbox = kept
    return SentOtp(
        message_id,
        phone.Mobile(e164, national, region),
        code,
        verification_id,
        expires_at,
        sandbox,
    )


class Replays:
    """First answers rebuilt from the store; a code only while its verification holds it sealed."""

    def __init__(self, store: AnswerStore, code_key: bytes, seal_key: bytes) -> None:
        self.store = store
        self._code_key = code_key
        self._seal_key = seal_key

    async def answer(self, send: Send, repeated: Repeated) -> SentOtp:
        """
        The first answer to a request another process took (its claim was held), rebuilt
        from the database; the code only while the verification still holds it sealed.
        """
        if not repeated.same:
            raise IdempotencyConflict("this idempotency key was used with another request")
        if not send.otp:
            return await self._message(send, repeated.ref)
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
            if not code or not otp.matches(self._code_key, code, found.code_digest):
                raise RequestRepeated("a repeat of an answered request whose code is gone")
        return SentOtp(
            found.message_id, send.number, code, found.id, found.expires_at, found.sandbox
        )

    async def _message(self, send: Send, ref: str) -> SentOtp:
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
