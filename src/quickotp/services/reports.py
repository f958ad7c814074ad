"""
What an account reads back about its own sending: Statistics (messages, parts and cost by
delivery state, per Tehran day) and its sent messages, one (GetMessage) or a window of them
a page at a time (GetMessages). Codes are masked in every text returned.

Parameters arrive as the caller wrote them (see domain/datetimes.py for the dates); each
bad one raises its own error. I/O only through the ReportStore port (ports/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from quickotp.domain.datetimes import Moment, read_moment
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    DatesReversed,
    DateTimesReversed,
    InvalidCount,
    InvalidFromDate,
    InvalidFromDateTime,
    InvalidFromRow,
    InvalidMessageId,
    InvalidToDate,
    InvalidToDateTime,
)
from quickotp.domain.models import DayCount, Message
from quickotp.ports.store import ReportStore

# Statistics reads every message of its window, so the window is bounded: ToDate at most
# this many days after FromDate (a month back to today, as Amoot's own samples ask, is 31 at
# most), 32 Tehran days of messages at most.
MAX_STATISTICS_DAYS = 31
# GetMessages answers a page of at most this many messages (Amoot names its page
# parameters FromRow and Count elsewhere; its GetMessages has none).
MAX_PAGE = 1000
# A page starts at most this far into a window (the rows before it are skipped one by one):
# further than that, a client narrows the window (FromDateTime) instead.
MAX_FROM_ROW = 100_000
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Window:
    """[start, end): a stretch of time, both ends aware."""

    start: datetime
    end: datetime


class Reports:
    """Statistics, GetMessage and GetMessages for the caller's account."""

    def __init__(self, store: ReportStore) -> None:
        self.store = store

    async def statistics(self, account_id: int, from_date: str, to_date: str) -> list[DayCount]:
        """Per Tehran day from FromDate's day to ToDate's day, both whole (times ignored)."""
        window = statistics_window(from_date, to_date)
        offset = window.start.utcoffset() or timedelta()
        return await self.store.day_counts(account_id, window.start, window.end, offset)

    async def message(self, account_id: int, message_id: str) -> Message:
        """One of the caller's messages; another account's is as unknown as a missing one."""
        text = ascii_digits(message_id).strip()
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 19
            or not 0 < int(text) <= _MAX_ID
        ):
            raise InvalidMessageId("MessageID must be one positive whole number")
        found = await self.store.sent_message(account_id, int(text))
        if found is None:
            raise InvalidMessageId(f"no message {text} for this account")
        return found

    async def messages(
        self,
        account_id: int,
        from_date_time: str,
        to_date_time: str,
        from_row: str = "",
        count: str = "",
    ) -> list[Message]:
        """
        The caller's messages begun in the window, oldest first: `count` of them (MAX_PAGE
        when empty) after skipping `from_row` (0 when empty).
        """
        window = messages_window(from_date_time, to_date_time)
        skip = _whole(from_row, 0, 0, MAX_FROM_ROW, InvalidFromRow, "FromRow")
        limit = _whole(count, MAX_PAGE, 1, MAX_PAGE, InvalidCount, "Count")
        return await self.store.sent_messages(account_id, window.start, window.end, skip, limit)


def statistics_window(from_date: str, to_date: str) -> Window:
    first = _moment(from_date, InvalidFromDate, "FromDate")
    last = _moment(to_date, InvalidToDate, "ToDate")
    start, last_day = first.day(), last.day()
    if start > last_day:
        raise DatesReversed("FromDate is after ToDate")
    if (last_day.date() - start.date()).days > MAX_STATISTICS_DAYS:
        raise InvalidToDate(f"ToDate is more than {MAX_STATISTICS_DAYS} days after FromDate")
    return Window(start, _next_day(last_day))


def messages_window(from_date_time: str, to_date_time: str) -> Window:
    """From FromDateTime to ToDateTime, both included; a date alone is its whole day."""
    first = _moment(from_date_time, InvalidFromDateTime, "FromDateTime")
    last = _moment(to_date_time, InvalidToDateTime, "ToDateTime")
    end = last.at + timedelta(microseconds=1) if last.has_time else _next_day(last.day())
    if first.at >= end:
        raise DateTimesReversed("FromDateTime is after ToDateTime")
    return Window(first.at, end)


def _moment(raw: str, error: type[Exception], name: str) -> Moment:
    """The moment the parameter `name` gives; `error` when it names none."""
    found = read_moment(raw)
    if found is None:
        raise error(f"{name} is no date")
    return found


def _next_day(day: datetime) -> datetime:
    """The start of the Tehran day after `day` (a day start), by the calendar."""
    following = day.date() + timedelta(days=1)
    return day.replace(year=following.year, month=following.month, day=following.day)


def _whole(raw: str, default: int, low: int, high: int, error: type[Exception], name: str) -> int:
    text = ascii_digits(raw).strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise error(f"{name} must be a whole number from {low} to {high}")
    return int(text)
