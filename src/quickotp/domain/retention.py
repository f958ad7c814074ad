"""
Retention: which messages a prune may remove, from when, and what it counts.

Pure: the caller passes the time and the zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

from quickotp.domain.errors import InvalidInput, Subject
from quickotp.domain.models import MessageStatus, VerificationStatus, WebhookState

# A message still on its way is never removed: the dispatcher holds or will claim it.
UNFINISHED = (MessageStatus.QUEUED, MessageStatus.SENDING)
# An outbox row nothing posts again: taken by its URL, or given up on.
FINISHED_POSTS = (WebhookState.DELIVERED, WebhookState.FAILED)


class Outbox(StrEnum):
    """
    An outbox of POSTs that belongs to no message, pruned on its own: its finished rows
    older than the window go. The value is its table; `record` the key of its archive lines.
    """

    EVENTS = "event_deliveries"  # webhook events owed to accounts' URLs (the low-credit alert)
    NOTICES = "route_alarm_notices"  # route alarms' notices owed to the operator's alarm URL

    @property
    def record(self) -> str:
        return {Outbox.EVENTS: "event_delivery", Outbox.NOTICES: "route_alarm_notice"}[self]


MAX_AGE_DAYS = 36_500
_AGE = re.compile(r"([0-9]{1,5})d")
# A code left in the text of a message that never reached an upstream (kept by releases
# that did not mask it when giving up): masked in archives as any run of code-length digits.
_CODE_RUN = re.compile(r"(?<![0-9])[0-9]{4,8}(?![0-9])")


@dataclass(frozen=True)
class PruneCounts:
    """Rows a prune removed (or, with --dry-run, would remove)."""

    messages: int = 0
    verifications: int = 0
    webhook_deliveries: int = 0
    orphan_reports: int = 0
    event_deliveries: int = 0
    route_alarm_notices: int = 0

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(
            self.messages + other.messages,
            self.verifications + other.verifications,
            self.webhook_deliveries + other.webhook_deliveries,
            self.orphan_reports + other.orphan_reports,
            self.event_deliveries + other.event_deliveries,
            self.route_alarm_notices + other.route_alarm_notices,
        )

    @classmethod
    def of(cls, outbox: Outbox, removed: int) -> PruneCounts:
        """`removed` rows of `outbox`, counted where they belong."""
        return cls(**{outbox.value: removed})


def age(text: str) -> timedelta:
    """An age as `--older-than` takes it: whole days, as in `30d`; InvalidInput otherwise."""
    found = _AGE.fullmatch(text.strip())
    if found is None:
        raise InvalidInput(
            f"an age is whole days, as in 30d, not {text[:20]!r}", subject=Subject.AGE
        )
    days = int(found.group(1))
    if not 1 <= days <= MAX_AGE_DAYS:
        raise InvalidInput(f"an age is from 1d to {MAX_AGE_DAYS}d", subject=Subject.AGE)
    return timedelta(days=days)


def day_start(moment: datetime, zone: tzinfo) -> datetime:
    """The start (in UTC) of the day of `zone` that holds `moment`."""
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(), zone).astimezone(UTC)


def cutoff(now: datetime, older_than: timedelta, zone: tzinfo) -> datetime:
    """
    Messages begun before this are old enough to go: the start of the day (in `zone`) that
    holds `now - older_than`. Whole days go together, so a day's counts move to the daily
    rollup at once and a window that starts on a day boundary reads the same before and after.
    """
    return day_start(now - older_than, zone)


def prunable(
    status: str,
    created_at: datetime,
    verification_status: str | None,
    verification_expires_at: datetime | None,
    *,
    before: datetime,
    now: datetime,
) -> bool:
    """
    Whether a message may go: begun before `before`, finished, and not holding a
    verification that can still be checked (pending and unexpired).
    """
    if created_at >= before or status in UNFINISHED:
        return False
    return not (
        verification_status == VerificationStatus.PENDING
        and verification_expires_at is not None
        and verification_expires_at > now
    )


def archived_text(text: str, status: str) -> str:
    """
    A message's text as an archive keeps it. A message an upstream took has its code masked
    already; one that never left may still hold its code, so its digit runs are masked.
    """
    if status in (MessageStatus.FAILED, MessageStatus.EXPIRED):
        return _CODE_RUN.sub(lambda m: "*" * len(m.group()), text)
    return text
