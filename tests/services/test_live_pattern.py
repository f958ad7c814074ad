"""
The live OTP pattern: the approved OTP pattern an account chose sends its codes
(SendQuickOTP, /v1's send without a pattern), else its newest; the choice is checked, audited
and takes effect at once in this process, whatever it cached. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.errors import NotFound, PatternNotApproved, PatternUnavailable
from quickotp.domain.models import Actor, Caller, Console, PatternState, Role, User
from quickotp.services.patterns import LiveOtp
from tests.conftest import known_names, make_settings

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    """A migrated gateway that keeps what it reads a minute, as a deployment does."""
    built = build_runtime(
        make_settings(database_url, QUICKOTP_TOKEN_CACHE_SECONDS="60"),
        dispatch=False,
        resolver=known_names(),
    )
    await upgrade(built.engines)
    await built.start()
    yield built
    await built.aclose()


async def _approved(runtime: Runtime, account_id: int, text: str, *, otp: bool = True) -> int:
    pattern = await runtime.gateway.create_account_pattern(
        account_id, text=text, is_otp=otp, capped=False
    )
    await runtime.admin.approve_pattern(pattern.id)
    return pattern.id


async def _user(runtime: Runtime, account_id: int) -> User:
    return await runtime.users.store.create_user(
        email=f"user{account_id}@shop.test",
        password_hash="-",
        role=Role.USER,
        account_id=account_id,
        new_account=None,
        sender="",
        locale="en",
        now=NOW,
    )


async def _sent_text(runtime: Runtime, caller: Caller) -> str:
    sent = await runtime.gateway.send_quick_otp(caller, mobile="09120000000", code_length=5)
    found = await runtime.store.get_messages(caller.account.id, [sent.message_id])
    return found[sent.message_id].text.replace(sent.code, "<code>")


async def test_the_newest_sends_until_one_is_chosen_and_a_choice_no_longer_approved_falls_back(
    runtime: Runtime,
) -> None:
    account = await runtime.admin.create_account(name="shop", credit=0, sender="1000")
    assert await runtime.store.otp_pattern(account.id) is None
    older = await _approved(runtime, account.id, "Older: %code%")
    newer = await _approved(runtime, account.id, "Newer: %code%")

    live = await runtime.store.otp_pattern(account.id)
    assert live is not None
    assert live.id == newer
    assert await runtime.store.chosen_otp_pattern(account.id) is None

    await runtime.store.choose_otp_pattern(account.id, older)
    live = await runtime.store.otp_pattern(account.id)
    assert live is not None
    assert live.id == older
    assert await runtime.store.chosen_otp_pattern(account.id) == older

    await runtime.admin.reject_pattern(older, "withdrawn")
    live = await runtime.store.otp_pattern(account.id)
    assert live is not None
    assert live.id == newer


async def test_only_an_approved_otp_pattern_of_the_accounts_own_can_be_chosen(
    runtime: Runtime,
) -> None:
    account = await runtime.admin.create_account(name="shop", credit=0, sender="1000")
    other = await runtime.admin.create_account(name="other", credit=0, sender="1001")
    live = await _approved(runtime, account.id, "Code: %code%")
    plain = await _approved(runtime, account.id, "Hello %name%", otp=False)
    pending = await runtime.gateway.create_account_pattern(
        account.id, text="Pending: %code%", is_otp=True, capped=False
    )
    others = await _approved(runtime, other.id, "Theirs: %code%")

    with pytest.raises(PatternUnavailable):
        await runtime.store.choose_otp_pattern(account.id, plain)
    with pytest.raises(PatternNotApproved):
        await runtime.store.choose_otp_pattern(account.id, pending.id)
    with pytest.raises(NotFound):
        await runtime.store.choose_otp_pattern(account.id, others)
    with pytest.raises(NotFound):
        await runtime.store.choose_otp_pattern(account.id, 999_999)

    assert await runtime.store.chosen_otp_pattern(account.id) is None
    found = await runtime.store.otp_pattern(account.id)
    assert found is not None
    assert found.id == live
    assert pending.state is PatternState.PENDING


async def test_a_users_choice_sends_the_next_code_with_it_and_is_audited(
    runtime: Runtime,
) -> None:
    account = await runtime.admin.create_account(name="shop", credit=1_000_000, sender="1000")
    older = await _approved(runtime, account.id, "Older: %code%")
    newer = await _approved(runtime, account.id, "Newer: %code%")
    issued = await runtime.admin.issue_token(account_id=account.id)
    caller = await runtime.gateway.authenticate(issued.secret, method="SendQuickOTP", ip=None)
    user = await _user(runtime, account.id)

    # The first send reads the newest and keeps it (a minute here).
    assert await _sent_text(runtime, caller) == "Newer: <code>"
    assert await runtime.workspace.live_pattern(user) == LiveOtp(newer, chosen=False)

    await runtime.workspace.choose_live_pattern(Actor(user, "198.51.100.7"), older)

    assert await _sent_text(runtime, caller) == "Older: <code>"
    assert await runtime.workspace.live_pattern(user) == LiveOtp(older, chosen=True)
    entry = (await runtime.desk.identity.list_audit(before=None, limit=1))[0]
    assert (entry.actor, entry.action, entry.target, entry.ip) == (
        user.email,
        "pattern.live",
        f"pattern:{older}",
        "198.51.100.7",
    )


async def test_the_operator_chooses_for_an_account_and_it_is_audited(runtime: Runtime) -> None:
    account = await runtime.admin.create_account(name="shop", credit=1_000_000, sender="1000")
    older = await _approved(runtime, account.id, "Older: %code%")
    await _approved(runtime, account.id, "Newer: %code%")
    issued = await runtime.admin.issue_token(account_id=account.id)
    caller = await runtime.gateway.authenticate(issued.secret, method="SendQuickOTP", ip=None)
    assert await _sent_text(runtime, caller) == "Newer: <code>"

    await runtime.desk.choose_otp_pattern(Console("ops"), account.id, older)

    assert await _sent_text(runtime, caller) == "Older: <code>"
    assert (await runtime.desk.account(_operator_actor(), account.id)).live == LiveOtp(
        older, chosen=True
    )
    entry = (await runtime.desk.identity.list_audit(before=None, limit=1))[0]
    assert (entry.actor, entry.action, entry.target) == (
        "cli:ops",
        "pattern.live",
        f"pattern:{older}",
    )


def _operator_actor() -> Actor:
    operator = User(
        id=0,
        email="ops@gateway.test",
        role=Role.OPERATOR,
        account_id=None,
        active=True,
        locale="en",
        created_at=NOW,
        last_sign_in_at=None,
    )
    return Actor(operator, None)
