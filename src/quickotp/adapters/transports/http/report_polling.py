"""
Delivery reports that must be asked for. Amoot and Kavenegar push reports only to URLs
registered in their own panels, so an HTTP upstream's transport asks them instead: every
`reports` seconds (a route URL key: 30 by default, 0 turns it off) one request with up to
`ASK_AT_ONCE` of the message ids it still waits on, oldest first. A final state is handed
on as a DeliveryReport and its id asked for no more; an id the provider says it does not
know is dropped, logged; the rest are asked for again next round.

The ids wait in this process's memory: a restart forgets them (those messages stay `sent`),
as does a day without a final answer, and past `max_waiting` (`MAX_WAITING` unless the
transport is given another) the oldest are dropped.

The poller keeps no time of its own: the transport hands it the clock (what a report's
time and an id's age are read from) and the sleep between rounds, both from whoever built
the transport, so a test runs each round when it says.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from quickotp.domain.delivery import DeliveryReport, DeliveryState, ReportSink
from quickotp.domain.errors import ConfigurationError, DeliveryError
from quickotp.support.background import stop

log = logging.getLogger(__name__)

ASK_AT_ONCE = 100  # message ids in one request
FORGET_AFTER = timedelta(days=1)  # without a final answer
MAX_WAITING = 100_000
DEFAULT_EVERY = 30.0
MAX_EVERY = 3600.0

# What one round learnt: each id with its final state, or None for an id the provider does
# not know. Ids it leaves out, or answers with an intermediate state, are not listed.
Ask = Callable[[list[str]], Awaitable[list[tuple[str, DeliveryState | None]]]]
Sleep = Callable[[float], Awaitable[None]]  # asyncio.sleep, or a test's


def reports_every(options: Mapping[str, str], kind: str) -> float:
    """The `reports` key of a route URL: seconds between rounds, 0 for none."""
    try:
        every = float(options.get("reports", str(DEFAULT_EVERY)))
    except ValueError:
        raise ConfigurationError(f"{kind}:// URL parameter reports is not a number") from None
    if not (every == 0 or 1 <= every <= MAX_EVERY):
        raise ConfigurationError(
            f"{kind}:// URL parameter reports must be 0 (off) or 1-{MAX_EVERY:g} seconds"
        )
    return every


def final_states(
    entries: Any, id_key: str, state_key: str, final: Mapping[int, DeliveryState | None]
) -> list[tuple[str, DeliveryState | None]]:
    """
    From a provider's list of entries (anything else: none), each one whose `id_key` is a
    number or a string and whose `state_key` is a code in `final`, as (id, state).
    """
    return [
        (str(entry[id_key]), final[entry[state_key]])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
        and isinstance(entry.get(id_key), int | str)
        # An int, exactly: JSON true would equal 1, a list would not hash.
        and type(entry.get(state_key)) is int
        and entry[state_key] in final
    ]


class ReportPoller:
    """Asks `ask` every `every` seconds about the ids `track` was given, until final."""

    def __init__(
        self,
        name: str,
        every: float,
        ask: Ask,
        clock: Callable[[], datetime],
        sleep: Sleep = asyncio.sleep,
        *,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._name = name
        self._every = every
        self._ask = ask
        self._clock = clock
        self._sleep = sleep
        self._max_waiting = max_waiting
        self._waiting: dict[str, datetime] = {}  # provider id -> when sent, oldest first
        self._task: asyncio.Task[None] | None = None

    def start(self, reports: ReportSink) -> None:
        if self._every and self._task is None:
            self._task = asyncio.create_task(self._run(reports), name=f"{self._name}-reports")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    def track(self, message_id: str) -> None:
        """Ask about `message_id` from the next round on (nothing while not started)."""
        if self._task is None:
            return
        self._waiting[message_id] = self._clock()
        if len(self._waiting) > self._max_waiting:
            del self._waiting[next(iter(self._waiting))]

    async def _run(self, reports: ReportSink) -> None:
        while True:
            await self._sleep(self._every)
            self._forget_old()
            asking = list(itertools.islice(self._waiting, ASK_AT_ONCE))
            if not asking:
                continue
            try:
                for message_id, state in await self._ask(asking):
                    if message_id not in self._waiting:
                        continue
                    if state is None:
                        log.warning(
                            "%s: the provider does not know message %s", self._name, message_id
                        )
                    else:
                        await reports(DeliveryReport(self._name, message_id, state, self._clock()))
                    self._waiting.pop(message_id, None)  # once recorded: else asked again
            except DeliveryError as error:
                log.warning("%s: asking for delivery reports failed: %s", self._name, error)
            except Exception:  # the loop must live on: the next round asks again
                log.exception("%s: handling delivery reports failed", self._name)

    def _forget_old(self) -> None:
        forget_before = self._clock() - FORGET_AFTER
        while self._waiting:  # oldest first: stop at the first one still young enough
            oldest, sent = next(iter(self._waiting.items()))
            if sent >= forget_before:
                return
            del self._waiting[oldest]
