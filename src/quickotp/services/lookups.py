"""
Amoot's reads of the caller's own: its account (AccountStatus) and the delivery of its
messages by id (GetDelivery, GetDeliveries). Another account's message is as unknown as a
missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidMessageId
from quickotp.domain.models import Account, Caller, Message

MAX_DELIVERY_IDS = 100  # ids in one GetDeliveries


class LookupStore(Protocol):
    async def get_account(self, account_id: int) -> Account: ...

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]: ...


class Lookups:
    """The caller's account and messages, read from `store`."""

    def __init__(self, store: LookupStore) -> None:
        self.store = store

    async def account_status(self, caller: Caller) -> Account:
        return await self.store.get_account(caller.account.id)

    async def get_delivery(self, caller: Caller, message_id: str | int | None) -> Message:
        ids = _message_ids(str(message_id if message_id is not None else ""))
        if len(ids) != 1:
            raise InvalidMessageId("a message id is one positive whole number")
        found = await self.store.get_messages(caller.account.id, ids)
        if ids[0] not in found:
            raise InvalidMessageId(f"no message {ids[0]} for this account")
        return found[ids[0]]

    async def get_deliveries(self, caller: Caller, message_ids: str | None) -> list[Message]:
        """The caller's messages among the comma-separated ids, in the order asked."""
        ids = _message_ids(message_ids or "")
        if not ids or len(ids) > MAX_DELIVERY_IDS:
            raise InvalidMessageId(f"1 to {MAX_DELIVERY_IDS} message ids, comma-separated")
        found = await self.store.get_messages(caller.account.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise InvalidMessageId(f"no message {missing[0]} for this account")
        return [found[i] for i in ids]


def _message_ids(raw: str) -> list[int]:
    """Message ids from "1,2, 3" (Persian digits allowed); InvalidMessageId for anything else."""
    ids = []
    for part in ascii_digits(raw).split(","):
        text = part.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
            raise InvalidMessageId("a message id must be a positive whole number")
        ids.append(int(text))
    return ids
