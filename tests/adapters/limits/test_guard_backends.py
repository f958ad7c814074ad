"""The fraud guard on the send path, on each limits backend: every refusal triggered once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from quickotp.adapters.limits.redis import RedisLimiter
from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain import phone
from quickotp.domain.errors import (
    AccountRateLimited,
    CountryNotAllowed,
    IdempotencyConflict,
    IpRateLimited,
    LimitsUnavailable,
    MobileBlocked,
    MobileCooldown,
    MobileLimitReached,
    PumpingSuspected,
    RequestRepeated,
    TokenRateLimited,
)
from quickotp.domain.limits import Admitted
from quickotp.domain.models import Caller
from quickotp.ports.limits import Limiter
from quickotp.services.gateway import Gateway
from quickotp.services.guard import Guard, Policy, Subject
from quickotp.services.sends import Outgoing, SentOtp
from tests.adapters.limits.clock import FrozenClock
from tests.adapters.limits.guarded import guarded_gateway
from tests.conftest import Seeded, make_settings, seed

pytestmark = pytest.mark.anyio

# Everything off but what a test switches on, so each test sees one rule at work.
QUIET = Policy(
    idempotency_seconds=0,
    cooldown_seconds=0,
    per_number_hour=0,
    per_number_day=0,
    account_rate=0,
    token_rate=0,
    ip_rate=0,
    pumping="off",
    countries=("IR",),
)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A migrated runtime on SQLite (the backends vary here, not the database)."""
    built = build_runtime(make_settings(f"sqlite:///{tmp_path / 'q.db'}"), dispatch=False)
    await upgrade(built.engines)
    await built.start()
    yield built
    await built.aclose()


@pytest.fixture
async def seeded(runtime: Runtime) -> Seeded:
    return await seed(runtime)


class Sender:
    """Sends OTPs through a gateway whose guard has one policy, on the fixture's limiter."""

    def __init__(self, gateway: Gateway, token: str, clock: FrozenClock) -> None:
        self.gateway = gateway
        self.token = token
        self.clock = clock

    async def __call__(
        self, mobile: str, *, ip: str = "203.0.113.7", token: str | None = None
    ) -> SentOtp:
        caller = await self.gateway.authenticate(token or self.token, method="SendQuickOTP", ip=ip)
        return await self.gateway.send_quick_otp(caller, mobile=mobile, code_length=5)


MakeSender = Callable[..., Awaitable[Sender]]


@pytest.fixture
async def send(runtime: Runtime, seeded: Seeded, limiter: Limiter) -> AsyncIterator[MakeSender]:
    """send(policy) -> a Sender on a gateway with that policy."""
    clock = FrozenClock()
    gateways: list[Gateway] = []

    async def make(policy: Policy, *, regions: tuple[str, ...] = ("IR",)) -> Sender:
        config = replace(runtime.gateway.config, regions=regions)
        gateway = guarded_gateway(runtime, limiter, policy, clock, config)
        gateways.append(gateway)
        return Sender(gateway, seeded.token, clock)

    yield make
    for gateway in gateways:
        await gateway.aclose()


async def test_cooldown_refuses_a_second_send_to_the_number(send: MakeSender) -> None:
    """A second send inside 60 s is Mobile_Cooldown; after 60 s it goes."""
    to = await send(replace(QUIET, cooldown_seconds=60))
    await to("09120000001")

    with pytest.raises(MobileCooldown) as refused:
        await to("09120000001")
    to.clock.advance(seconds=60)
    await to("09120000001")

    assert refused.value.retry_after == pytest.approx(60)


async def test_hourly_cap_per_number(send: MakeSender) -> None:
    """The fourth send in an hour to one number, with a cap of 3, is Mobile_LimitReached."""
    to = await send(replace(QUIET, per_number_hour=3))
    for _ in range(3):
        await to("09120000002")

    with pytest.raises(MobileLimitReached):
        await to("09120000002")
    await to("09120000003")


async def test_daily_cap_per_number(send: MakeSender) -> None:
    """The daily cap holds across hours."""
    to = await send(replace(QUIET, per_number_day=2))
    await to("09120000004")
    to.clock.advance(hours=2)
    await to("09120000004")
    to.clock.advance(hours=2)

    with pytest.raises(MobileLimitReached):
        await to("09120000004")


async def test_account_rate(send: MakeSender) -> None:
    """The account's token bucket refuses past its burst, whatever the number."""
    to = await send(replace(QUIET, account_rate=1.0, account_burst=2))
    await to("09120000005")
    await to("09120000006")

    with pytest.raises(AccountRateLimited):
        await to("09120000007")
    to.clock.advance(seconds=1)
    await to("09120000007")


async def test_token_rate(send: MakeSender, runtime: Runtime, seeded: Seeded) -> None:
    """Each token has its own bucket: a second token of the account still passes."""
    other = await runtime.admin.issue_token(account_id=seeded.account_id)
    to = await send(replace(QUIET, token_rate=1.0, token_burst=1))
    await to("09120000008")

    with pytest.raises(TokenRateLimited):
        await to("09120000009")
    await to("09120000009", token=other.secret)


async def test_ip_rate(send: MakeSender) -> None:
    """Each client address has its own bucket."""
    to = await send(replace(QUIET, ip_rate=1.0, ip_burst=1))
    await to("09120000010", ip="198.51.100.1")

    with pytest.raises(IpRateLimited):
        await to("09120000011", ip="198.51.100.1")
    await to("09120000011", ip="198.51.100.2")


async def test_pumping_blocks_a_range_far_above_normal(send: MakeSender) -> None:
    """Sends to one number range past the account's normal rate are refused: SMS pumping."""
    policy = replace(QUIET, pumping="block", pumping_prefix_min=3, pumping_country_min=1000)
    to = await send(policy)
    for n in range(3):
        await to(f"0912000010{n}")
    before = REGISTRY.get_sample_value("quickotp_pumping_alarms_total", {"kind": "prefix"}) or 0

    with pytest.raises(PumpingSuspected):
        await to("09120000103")
    await to("09350000103")  # another range

    after = REGISTRY.get_sample_value("quickotp_pumping_alarms_total", {"kind": "prefix"})
    assert after == before + 1


async def test_pumping_alarm_only_lets_sends_through(send: MakeSender) -> None:
    """In alarm mode the spike is counted and logged, and the send goes."""
    policy = replace(QUIET, pumping="alarm", pumping_prefix_min=1000, pumping_country_min=2)
    to = await send(policy)
    before = REGISTRY.get_sample_value("quickotp_pumping_alarms_total", {"kind": "country"}) or 0

    for n in range(4):
        await to(f"0912000020{n}")

    after = REGISTRY.get_sample_value("quickotp_pumping_alarms_total", {"kind": "country"})
    assert after == before + 2


async def test_blocklist(send: MakeSender) -> None:
    """A number, or a prefix, on the blocklist is Mobile_Blocked."""
    to = await send(replace(QUIET, blocklist=("989120000300", "98913")))

    with pytest.raises(MobileBlocked):
        await to("09120000300")
    with pytest.raises(MobileBlocked):
        await to("09130000301")
    await to("09120000301")


async def test_country_not_allowed(send: MakeSender) -> None:
    """A valid number of a country the gateway serves but the account may not send to."""
    to = await send(QUIET, regions=("IR", "GB"))

    with pytest.raises(CountryNotAllowed):
        await to("+447900123456")


async def test_safelist_is_spared_the_per_number_rules(send: MakeSender) -> None:
    """A safe-listed number passes the cooldown that stops any other."""
    policy = replace(QUIET, cooldown_seconds=60, safelist=("989120000400",))
    to = await send(policy)

    await to("09120000400")
    await to("09120000400")
    await to("09120000401")
    with pytest.raises(MobileCooldown):
        await to("09120000401")


def redis_down(runtime: Runtime, *, fail_open: bool = False) -> Guard:
    """A guard whose Redis is a closed port."""
    down = RedisLimiter.from_url("redis://127.0.0.1:1/0", timeout=0.2)
    return Guard(runtime.store, down, QUIET, b"k" * 32, FrozenClock(), fail_open=fail_open)


async def seeded_subject(runtime: Runtime, seeded: Seeded) -> Subject:
    """Who the seeded account's SendQuickOTP counts against."""
    caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    return _subject(caller)


async def test_unreachable_backend_fails_closed_by_default(
    runtime: Runtime, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis down, a guarded send is refused (LimitsUnavailable) and a log line says so."""
    guard = redis_down(runtime)
    rules = guard.send_rules(QUIET, await seeded_subject(runtime, seeded), _mobile("09120000500"))

    with pytest.raises(LimitsUnavailable):
        await guard.admit(rules)
    await guard.limiter.aclose()

    assert "failing CLOSED" in caplog.text


async def test_unreachable_backend_fails_open_when_told(
    runtime: Runtime, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    """Told to fail open, the guard admits with Redis down, and logs that it does."""
    guard = redis_down(runtime, fail_open=True)
    rules = guard.send_rules(QUIET, await seeded_subject(runtime, seeded), _mobile("09120000501"))

    admission = await guard.admit(rules)
    await guard.limiter.aclose()

    assert admission == Admitted()
    assert "failing OPEN" in caplog.text


async def test_concurrent_sends_to_one_number_pass_its_cooldown_once(send: MakeSender) -> None:
    """Twenty sends at once to one number: one goes, 19 cool down."""
    to = await send(replace(QUIET, cooldown_seconds=60))

    answers = await asyncio.gather(*(to("09120000502") for _ in range(20)), return_exceptions=True)

    assert sum(isinstance(a, SentOtp) for a in answers) == 1
    assert sum(isinstance(a, MobileCooldown) for a in answers) == 19


async def test_concurrent_sends_with_the_backend_down_are_each_refused(
    runtime: Runtime, seeded: Seeded
) -> None:
    """With Redis down, every one of many concurrent guarded requests fails closed."""
    guard = redis_down(runtime)
    who = await seeded_subject(runtime, seeded)
    numbers = [_mobile(f"091200005{i:02d}") for i in range(10, 30)]

    answers = await asyncio.gather(
        *(guard.admit(guard.send_rules(QUIET, who, n)) for n in numbers),
        return_exceptions=True,
    )
    await guard.limiter.aclose()

    assert all(isinstance(a, LimitsUnavailable) for a in answers)


def _subject(caller: Caller) -> Subject:
    return Subject(caller.account.id, caller.token.id, caller.ip)


def _mobile(raw: str) -> phone.Mobile:
    return phone.normalise(raw)


async def test_a_repeat_on_another_process_gets_the_first_answer(send: MakeSender) -> None:
    """Two processes on one limits backend: the repeat is answered from the database."""
    policy = replace(QUIET, idempotency_seconds=10)
    one, two = await send(policy), await send(policy)

    first = await one("09120000600")
    repeat = await two("09120000600")

    assert (repeat.message_id, repeat.code, repeat.verification_id) == (
        first.message_id,
        first.code,
        first.verification_id,
    )


async def test_concurrent_repeats_across_processes_send_one_sms(
    send: MakeSender, runtime: Runtime, seeded: Seeded
) -> None:
    """Ten identical requests on each of two processes at once: one SMS, one answer."""
    policy = replace(QUIET, idempotency_seconds=10)
    one, two = await send(policy), await send(policy)

    answers = await asyncio.gather(
        *(sender("09120000601") for sender in (one, two) for _ in range(10))
    )
    messages = await runtime.store.list_messages(seeded.account_id, 100)

    assert len(messages) == 1
    assert {(a.message_id, a.code) for a in answers} == {(messages[0].id, answers[0].code)}


async def test_a_repeat_after_approval_elsewhere_cannot_show_the_code(send: MakeSender) -> None:
    """Once approved, the sealed code is gone: the other process answers Request_Repeated."""
    policy = replace(QUIET, idempotency_seconds=10)
    one, two = await send(policy), await send(policy)
    first = await one("09120000602")
    caller = await one.gateway.authenticate(one.token, method="VerifyQuickOTP", ip=None)
    await one.gateway.verifications.check(caller, code=first.code, mobile="09120000602")

    with pytest.raises(RequestRepeated):
        await two("09120000602")


async def test_an_idempotency_key_reused_elsewhere_with_another_body_conflicts(
    send: MakeSender,
) -> None:
    """/v1: the same key with another body on another process is IdempotencyConflict."""
    one, two = await send(QUIET), await send(QUIET)
    callers = [
        await s.gateway.authenticate(s.token, method="SendQuickOTP", ip=None) for s in (one, two)
    ]

    first = await one.gateway.start_verification(
        callers[0], to="09120000603", idempotency_key="key", fingerprint="body-a"
    )
    same = await two.gateway.start_verification(
        callers[1], to="09120000603", idempotency_key="key", fingerprint="body-a"
    )

    assert (same.verification_id, same.message_id, same.code) == (
        first.verification_id,
        first.message_id,
        "",
    )
    with pytest.raises(IdempotencyConflict):
        await two.gateway.start_verification(
            callers[1], to="09120000604", idempotency_key="key", fingerprint="body-b"
        )


# sends without a code (free text, plain patterns) -----------------------------------------


async def _send_text(sender: Sender, mobile: str, text: str = "hello") -> SentOtp:
    caller = await sender.gateway.authenticate(sender.token, method=None, ip="203.0.113.7")
    outgoing = Outgoing(text=text, repeat=("simple", text))
    return await sender.gateway.send(caller, _mobile(mobile), outgoing)


async def test_the_per_number_rules_hold_for_free_text(send: MakeSender) -> None:
    """A text to a number that just had one is Mobile_Cooldown, as an OTP would be."""
    to = await send(replace(QUIET, cooldown_seconds=60))
    await _send_text(to, "09120000700")

    with pytest.raises(MobileCooldown):
        await _send_text(to, "09120000700", "another text")
    with pytest.raises(MobileCooldown):
        await to("09120000700")  # and an OTP after a text: one number, one cooldown


async def test_pumping_holds_for_free_text(send: MakeSender) -> None:
    """Texts to one range far above normal are refused as Pumping_Suspected."""
    policy = replace(QUIET, pumping="block", pumping_prefix_min=3, pumping_country_min=1000)
    to = await send(policy)
    for n in range(3):
        await _send_text(to, f"0912000071{n}")

    with pytest.raises(PumpingSuspected):
        await _send_text(to, "09120000719")


async def test_a_text_repeat_on_another_process_gets_the_first_answer(
    send: MakeSender, runtime: Runtime, seeded: Seeded
) -> None:
    """A text has no verification: the other process finds the first message by its request."""
    policy = replace(QUIET, idempotency_seconds=10)
    one, two = await send(policy), await send(policy)

    first = await _send_text(one, "09120000720")
    repeat = await _send_text(two, "09120000720")
    messages = await runtime.store.list_messages(seeded.account_id, 10)

    assert (repeat.message_id, repeat.code, repeat.verification_id) == (first.message_id, "", "")
    assert len(messages) == 1
