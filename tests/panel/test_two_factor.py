"""
Two-step sign-in (TOTP, RFC 6238) through the panel: enrolment confirmed by a first code,
ten recovery codes shown once and kept hashed, the second step at sign-in with its limits,
a code that works once, turning it off with the password, and the key sealed at rest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from quickotp.adapters.store.schema import recovery_codes, totp_secrets
from quickotp.bootstrap import Runtime
from quickotp.domain import totp
from quickotp.domain.credentials import SignInOutcome
from quickotp.domain.errors import ConfigurationError, SecondFactorFailed, SecondStepExpired
from quickotp.domain.sealing import seal_secret, unseal_secret
from quickotp.services.users import SecondStep
from tests.panel.conftest import (
    OPERATOR_EMAIL,
    PASSWORD,
    Browser,
    open_browser,
    sign_in,
    sign_up,
    users_on,
)

pytestmark = pytest.mark.anyio

_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
_CODES = re.compile(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>")


async def enrol(browser: Browser) -> tuple[str, list[str]]:
    """Turn two-step sign-in on from the settings page: the key and the recovery codes."""
    assert (await browser.post("/panel/settings/two-step/begin")).status_code == 303
    page = await browser.get("/panel/settings/two-step")
    found = _SECRET.search(page.text)
    assert found is not None, page.text[:2000]
    secret = found.group(1)
    done = await browser.post(
        "/panel/settings/two-step/confirm", {"code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200, done.text[:2000]
    return secret, _CODES.findall(done.text)


async def password_step(browser: Browser, email: str, password: str = PASSWORD) -> None:
    response = await sign_in(browser, email, password)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/panel/sign-in/code"


async def code_step(browser: Browser, code: str) -> int:
    response = await browser.post("/panel/sign-in/code", {"code": code}, form="/panel/sign-in")
    return response.status_code


def next_code(secret: str) -> str:
    """
    The code of the time step after now: taken (one step of drift either way), and later
    than the step enrolment took, which no code may reuse.
    """
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


async def test_enrolment_needs_a_right_first_code_and_shows_ten_codes_once(
    browser: Browser, runtime: Runtime
) -> None:
    """A wrong first code leaves it off; the right one turns it on with 10 codes, kept hashed."""
    await sign_up(browser, "owner@shop.test", "Shop")
    assert (await browser.post("/panel/settings/two-step/begin")).status_code == 303
    page = await browser.get("/panel/settings/two-step")
    found = _SECRET.search(page.text)
    assert found is not None
    secret = found.group(1)
    assert 'src="data:image/svg+xml;base64,' in page.text
    assert f"otpauth://totp/QuickOTP:owner%40shop.test?secret={secret}" in page.text

    wrong = await browser.post("/panel/settings/two-step/confirm", {"code": "000000"})
    user = (await runtime.users.store.list_users())[-1]
    assert wrong.status_code == 422
    assert "Wrong code." in wrong.text
    assert not await runtime.users.two_factor.enabled(user.id)

    done = await browser.post(
        "/panel/settings/two-step/confirm", {"code": pyotp.TOTP(secret).now()}
    )
    codes = _CODES.findall(done.text)
    assert len(set(codes)) == 10
    assert await runtime.users.two_factor.enabled(user.id)
    later = await browser.get("/panel/settings/two-step")
    assert "Unused recovery codes: 10" in later.text
    assert "On since <time datetime=" in later.text
    assert secret not in later.text
    assert not any(code in later.text for code in codes)
    async with runtime.engines.read.connect() as conn:
        sealed = (await conn.execute(select(totp_secrets.c.sealed))).scalar_one()
        digests = (await conn.execute(select(recovery_codes.c.digest))).scalars().all()
    assert secret.encode() not in sealed
    assert len(digests) == 10
    assert not any(code.replace("-", "").encode() in d for code in codes for d in digests)


async def test_a_sign_in_asks_for_the_code_after_the_password(
    browser: Browser, runtime: Runtime
) -> None:
    """No session after the password alone; the right code gives one; the history says so."""
    await sign_up(browser, "owner@shop.test", "Shop")
    secret, _ = await enrol(browser)
    later = await open_browser(runtime, ip="198.51.100.40")

    await password_step(later, "owner@shop.test")
    between = await later.get("/panel/dashboard")
    wrong = await later.post("/panel/sign-in/code", {"code": "123456"}, form="/panel/sign-in")
    right = await code_step(later, next_code(secret))

    assert between.headers["location"].startswith("/panel/sign-in")
    assert wrong.status_code == 401
    assert "Wrong code." in wrong.text
    assert right == 303
    assert (await later.get("/panel/dashboard")).status_code == 200
    user = (await runtime.users.store.list_users())[-1]
    outcomes = [e.outcome for e in await runtime.users.history(user)]
    assert outcomes[:2] == [SignInOutcome.SIGNED_IN, SignInOutcome.WRONG_CODE]


async def test_a_code_works_once(browser: Browser, runtime: Runtime) -> None:
    """The code that signed in one browser does not sign in a second one."""
    await sign_up(browser, "owner@shop.test", "Shop")
    secret, _ = await enrol(browser)
    first = await open_browser(runtime, ip="198.51.100.41")
    second = await open_browser(runtime, ip="198.51.100.42")
    code = next_code(secret)

    await password_step(first, "owner@shop.test")
    await password_step(second, "owner@shop.test")

    assert await code_step(first, code) == 303
    assert await code_step(second, code) == 401


async def test_a_recovery_code_signs_in_once(browser: Browser, runtime: Runtime) -> None:
    """Typed in any case, with or without dashes; then it is used up."""
    await sign_up(browser, "owner@shop.test", "Shop")
    _, codes = await enrol(browser)
    first = await open_browser(runtime, ip="198.51.100.43")
    second = await open_browser(runtime, ip="198.51.100.44")

    await password_step(first, "owner@shop.test")
    await password_step(second, "owner@shop.test")

    assert await code_step(first, codes[3].upper().replace("-", " ")) == 303
    assert await code_step(second, codes[3]) == 401
    user = (await runtime.users.store.list_users())[-1]
    assert (await runtime.users.two_factor.state(user)).recovery_left == 9


async def test_wrong_codes_are_limited_like_passwords(browser: Browser, runtime: Runtime) -> None:
    """Five wrong codes, then even the right one waits (429 with Retry-After)."""
    await sign_up(browser, "owner@shop.test", "Shop")
    secret, _ = await enrol(browser)
    guesser = await open_browser(runtime, ip="198.51.100.45")
    await password_step(guesser, "owner@shop.test")

    wrong = [await code_step(guesser, f"{n:06d}") for n in range(5)]
    locked = await guesser.post(
        "/panel/sign-in/code", {"code": pyotp.TOTP(secret).now()}, form="/panel/sign-in"
    )

    assert wrong == [401] * 5
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


async def test_turning_it_off_takes_the_password(browser: Browser, runtime: Runtime) -> None:
    """A wrong password leaves it on; the right one turns it off and sign-in is one step."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await enrol(browser)
    user = (await runtime.users.store.list_users())[-1]

    refused = await browser.post("/panel/settings/two-step/off", {"password": "not mine at all"})
    still = await runtime.users.two_factor.enabled(user.id)
    off = await browser.post("/panel/settings/two-step/off", {"password": PASSWORD})

    assert refused.status_code == 422
    assert "The current password is wrong." in refused.text
    assert still
    assert off.status_code == 303
    assert not await runtime.users.two_factor.enabled(user.id)
    again = await open_browser(runtime, ip="198.51.100.46")
    assert (await sign_in(again, "owner@shop.test")).headers["location"] == "/panel/dashboard"


async def test_new_recovery_codes_replace_the_old_ones(browser: Browser, runtime: Runtime) -> None:
    """The password makes ten new codes; an old one no longer signs in."""
    await sign_up(browser, "owner@shop.test", "Shop")
    _, old = await enrol(browser)

    made = await browser.post("/panel/settings/two-step/codes", {"password": PASSWORD})
    new = _CODES.findall(made.text)
    later = await open_browser(runtime, ip="198.51.100.47")
    await password_step(later, "owner@shop.test")

    assert len(new) == 10
    assert not set(new) & set(old)
    assert await code_step(later, old[0]) == 401
    assert await code_step(later, new[0]) == 303


async def test_an_operator_turns_it_off_for_a_user_who_lost_everything(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Off from the user's row, in the audit log; the user signs in with the password alone."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await enrol(browser)
    user = (await runtime.users.store.list_users())[-1]

    done = await operator.post(
        f"/panel/operator/users/{user.id}/two-step-off",
        form=f"/panel/operator/accounts/{user.account_id}",
    )

    assert done.status_code == 303
    assert not await runtime.users.two_factor.enabled(user.id)
    [entry, *_] = await runtime.desk.identity.list_audit(before=None, limit=5)
    assert (entry.action, entry.target) == ("user.two_factor_off", f"user:{user.id}")
    by_user = await browser.post(
        f"/panel/operator/users/{user.id}/two-step-off", form="/panel/settings"
    )
    assert by_user.status_code == 403


async def test_operators_use_two_step_sign_in_too(operator: Browser, runtime: Runtime) -> None:
    """An operator enrols from their own settings and then signs in with two steps."""
    secret, _ = await enrol(operator)
    later = await open_browser(runtime, ip="198.51.100.48")

    await password_step(later, OPERATOR_EMAIL)

    assert await code_step(later, next_code(secret)) == 303
    assert (await later.get("/panel/operator")).status_code == 200


async def test_the_second_step_expires_and_a_reset_ends_it(runtime: Runtime) -> None:
    """A sign-in waits five minutes for its code; a password reset ends it at once."""
    now = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    users = users_on(runtime, now)
    me = await users.create_operator(email="me@gateway.test", password=PASSWORD)
    enrolment = await users.two_factor.begin(me)
    await users.two_factor.confirm(me, pyotp.TOTP(enrolment.secret).at(now[0]))
    key = pyotp.TOTP(enrolment.secret)

    waiting = await users.sign_in(email="me@gateway.test", password=PASSWORD, ip=None)
    assert isinstance(waiting, SecondStep)
    now[0] += timedelta(minutes=5, seconds=1)
    with pytest.raises(SecondStepExpired):
        await users.finish_sign_in(waiting.secret, key.at(now[0]), ip=None)

    waiting = await users.sign_in(email="me@gateway.test", password=PASSWORD, ip=None)
    assert isinstance(waiting, SecondStep)
    await users.issue_reset(me.id, by=None)
    with pytest.raises(SecondStepExpired):
        await users.finish_sign_in(waiting.secret, key.at(now[0]), ip=None)


async def test_a_code_is_taken_within_one_step_of_now_only(runtime: Runtime) -> None:
    """Codes 30 s early or late are taken; two steps off, or reused, are not."""
    now = [datetime(2026, 1, 1, 12, 0, 15, tzinfo=UTC)]
    users = users_on(runtime, now)
    me = await users.create_operator(email="me@gateway.test", password=PASSWORD)
    enrolment = await users.two_factor.begin(me)
    key = pyotp.TOTP(enrolment.secret)
    with pytest.raises(SecondFactorFailed):
        await users.two_factor.confirm(me, key.at(now[0] - timedelta(seconds=60)))
    await users.two_factor.confirm(me, key.at(now[0] - timedelta(seconds=30)))  # step n-1
    now[0] += timedelta(minutes=10)

    assert not await users.two_factor.check(me.id, key.at(now[0] + timedelta(seconds=60)))
    assert await users.two_factor.check(me.id, key.at(now[0] + timedelta(seconds=30)))
    assert not await users.two_factor.check(me.id, key.at(now[0]))  # older than the one taken


def test_a_sealed_key_opens_only_with_its_key_and_its_user() -> None:
    """AES-GCM bound to the user: another user's row or another server key cannot open it."""
    sealed = seal_secret(b"k" * 32, "totp:1", b"JBSWY3DPEHPK3PXP", b"n" * 12)

    assert unseal_secret(b"k" * 32, "totp:1", sealed) == b"JBSWY3DPEHPK3PXP"
    for key, context in ((b"k" * 32, "totp:2"), (b"x" * 32, "totp:1")):
        with pytest.raises(ConfigurationError):
            unseal_secret(key, context, sealed)


def test_codes_and_recovery_codes_as_people_type_them() -> None:
    """Persian digits and spaces in a code; any case and dashes in a recovery code."""
    code = totp.new_recovery_code(bytes(range(10)))

    assert totp.looks_like_code("۱۲۳ ۴۵۶")
    assert not totp.looks_like_code("12345")
    assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code)
    assert totp.recovery_key(code.upper().replace("-", " ")) == code.replace("-", "")
    assert totp.recovery_key("not a code") is None
