"""
The counters behind the fraud guard and the idempotency window. Implementations:
`adapters/limits/memory.py` (one process, the embedded default) and
`adapters/limits/redis.py` (many processes, one Lua script per request, the scripts of
concurrent requests sent together).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quickotp.domain.limits import Admission, Claim, Rule


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
