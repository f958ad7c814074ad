"""A code never stays in a message's stored text once the message is final, sent or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.models import GiveUp, MessageStatus, NewMessage
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [MessageStatus.FAILED, MessageStatus.EXPIRED])
async def test_a_message_given_up_on_keeps_no_code_in_its_text(
    runtime: Runtime, seeded: Seeded, status: MessageStatus
) -> None:
    """Failing or expiring before any upstream took it masks the code, as a submit does."""
    item = NewMessage(
        account_id=seeded.account_id,
        token_id=None,
        pattern_id=seeded.pattern_id,
        mobile="989120000000",
        sender="10004321",
        text="code 482193",
        code="482193",
        encoding="gsm7",
        parts=1,
        cost=1000,
        expires_at=NOW + timedelta(minutes=2),
        created_at=NOW,
        verification_id="v" * 32,
        code_digest=b"d" * 32,
        attempts_left=5,
    )
    [message_id] = await runtime.store.accept([item], NOW)
    assert message_id is not None

    await runtime.store.record([GiveUp(message_id, status, "no route took it")], now=NOW)

    [message] = await runtime.store.list_messages(seeded.account_id, 1)
    assert (message.status, message.text) == (status, "code ******")
