"""The client's sends beyond SendQuickOTP: free text, SendOTP, patterns, and /v1 messages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

import quickotp_client
from quickotp.bootstrap import Runtime
from quickotp_client import AsyncClient, Client
from quickotp_client._amoot import _send_time, _values
from tests.conftest import Seeded, approved_order_pattern
from tests.sdk.conftest import Served

pytestmark = pytest.mark.anyio

MOBILE = "09121112233"


@pytest.fixture
async def order_pattern(runtime: Runtime, seeded: Seeded) -> int:
    """An approved plain pattern: an order number (digits) and a name."""
    return await approved_order_pattern(runtime, seeded, "order %order% for %name%")


@pytest.fixture
async def free_text(runtime: Runtime, seeded: Seeded) -> None:
    await runtime.admin.set_free_text(seeded.account_id, True)


def test_values_are_comma_joined_unless_one_holds_a_comma() -> None:
    """Amoot's samples join values with commas; a value with a comma goes in a JSON array."""
    assert _values(["Anna", 42]) == "Anna,42"
    assert _values(["Smith, Anna", "42"]) == '["Smith, Anna", "42"]'


def test_send_at_is_written_in_tehran_time() -> None:
    """An aware datetime is written as Amoot's clients write it: Tehran time, no offset."""
    assert _send_time(datetime(2026, 12, 6, 8, 55, 7, tzinfo=UTC)) == "2026-12-06 12:25:07"
    assert _send_time(None) == ""
    with pytest.raises(ValueError, match="time zone"):
        _send_time(datetime(2026, 12, 6, 8, 55, 7))  # noqa: DTZ001 - the naive time refused


async def test_send_simple_gives_a_row_per_number(otp: AsyncClient, free_text: None) -> None:
    """Each recipient's row, a refused one keeping its Status without raising."""
    rows = await otp.send_simple([MOBILE, "12345"], "hello")

    assert [(r.mobile, r.status) for r in rows] == [
        ("9121112233", "Success"),
        ("12345", "Mobile_Invalid"),
    ]
    assert rows[0].message_id > 0
    assert rows[1].message_id == 0


async def test_send_simple_without_free_text_raises(otp: AsyncClient) -> None:
    """The operator's permission missing: FreeTextNotAllowed, an AccountError."""
    with pytest.raises(quickotp_client.FreeTextNotAllowed) as raised:
        await otp.send_simple(MOBILE, "hello")

    assert isinstance(raised.value, quickotp_client.AccountError)


async def test_send_with_backup_line_and_a_schedule(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded, free_text: None
) -> None:
    """The backup line and the send time reach the stored message."""
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)

    rows = await otp.send_simple(MOBILE, "later", line="public", backup_line="98", send_at=at)

    found = await runtime.store.get_messages(seeded.account_id, [rows[0].message_id])
    message = found[rows[0].message_id]
    assert (message.not_before, message.backup_sender) == (at, "10004321")


async def test_send_otp_returns_the_code(otp: AsyncClient, free_text: None) -> None:
    """SendOTP's answer carries the code, which VerifyQuickOTP then accepts."""
    sent = await otp.send_otp(MOBILE, "your code: %code%", code_length=5)
    verified = await otp.verify_quick_otp(MOBILE, sent.code)

    assert len(sent.code) == 5
    assert verified.message_id == sent.message_id


async def test_send_with_pattern_and_a_comma_in_a_value(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """The values fill the pattern in order, a comma inside one kept."""
    sent = await otp.send_with_pattern(MOBILE, order_pattern, [42, "Smith, Anna"])

    found = await runtime.store.get_messages(seeded.account_id, [sent.message_id])
    assert found[sent.message_id].text == "order 42 for Smith, Anna"


async def test_send_with_pattern_own_line(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """With a line, SendWithPatternOWN; a line not the account's raises LineNumberNotExist."""
    await runtime.admin.add_line(seeded.account_id, "3000123")

    sent = await otp.send_with_pattern(MOBILE, order_pattern, [1, "a"], line="3000123")
    with pytest.raises(quickotp_client.LineNumberNotExist):
        await otp.send_with_pattern(MOBILE, order_pattern, [1, "a"], line="3000999")

    found = await runtime.store.get_messages(seeded.account_id, [sent.message_id])
    assert found[sent.message_id].sender == "3000123"


async def test_an_unknown_pattern_raises(otp: AsyncClient) -> None:
    """PatternCodeID_Invalid comes back as PatternCodeIDInvalid."""
    with pytest.raises(quickotp_client.PatternCodeIDInvalid):
        await otp.send_with_pattern(MOBILE, 999, ["x"])


async def test_v1_send_message_text_and_pattern(
    otp: AsyncClient, order_pattern: int, free_text: None
) -> None:
    """/v1's send: free text, or a pattern with values; each an accepted message."""
    text = await otp.send_message(MOBILE, text="hello")
    pattern = await otp.send_message(MOBILE, pattern_id=order_pattern, values=[7, "Anna"])

    assert (text.to, text.verification_id, text.sandbox) == ("+989121112233", None, False)
    assert pattern.id > text.id


async def test_v1_send_message_is_sent_once_per_key(
    otp: AsyncClient, runtime: Runtime, seeded: Seeded, free_text: None
) -> None:
    """The same Idempotency-Key twice: one message, the same answer."""
    first = await otp.send_message(MOBILE, text="hi", idempotency_key="order-7")
    again = await otp.send_message(MOBILE, text="hi", idempotency_key="order-7")

    assert again == first
    assert len(await runtime.store.list_messages(seeded.account_id, 10)) == 1


async def test_v1_problems_are_typed(otp: AsyncClient) -> None:
    """Free text without the permission is FreeTextNotAllowedProblem, an AccountError."""
    with pytest.raises(quickotp_client.FreeTextNotAllowedProblem) as raised:
        await otp.send_message(MOBILE, text="hello")

    assert isinstance(raised.value, quickotp_client.AccountError)


# the blocking Client, against a served gateway ---------------------------------------------


def _allow_free_text(served: Served) -> None:
    """The operator's CLI grants free text; the server sees it once its token cache turns."""
    done = served.gateway.cli("accounts", "set", "1", "--free-text", "on")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_sync_send_simple_and_send_otp(sync_otp: Client, served: Served) -> None:
    """SendSimple and SendOTP through the blocking Client and a real server."""
    _allow_free_text(served)
    deadline = time.monotonic() + 10
    while True:
        try:
            rows = sync_otp.send_simple(["09121110101", "09121110102"], "hello")
            break
        except quickotp_client.FreeTextNotAllowed:
            assert time.monotonic() < deadline
            time.sleep(0.2)

    sent = sync_otp.send_otp("09121110103", "code: %code%", code_length=4)

    assert [r.status for r in rows] == ["Success", "Success"]
    assert sync_otp.verify_quick_otp("09121110103", sent.code).message_id == sent.message_id


@pytest.mark.slow
def test_sync_send_with_pattern_and_v1_message(sync_otp: Client) -> None:
    """An OTP pattern by id (its value the code), then the same through /v1, blocking."""
    pattern = next(p for p in sync_otp.pattern_list() if p.is_otp)

    sent = sync_otp.send_with_pattern("09121110104", pattern.id, ["2468"])
    accepted = sync_otp.send_message("09121110105", pattern_id=pattern.id, values=["1357"])

    assert sync_otp.verify_quick_otp("09121110104", "2468").message_id == sent.message_id
    assert accepted.verification_id is not None
