"""The limits on failed sign-ins: counted atomically, per email and address, with back-off."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from quickotp.adapters.store.schema import sign_in_limits
from quickotp.bootstrap import Runtime
from quickotp.domain.addresses import client_key
from quickotp.domain.errors import SignInFailed, SignInThrottled
from quickotp.services.users import SecondStep, SignedIn, Users
from quickotp.support.password_pool import PasswordPool
from tests.panel.conftest import OPERATOR_EMAIL, PASSWORD, open_browser, sign_in, users_on

pytestmark = pytest.mark.anyio

WRONG = "not the password at all"


def users_at(runtime: Runtime, now: list[datetime]) -> Users:
    """
    The runtime's people (`users_on`) on a clock the test moves, with room in the password
    pool for a whole burst: the limits decide here.
    """
    return users_on(
        runtime, now, token_urlsafe=secrets.token_urlsafe, pool=PasswordPool(capacity=64)
    )


async def operator_users(runtime: Runtime) -> tuple[Users, list[datetime]]:
    """`users_at` a clock set at noon on 1 March 2026, with the operator made; and the clock."""
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    users = users_at(runtime, now)
    await users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    return users, now


async def attempt(
    users: Users, password: str, ip: str | None
) -> type[Exception] | SignedIn | SecondStep:
    """One sign-in as the operator: the session, or the class of the refusal."""
    try:
        return await users.sign_in(email=OPERATOR_EMAIL, password=password, ip=ip)
    except (SignInFailed, SignInThrottled) as exc:
        return type(exc)


async def test_a_racing_burst_is_counted_one_attempt_after_another(runtime: Runtime) -> None:
    """
    29 wrong passwords and the right one sent at once: five are checked and the rest wait,
    so the right one gets in only if it was among the first five counted.
    """
    users, _ = await operator_users(runtime)

    outcomes = await asyncio.gather(
        *(attempt(users, WRONG, "203.0.113.5") for _ in range(29)),
        attempt(users, PASSWORD, "203.0.113.5"),
    )

    checked = [o for o in outcomes if o is not SignInThrottled]
    assert len(checked) == 5
    assert outcomes.count(SignInThrottled) == 25


async def test_an_attacker_cannot_lock_the_operator_out_of_an_address_they_used(
    runtime: Runtime,
) -> None:
    """Wrong passwords from address A, past every limit, leave B (used before) untouched."""
    users, _ = await operator_users(runtime)
    assert isinstance(await attempt(users, PASSWORD, "198.51.100.9"), SignedIn)  # B, known now
    for n in range(40):  # A, and the addresses beside it
        await attempt(users, WRONG, f"203.0.113.{n % 8}")

    from_a = await attempt(users, PASSWORD, "203.0.113.0")
    from_b = await attempt(users, PASSWORD, "198.51.100.9")

    assert from_a is SignInThrottled
    assert isinstance(from_b, SignedIn)


async def test_a_new_address_is_slowed_never_locked_out_by_a_spread_guesser(
    runtime: Runtime,
) -> None:
    """Guesses from many addresses make an unknown address wait a minute at most, not 15."""
    users, now = await operator_users(runtime)
    for n in range(60):
        await attempt(users, WRONG, f"203.0.113.{n}")
    with pytest.raises(SignInThrottled) as slowed:
        await users.sign_in(email=OPERATOR_EMAIL, password=PASSWORD, ip="192.0.2.44")
    now[0] += timedelta(seconds=slowed.value.retry_after)

    signed = await users.sign_in(email=OPERATOR_EMAIL, password=PASSWORD, ip="192.0.2.44")

    assert slowed.value.retry_after <= 60
    assert signed.user.email == OPERATOR_EMAIL


async def test_each_failure_past_the_limit_doubles_the_wait(runtime: Runtime) -> None:
    """One email from one address: 1 minute after the fifth failure, then 2, then 4."""
    users, now = await operator_users(runtime)
    waits = []
    for _ in range(5):
        await attempt(users, WRONG, "203.0.113.5")
    for _ in range(3):
        try:
            await users.sign_in(email=OPERATOR_EMAIL, password=WRONG, ip="203.0.113.5")
        except SignInThrottled as exc:
            waits.append(exc.retry_after)
        now[0] += timedelta(seconds=waits[-1])
        assert await attempt(users, WRONG, "203.0.113.5") is SignInFailed

    assert waits == [60, 120, 240]


async def test_a_right_password_takes_its_count_back(runtime: Runtime) -> None:
    """Signing in clears the pair's count, so a later typo does not start at four."""
    users, _ = await operator_users(runtime)
    for _ in range(4):
        await attempt(users, WRONG, "203.0.113.5")
    assert isinstance(await attempt(users, PASSWORD, "203.0.113.5"), SignedIn)

    outcomes = [await attempt(users, WRONG, "203.0.113.5") for _ in range(5)]

    assert outcomes == [SignInFailed] * 5


async def test_an_ipv6_client_is_one_address_for_its_whole_64(runtime: Runtime) -> None:
    """Hopping through the addresses of one /64 does not make fresh pairs."""
    users, _ = await operator_users(runtime)

    outcomes = [await attempt(users, WRONG, f"2001:db8:1:2::{n:x}") for n in range(6)]

    assert outcomes[-1] is SignInThrottled
    assert client_key("2001:db8:1:2::7") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"


async def test_the_panel_answers_a_locked_pair_429_only_from_that_address(
    runtime: Runtime,
) -> None:
    """Through the panel: five wrong passwords from one browser lock it, not another one."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    attacker = await open_browser(runtime, ip="203.0.113.66")
    operator = await open_browser(runtime, ip="198.51.100.9")
    for _ in range(5):
        await sign_in(attacker, OPERATOR_EMAIL, WRONG)

    locked = await sign_in(attacker, OPERATOR_EMAIL)
    elsewhere = await sign_in(operator, OPERATOR_EMAIL)

    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 60
    assert elsewhere.status_code == 303


async def test_idle_counts_are_swept_and_live_ones_kept(runtime: Runtime) -> None:
    """A sweep drops counts idle past the window whose wait is over, and nothing else."""
    users, now = await operator_users(runtime)
    await attempt(users, WRONG, "203.0.113.1")
    now[0] += timedelta(minutes=10)
    for _ in range(5):
        await attempt(users, WRONG, "203.0.113.2")
    now[0] += timedelta(minutes=6)

    await users.store.sweep_sign_in_limits(now=now[0], window=timedelta(minutes=15))

    async with runtime.engines.read.connect() as conn:
        keys = set((await conn.execute(select(sign_in_limits.c.key))).scalars())
    assert keys == {
        "address:203.0.113.2",
        f"pair:203.0.113.2 {OPERATOR_EMAIL}",
        f"email:{OPERATOR_EMAIL}",
    }
