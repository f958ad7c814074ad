"""
The outbox's queue figures, as admission control reads them: how late the head of the queue
is, and per route, its backlog and its arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Head:
    """The whole outbox at a glance: the oldest due message's due time, and the newest id."""

    due_since: datetime | None  # None: nothing queued is due
    last_id: int


@dataclass(frozen=True)
class RouteQueue:
    """One route's share of the outbox."""

    backlog: int  # queued (due or waiting for a retry) or being sent
    due: int  # queued and due: what a message accepted now waits behind
    due_since: datetime | None  # the oldest due message's due time
    arrived: int  # accepted with an id above the one given (test numbers aside)
