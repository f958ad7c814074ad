"""
Server-side verification on each database, with a frozen clock: every outcome, at most one
approval under concurrency, the wrong-code cap, cancel-on-resend, resend-same-code, sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from quickotp.adapters.limits.memory import MemoryLimiter
from quickotp.bootstrap import Runtime
from quickotp.domain import sealing
from quickotp.domain.errors import (
    CodeAlreadyUsed,
    CodeEmpty,
    CodeExpired,
    CodeMismatch,
    InvalidCodeLength,
    TooManyAttempts,
    VerificationCanceled,
    VerificationFailed,
    VerificationNotFound,
    VerificationNotPending,
)
from quickotp.domain.models import Caller, MessageStatus, VerificationStatus
from quickotp.services.gateway import Gateway
from quickotp.services.guard import Policy
from quickotp.services.sends import SentOtp
from tests.adapters.limits.clock import FrozenClock
from tests.adapters.limits.guarded import guarded_gateway
from tests.conftest import Seeded, seed

pytestmark = pytest.mark.anyio

POLICY = Policy(idempotency_seconds=0, cooldown_seconds=0, per_number_hour=0, per_number_day=0)
NUMBER = "09121234567"


@dataclass
class World:
    gateway: Gateway
    caller: Caller
    clock: FrozenClock
    runtime: Runtime
    seeded: Seeded

    async def send(self, mobile: str = NUMBER, code: str | None = None) -> SentOtp:
        return await self.gateway.send_quick_otp(
            self.caller, mobile=mobile, code_length=6, optional_code=code
        )

    async def check(self, code: str, **where: str) -> VerificationStatus:
        if not where:
            where = {"mobile": NUMBER}
        found = await self.gateway.verifications.check(self.caller, code=code, **where)
        return found.status


async def _world(runtime: Runtime, seeded: Seeded, policy: Policy) -> World:
    clock = FrozenClock()
    gateway = guarded_gateway(runtime, MemoryLimiter(), policy, clock)
    caller = await gateway.authenticate(seeded.token, method="SendQuickOTP", ip="192.0.2.1")
    return World(gateway, caller, clock, runtime, seeded)


@pytest.fixture
async def world(runtime: Runtime, seeded: Seeded) -> AsyncIterator[World]:
    """A gateway on the test database with a frozen clock and the per-number limits off."""
    built = await _world(runtime, seeded, POLICY)
    yield built
    await built.gateway.aclose()


async def test_right_code_approves(world: World) -> None:
    """The code that was sent approves its verification."""
    sent = await world.send()

    status = await world.check(sent.code)

    assert status is VerificationStatus.APPROVED


async def test_approved_is_queryable_and_works_once(world: World) -> None:
    """A second check of an approved verification is Code_AlreadyUsed; a lookup says approved."""
    sent = await world.send()
    await world.check(sent.code)

    with pytest.raises(CodeAlreadyUsed):
        await world.check(sent.code)
    found = await world.gateway.verifications.get(world.caller, sent.verification_id)

    assert found.status is VerificationStatus.APPROVED


async def test_wrong_code_counts_an_attempt(world: World) -> None:
    """A wrong code is Code_Invalid, and says how many attempts remain."""
    sent = await world.send(code="123456")

    with pytest.raises(CodeMismatch) as wrong:
        await world.check("654321")

    assert wrong.value.verification is not None
    assert wrong.value.verification.attempts_left == 4
    assert wrong.value.verification.id == sent.verification_id


async def test_after_five_wrong_codes_even_the_right_one_fails(world: World) -> None:
    """Brute force stops at the cap: the fifth wrong code closes it, the right one then fails."""
    sent = await world.send(code="123456")
    for _ in range(4):
        with pytest.raises(CodeMismatch):
            await world.check("000000")
    with pytest.raises(TooManyAttempts):
        await world.check("000000")

    with pytest.raises(TooManyAttempts):
        await world.check(sent.code)
    found = await world.gateway.verifications.get(world.caller, sent.verification_id)

    assert (found.status, found.attempts_left) == (VerificationStatus.MAX_ATTEMPTS_REACHED, 0)


async def test_right_code_at_expiry_is_expired(world: World) -> None:
    """At the validity's end the right code is Code_Expired, and the status stays expired."""
    sent = await world.send()
    world.clock.advance(seconds=POLICY.validity_seconds)

    with pytest.raises(CodeExpired):
        await world.check(sent.code)
    found = await world.gateway.verifications.get(world.caller, sent.verification_id)

    assert found.status is VerificationStatus.EXPIRED
    assert found.code_sealed is None


async def test_right_code_just_before_expiry_approves(world: World) -> None:
    """A second before the end, the code still works."""
    sent = await world.send()
    world.clock.advance(seconds=POLICY.validity_seconds - 1)

    assert await world.check(sent.code) is VerificationStatus.APPROVED


async def test_validity_is_per_account(runtime: Runtime, seeded: Seeded) -> None:
    """An account's own validity (here 30 s) replaces the default two minutes."""
    world = await _world(runtime, seeded, replace(POLICY, validity_seconds=30))
    sent = await world.send()
    world.clock.advance(seconds=30)

    with pytest.raises(CodeExpired):
        await world.check(sent.code)
    await world.gateway.aclose()


async def test_new_send_cancels_the_pending_one(world: World) -> None:
    """A new send to the number cancels the older code; the newer one works."""
    first = await world.send(code="111111")
    second = await world.send(code="222222")

    with pytest.raises(VerificationCanceled):
        await world.check("111111", verification_id=first.verification_id)
    status = await world.check("222222")

    assert status is VerificationStatus.APPROVED
    assert second.verification_id != first.verification_id


async def test_old_code_by_number_checks_the_newest(world: World) -> None:
    """Checked by number, the old code is just a wrong code for the newest verification."""
    await world.send(code="111111")
    await world.send(code="222222")

    with pytest.raises(CodeMismatch):
        await world.check("111111")


async def test_cancel(world: World) -> None:
    """A canceled verification answers Code_Canceled; canceling twice is refused."""
    sent = await world.send()

    canceled = await world.gateway.verifications.cancel(world.caller, sent.verification_id)

    assert canceled.status is VerificationStatus.CANCELED
    with pytest.raises(VerificationCanceled):
        await world.check(sent.code)
    with pytest.raises(VerificationNotPending):
        await world.gateway.verifications.cancel(world.caller, sent.verification_id)


async def test_nothing_to_check(world: World) -> None:
    """A number never sent to, or an unknown id, is Code_NotFound."""
    with pytest.raises(VerificationNotFound):
        await world.check("123456")
    with pytest.raises(VerificationNotFound):
        await world.check("123456", verification_id="0" * 32)
    with pytest.raises(VerificationNotFound):
        await world.check("123456", verification_id="../etc")


@pytest.mark.parametrize(("code", "error"), [("", CodeEmpty), ("12", InvalidCodeLength)])
async def test_malformed_codes_cost_no_attempt(
    world: World, code: str, error: type[Exception]
) -> None:
    """An empty or malformed code is refused before the verification is touched."""
    sent = await world.send()

    with pytest.raises(error):
        await world.check(code)
    found = await world.gateway.verifications.get(world.caller, sent.verification_id)

    assert found.attempts_left == POLICY.attempts


async def test_persian_digits_in_the_code(world: World) -> None:
    """A code typed in Persian digits matches."""
    await world.send(code="123456")

    assert await world.check("۱۲۳۴۵۶") is VerificationStatus.APPROVED


async def test_another_accounts_verification_is_invisible(world: World) -> None:
    """One account can neither check, see nor cancel another's verification."""
    sent = await world.send()
    other = await seed(world.runtime, name="other")
    intruder = await world.gateway.authenticate(other.token, method="VerifyQuickOTP", ip=None)

    with pytest.raises(VerificationNotFound):
        await world.gateway.verifications.check(
            intruder, code=sent.code, verification_id=sent.verification_id
        )
    with pytest.raises(VerificationNotFound):
        await world.gateway.verifications.check(intruder, code=sent.code, mobile=NUMBER)
    with pytest.raises(VerificationNotFound):
        await world.gateway.verifications.get(intruder, sent.verification_id)
    with pytest.raises(VerificationNotFound):
        await world.gateway.verifications.cancel(intruder, sent.verification_id)


async def test_fifty_simultaneous_right_codes_approve_once(world: World) -> None:
    """Of 50 concurrent checks of the right code, exactly one approves; the rest: already used."""
    sent = await world.send()

    outcomes = await asyncio.gather(
        *(world.check(sent.code) for _ in range(50)), return_exceptions=True
    )

    approved = [o for o in outcomes if o is VerificationStatus.APPROVED]
    used = [o for o in outcomes if isinstance(o, CodeAlreadyUsed)]
    assert (len(approved), len(used)) == (1, 49)


async def test_simultaneous_wrong_codes_never_exceed_the_cap(world: World) -> None:
    """Of 30 concurrent wrong codes, exactly 5 are counted; the rest find it closed."""
    await world.send(code="123456")

    outcomes = await asyncio.gather(
        *(world.check("000000") for _ in range(30)), return_exceptions=True
    )

    assert all(isinstance(o, VerificationFailed) for o in outcomes)
    assert sum(type(o) is CodeMismatch for o in outcomes) == 4
    assert sum(type(o) is TooManyAttempts for o in outcomes) == 26


async def test_resend_same_code_within_validity(runtime: Runtime, seeded: Seeded) -> None:
    """With on_resend=same_code, a re-send sends the same code for the same verification."""
    world = await _world(runtime, seeded, replace(POLICY, on_resend="same_code"))
    first = await world.send()
    world.clock.advance(seconds=61)

    second = await world.send()

    assert second.code == first.code
    assert second.verification_id == first.verification_id
    assert second.message_id != first.message_id
    assert second.expires_at == first.expires_at
    assert await world.check(first.code) is VerificationStatus.APPROVED
    await world.gateway.aclose()


async def test_resend_near_expiry_makes_a_new_code(runtime: Runtime, seeded: Seeded) -> None:
    """With under a quarter of the validity left, a re-send starts a new verification."""
    world = await _world(runtime, seeded, replace(POLICY, on_resend="same_code"))
    first = await world.send(code="111111")
    world.clock.advance(seconds=POLICY.validity_seconds * 0.8)

    second = await world.send()

    assert second.verification_id != first.verification_id
    with pytest.raises(VerificationCanceled):
        await world.check("111111", verification_id=first.verification_id)
    await world.gateway.aclose()


async def test_test_number_is_a_sandbox(runtime: Runtime, seeded: Seeded) -> None:
    """A test number gets its fixed code, costs nothing, is never dispatched, and verifies."""
    world = await _world(runtime, seeded, replace(POLICY, test_numbers=(("989120000000", "4321"),)))
    before = await runtime.store.get_account(seeded.account_id)

    sent = await world.send("09120000000")
    claimed = await runtime.store.claim(world.clock(), world.clock.at - world.clock.at, 10)
    message = (await runtime.store.get_messages(seeded.account_id, [sent.message_id]))[
        sent.message_id
    ]
    after = await runtime.store.get_account(seeded.account_id)

    assert (sent.code, sent.sandbox) == ("4321", True)
    assert claimed == []
    assert (message.status, message.transport, message.cost) == (
        MessageStatus.DELIVERED,
        "sandbox",
        0,
    )
    assert "4321" not in message.text
    assert after.credit == before.credit
    assert await world.check("4321", mobile="09120000000") is VerificationStatus.APPROVED
    await world.gateway.aclose()


def test_sealing_round_trip() -> None:
    """A sealed code unseals to itself, differs per verification, and is as long as the code."""
    key = b"s" * 32

    sealed_a = sealing.seal(key, "a" * 32, "04321")
    sealed_b = sealing.seal(key, "b" * 32, "04321")

    assert sealing.unseal(key, "a" * 32, sealed_a) == "04321"
    assert sealed_a != sealed_b
    assert len(sealed_a) == 5
