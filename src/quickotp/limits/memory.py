"""
The in-process Limiter: the embedded default, for a gateway that runs as one process.

Atomic because `admit` never awaits between reading and writing. Bounded: at most
`max_keys` entries, the least recently used dropped first (an evicted counter starts
again from zero, which loosens a limit but never wrongly refuses).
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quickotp.limits import (
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


@dataclass
class _Entry:
    expires: float  # in the callers' time
    value: Any = field(default=None)


class MemoryLimiter:
    def __init__(self, *, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
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
        for index, rule in enumerate(rules):
            verdict = self._check(rule, now)
            if verdict is None:
                continue
            if isinstance(rule, Spike) and not rule.block:
                alarms.append(index)
                continue
            return Refused(index, verdict)
        for rule in rules:
            self._count(rule, now)
        if claim is not None:
            self._put(claim.key, (claim.fingerprint, claim.ref), now + claim.seconds)
        return Admitted(tuple(alarms))

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)

    async def aclose(self) -> None:
        self._entries.clear()

    # one rule -------------------------------------------------------------------------

    def _check(self, rule: Rule, now: float) -> float | None:
        """None when `rule` admits one more hit, else the seconds until it would."""
        match rule:
            case Cooldown():
                until = self._get(rule.key, now)
                return until - now if until is not None and until > now else None
            case Window():
                index = math.floor(now / rule.seconds)
                count = self._get(f"{rule.key}:{index}", now) or 0
                return (index + 1) * rule.seconds - now if count >= rule.limit else None
            case Bucket():
                tokens = _refill(self._get(rule.key, now), rule, now)
                return (1 - tokens) / rule.rate if tokens < 1 else None
            case Spike():
                hours: dict[int, int] = self._get(rule.key, now) or {}
                hour = math.floor(now / HOUR)
                if over_spike(hours, hour, rule):
                    return (hour + 1) * HOUR - now
                return None

    def _count(self, rule: Rule, now: float) -> None:
        match rule:
            case Cooldown():
                self._put(rule.key, now + rule.seconds, now + rule.seconds)
            case Window():
                index = math.floor(now / rule.seconds)
                key = f"{rule.key}:{index}"
                self._put(key, (self._get(key, now) or 0) + 1, (index + 1) * rule.seconds)
            case Bucket():
                tokens = _refill(self._get(rule.key, now), rule, now) - 1
                self._put(rule.key, (tokens, now), now + rule.burst / rule.rate)
            case Spike():
                hour = math.floor(now / HOUR)
                old: dict[int, int] = self._get(rule.key, now) or {}
                hours = {h: n for h, n in old.items() if h >= hour - rule.history}
                hours[hour] = hours.get(hour, 0) + 1
                self._put(rule.key, hours, (hour + rule.history + 1) * HOUR)

    # the bounded map ------------------------------------------------------------------

    def _get(self, key: str, now: float) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value

    def _put(self, key: str, value: Any, expires: float) -> None:
        self._entries[key] = _Entry(expires, value)
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


def over_spike(hours: dict[int, int], hour: int, rule: Spike) -> bool:
    """Whether one more hit this hour goes over the rule's threshold (pure; shared by tests)."""
    baseline = sum(hours.get(h, 0) for h in range(hour - rule.history, hour)) / rule.history
    threshold = max(float(rule.minimum), rule.factor * baseline)
    return hours.get(hour, 0) + 1 > threshold
