"""
The message log: an account user's (their account's messages) and the operator's search
over every account. Both read a page at a time by keyset, count no further than COUNT_CAP,
and (the account's) export every match as pages for a streamed CSV.

What a person types becomes a MessageQuery here: a number in any written form, `#123` for
a message id, a state, a token, a verification outcome and days of the display zone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from quickotp.domain import phone
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import GatewayError, InvalidInput, NotAllowed, Subject
from quickotp.domain.models import (
    Actor,
    LogCursor,
    MessagePage,
    MessageQuery,
    MessageStatus,
    Role,
    User,
    VerificationStatus,
)
from quickotp.ports.message_log import MessageSearch
from quickotp.ports.store import AccountStore
from quickotp.services.workspace import account_of

PAGE_SIZE = 50
EXPORT_PAGE = 500  # messages an export reads at a time: what it holds in memory
COUNT_CAP = 10_000  # a count stops here: past it, a page says "more than 10,000"
_NUMBER_PART = re.compile(r"\+?[0-9 ()-]+")  # a number as people write one, or a part
MIN_NUMBER_PART = 3  # digits (after a leading 0) a search needs before it looks inside numbers
_CURSOR = re.compile(r"([0-9]{1,17})-([0-9]{1,18})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LogPage:
    """
    A page of the log and how many match in all: exact up to COUNT_CAP, else more; None
    when the search is not counted (a verification outcome: no index holds it, and a count
    would read every message of the account).
    """

    page: MessagePage
    count: int | None
    accounts: dict[int, str] = field(default_factory=dict)  # the page's accounts' names

    @property
    def more_than_cap(self) -> bool:
        return self.count is not None and self.count > COUNT_CAP


@dataclass(frozen=True)
class Filters:
    """The log's filters as typed into its form (dates already read as days)."""

    search: str = ""
    status: str = ""
    token_id: int | None = None
    outcome: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    before: str = ""  # a cursor as `cursor_text` writes it


@dataclass
class MessageLog:
    store: MessageSearch
    accounts: AccountStore  # names for the operator's pages
    regions: Collection[str]  # the gateway's countries: how a typed number is read
    clock: Callable[[], datetime]
    zone: tzinfo  # the zone days are read in

    # an account user's log --------------------------------------------------------------

    def account_query(self, filters: Filters, *, limit: int = PAGE_SIZE) -> MessageQuery:
        """InvalidInput for a search that is neither a number, a part of one, nor an id."""
        return self._query(filters, limit=limit)

    async def account_page(self, user: User, query: MessageQuery) -> LogPage:
        account_id = account_of(user)
        page = await self.store.page(account_id, query)
        return LogPage(page, await self._count(account_id, query))

    async def export(self, user: User, query: MessageQuery) -> AsyncIterator[MessagePage]:
        """Every message matching `query`, a page of EXPORT_PAGE at a time, newest first."""
        account_id = account_of(user)
        query = replace(query, limit=EXPORT_PAGE, before=None)
        while True:
            page = await self.store.page(account_id, query)
            yield page
            if page.older is None:
                return
            query = replace(query, before=page.older)

    # the operator's search --------------------------------------------------------------

    def operator_query(self, filters: Filters) -> MessageQuery:
        """As an account's log reads it: InvalidInput for neither a number, a part, nor #id."""
        return self._query(filters, limit=PAGE_SIZE)

    async def operator_page(self, actor: Actor, query: MessageQuery) -> LogPage:
        if actor.user.role is not Role.OPERATOR:
            raise NotAllowed(f"user {actor.user.id} is not an operator")
        page = await self.store.page(None, query)
        names = {
            account_id: (await self.accounts.get_account(account_id)).name
            for account_id in sorted({message.account_id for message in page.items})
        }
        return LogPage(page, await self._count(None, query), names)

    async def _count(self, account_id: int | None, query: MessageQuery) -> int | None:
        if query.verification is not None:
            return None
        return await self.store.count(account_id, query, cap=COUNT_CAP)

    # reading the form -------------------------------------------------------------------

    def _query(self, filters: Filters, *, limit: int) -> MessageQuery:
        mobile, digits, message_id = search_terms(filters.search, regions=self.regions)
        if filters.since and filters.until and filters.until < filters.since:
            raise InvalidInput("the last day is before the first", subject=Subject.DATES_REVERSED)
        return MessageQuery(
            mobile=mobile,
            mobile_digits=digits,
            message_id=message_id,
            status=MessageStatus(filters.status) if filters.status in set(MessageStatus) else None,
            token_id=filters.token_id,
            verification=(
                VerificationStatus(filters.outcome)
                if filters.outcome in set(VerificationStatus)
                else None
            ),
            since=datetime.combine(filters.since, time(), self.zone) if filters.since else None,
            until=(
                datetime.combine(filters.until + timedelta(days=1), time(), self.zone)
                if filters.until
                else None
            ),
            before=read_cursor(filters.before),
            limit=limit,
        )


def search_terms(text: str, *, regions: Collection[str]) -> tuple[str, str, int | None]:
    """
    (a whole number's E.164 digits, digits to find inside numbers, a message id) from a
    search box. A message id is asked for explicitly, `#123`; digits alone are always a
    number: a whole one in any written form (0912…, +98 912…, 912…, Persian digits) is that
    number, fewer digits a part of one, its leading 0 (or 0098, +98) the national prefix
    (`0912` finds 0912… numbers, stored as 98912…). A part needs MIN_NUMBER_PART digits.
    """
    text = ascii_digits(text).strip()
    if not text:
        return "", "", None
    if text.startswith("#"):
        found = text[1:].strip()
        if not (found.isascii() and found.isdigit()) or len(found) > 18:
            raise InvalidInput(f"{text!r} is not a message id (#123)", subject=Subject.MESSAGE_ID)
        return "", "", int(found)
    try:
        return phone.normalise(text, regions=regions).e164, "", None
    except GatewayError:
        pass
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits or not _NUMBER_PART.fullmatch(text):
        raise InvalidInput(
            f"{text!r} is neither a number, a part of one, nor a message id",
            subject=Subject.SEARCH,
        )
    if digits.startswith("0098"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    if len(digits) < MIN_NUMBER_PART:
        raise InvalidInput(
            f"{text!r} is too short a part of a number (#123 for a message id)",
            subject=Subject.SEARCH_SHORT,
            least=MIN_NUMBER_PART,
        )
    return "", digits, None


def cursor_text(cursor: LogCursor) -> str:
    """A cursor as a page's link carries it: microseconds since the epoch, a dash, the id."""
    micros = round(cursor.created_at.timestamp() * 1_000_000)
    return f"{micros}-{cursor.id}"


def read_cursor(text: str) -> LogCursor | None:
    """The cursor `cursor_text` wrote, or None (the first page) for anything else."""
    found = _CURSOR.fullmatch(text.strip())
    if found is None:
        return None
    micros, message_id = int(found.group(1)), int(found.group(2))
    return LogCursor(_EPOCH + timedelta(microseconds=micros), message_id)
