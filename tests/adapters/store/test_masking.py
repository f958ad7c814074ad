"""A code never stays in a message's stored text once the message is final, sent or not."""

from __future__ import annotations

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.models import GiveUp, MessageStatus
from tests.adapters.store.test_outbox import NOW, new_message
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("status", [MessageStatus.FAILED, MessageStatus.EXPIRED])
async def test_a_message_given_up_on_keeps_no_code_in_its_text(
    runtime: Runtime, seeded: Seeded, status: MessageStatus
) -> None:
    """Failing or expiring before any upstream took it masks the code, as a submit does."""
    item = new_message(seeded, code="482193")
    [message_id] = await runtime.store.accept([item], NOW)
    assert message_id is not None

    await runtime.store.record([GiveUp(message_id, status, "no route took it")], now=NOW)

    [message] = await runtime.store.list_messages(seeded.account_id, 1)
    assert (message.status, message.text) == (status, "code ******")
