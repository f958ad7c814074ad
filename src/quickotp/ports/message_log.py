"""The message log as the panel reads it: pages by keyset, and capped counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quickotp.domain.models import MessagePage, MessageQuery


class MessageSearch(Protocol):
    """
    Reads of the message log. `account_id` scopes a read to one account (another account's
    messages are simply absent); None reads every account's, for operators.
    """

    async def page(self, account_id: int | None, query: MessageQuery) -> MessagePage:
        """One page, newest first by (created_at, id), after `query.before`; codes masked."""
        ...

    async def count(self, account_id: int | None, query: MessageQuery, *, cap: int) -> int:
        """How many match, `query.before` aside, counted no further than `cap` + 1."""
        ...
