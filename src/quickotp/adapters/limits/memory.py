"""
The in-process Limiter: the embedded default, for a gateway that runs as one process.

Atomic because `admit` never awaits between reading and writing. Bounded: at most
`max_keys` entries, the least recently used dropped first (an evicted counter starts
again from zero, which loosens a limit but never wrongly refuses).

Entries are plain tuples of numbers and strings, which the garbage collector stops
tracking: with 200,000 of them as objects of a class, each full collection would walk them
all and pause the event loop for up to 170 ms under load (gc.callbacks shows the pauses).
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from quickotp.domain.limits import (
    HOUR,
    Admission,
    Admitted,
    Bucket,
    Claim,
    Cooldown,
    Refused,
    Repeated,
    Rule,
    Spike,
    Window,
)

log = logging.getLogger(__name__)


class MemoryLimiter:
    def __init__(self, *, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()  # (expires, value)
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def admit(
        self, rules: Sequence[Rule], now: float, claim: Claim | None = None
    ) -> Admission:
        if claim is not None:
            held = self._get(claim.key, now)
            if held is not None:
                fingerprint, ref = held
                return Repeated(fingerprint == claim.fingerprint, ref)
        alarms = []
        commits = []
        for index, rule in enumerate(rules):
            wait, commit = self._look(rule, now)
            if wait is not None:
                if not (isinstance(rule, Spike) and not rule.block):
                    return Refused(index, wait)
                alarms.append(index)
            commits.append(commit)
        for commit in commits:
            commit()
        if claim is not None:
            self._put(claim.key, (claim.fingerprint, claim.ref), now + claim.seconds)
        return Admitted(tuple(alarms))

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)

    async def ready(self) -> bool:
        return True  # it is this process

    async def aclose(self) -> None:
        self._entries.clear()

    # one rule -------------------------------------------------------------------------

    def _look(self, rule: Rule, now: float) -> tuple[float | None, Callable[[], None]]:
        """
        Whether `rule` admits one more hit (None) or the seconds until it would, and how to
        count that hit. Nothing awaits between the two, so the count is the one looked at.
        """
        match rule:
            case Cooldown():
                until = self._get(rule.key, now)
                wait = until - now if until is not None and until > now else None
                ends = now + rule.seconds
                return wait, lambda: self._put(rule.key, ends, ends)
            case Window():
                index = math.floor(now / rule.seconds)
                key, end = f"{rule.key}:{index}", (index + 1) * rule.seconds
                count = self._get(key, now) or 0
                wait = end - now if count >= rule.limit else None
                return wait, lambda: self._put(key, count + 1, end)
            case Bucket():
                tokens = _refill(self._get(rule.key, now), rule, now)
                wait = (1 - tokens) / rule.rate if tokens < 1 else None
                state = (tokens - 1, now)
                return wait, lambda: self._put(rule.key, state, now + rule.burst / rule.rate)
            case Spike():
                hour = math.floor(now / HOUR)
                hours: _Hours = self._get(rule.key, now) or _Hours(hour)
                hours.roll(hour, rule.history)
                threshold = max(float(rule.minimum), rule.factor * hours.before / rule.history)
                wait = (hour + 1) * HOUR - now if hours.current + 1 > threshold else None

                def count() -> None:
                    hours.current += 1
                    self._put(rule.key, hours, (hour + rule.history + 1) * HOUR)

                return wait, count

    # the bounded map ------------------------------------------------------------------

    def _get(self, key: str, now: float) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def _put(self, key: str, value: Any, expires: float) -> None:
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
            self.evicted += 1
            if self.evicted == 1 or self.evicted % 10_000 == 0:
                log.warning("in-process limits are full: %d key(s) evicted", self.evicted)


def _refill(state: tuple[float, float] | None, rule: Bucket, now: float) -> float:
    if state is None:
        return float(rule.burst)
    tokens, at = state
    return min(float(rule.burst), tokens + max(0.0, now - at) * rule.rate)


class _Hours:
    """One Spike key's hits: this hour's count, and the hours before (summed once an hour)."""

    __slots__ = ("before", "counts", "current", "hour")

    def __init__(self, hour: int) -> None:
        self.hour = hour
        self.current = 0
        self.counts: dict[int, int] = {}
        self.before = 0  # hits in the `history` hours before `hour`

    def roll(self, hour: int, history: int) -> None:
        if hour == self.hour:
            return
        if self.current:
            self.counts[self.hour] = self.current
        self.hour, self.current = hour, 0
        self.counts = {h: n for h, n in self.counts.items() if hour - history <= h < hour}
        self.before = sum(self.counts.values())
