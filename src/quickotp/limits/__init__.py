"""
Counting for the fraud guard and the idempotency window: the Limiter port, the rules it
applies and what it answers. Implementations: `memory.py` (one process, the embedded
default) and `redis.py` (many processes, one Lua script per request).

Time is the caller's (`now`, seconds since the epoch), so both backends agree with a
frozen clock in tests; real expiry only collects garbage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HOUR = 3600


@dataclass(frozen=True)
class Cooldown:
    """After a hit, refuse further hits on `key` for `seconds`."""

    key: str
    seconds: float


@dataclass(frozen=True)
class Window:
    """At most `limit` hits on `key` in each fixed window of `seconds` (aligned to the epoch)."""

    key: str
    limit: int
    seconds: int


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `burst` tokens at most, refilled at `rate` per second; a hit takes one."""

    key: str
    rate: float
    burst: int


@dataclass(frozen=True)
class Spike:
    """
    Hits on `key` this hour against their hourly average over the `history` hours before:
    over max(`minimum`, `factor` x average) the hit is refused when `block`, else admitted
    and reported as an alarm.
    """

    key: str
    minimum: int
    factor: float
    history: int = 24
    block: bool = True


Rule = Cooldown | Window | Bucket | Spike


@dataclass(frozen=True)
class Claim:
    """
    An idempotency marker to set with the hits: `key` names the request, `fingerprint` its
    content, `ref` what the first answer can be found by, `seconds` how long it holds.
    """

    key: str
    fingerprint: str
    ref: str
    seconds: float


@dataclass(frozen=True)
class Admitted:
    """Every rule passed and every hit was counted (and the claim, if any, set)."""

    alarms: tuple[int, ...] = ()  # indexes of non-blocking Spike rules over their threshold


@dataclass(frozen=True)
class Refused:
    """Rule number `rule` refused; nothing was counted."""

    rule: int
    retry_after: float  # seconds until that rule would pass


@dataclass(frozen=True)
class Repeated:
    """The claim's key is held already: `same` says whether by the same content."""

    same: bool
    ref: str


Admission = Admitted | Refused | Repeated


class Limiter(Protocol):
    """
    Atomic check-and-count over a set of rules, for every process that shares the backend.

    `admit` is all or nothing: a held claim answers Repeated and counts nothing; a refusing
    rule answers Refused and counts nothing; otherwise every rule counts one hit and the
    claim is set. Concurrent calls never both pass where one alone would have.
    Raises LimitsUnavailable when the backend cannot be reached; anything else is a bug.
    """

    async def admit(
        self, rules: Sequence[Rule], now: float, claim: Claim | None = None
    ) -> Admission: ...

    async def release(self, key: str) -> None:
        """Drop a claim (its request failed, so a retry may run afresh)."""
        ...

    async def ready(self) -> bool:
        """Whether the backend answers now (for /readyz); never raises."""
        ...

    async def aclose(self) -> None: ...
