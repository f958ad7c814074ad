"""
This process's dispatcher and admission control, as the accept of a message sees them,
and the queue figures admission control reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from quickotp.domain.queue import Head, RouteQueue
from quickotp.domain.routing import Route

if TYPE_CHECKING:
    from quickotp.domain.models import (
        Claimed,
    )


class Outbox(Protocol):
    """
    This process's dispatcher, as the gateway sees it. A message stored under a lease
    from `reserve` is handed over in memory once committed (`hand`), or its slot given
    back (`unreserve`); one stored queued is claimed after `wake`.
    """

    def reserve(self) -> datetime | None: ...

    def hand(self, claimed: Claimed) -> None: ...

    def unreserve(self) -> None: ...

    def wake(self) -> None: ...


class NoOutbox:
    """No dispatcher in this process: every message is stored queued, for another to claim."""

    def reserve(self) -> datetime | None:
        return None

    def hand(self, claimed: Claimed) -> None:
        raise RuntimeError("nothing was reserved")

    def unreserve(self) -> None:
        raise RuntimeError("nothing was reserved")

    def wake(self) -> None:
        pass


class AdmissionControl(Protocol):
    """
    Whether a route can take one more message in time, from figures kept fresh in the
    background. `check` does no I/O; it raises RouteOverloaded to refuse the send.
    """

    def check(self, account_id: int, mobile: str, validity_seconds: int) -> None: ...


class QueueFigures(Protocol):
    """
    The outbox's queue figures (services/admission.py reads them in the background, never per
    request): how late the head of the queue is, and per route, its backlog and arrivals.
    """

    async def head(self, now: datetime) -> Head: ...

    async def routes(
        self, routes: Sequence[Route], now: datetime, *, after_id: int
    ) -> tuple[dict[str | None, RouteQueue], int]: ...
