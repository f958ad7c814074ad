"""
The gateway's settings and keys, as the composition root hands them to its use cases
(services/gateway.py and the modules it is made of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from quickotp.domain import keys
from quickotp.domain.lines import SharedLines


@dataclass(frozen=True)
class GatewayConfig:
    otp_ttl: timedelta = timedelta(minutes=2)
    verify_attempts: int = 5
    price_per_part: int = 1000
    regions: tuple[str, ...] = ("IR",)
    token_cache: timedelta = timedelta(seconds=2)
    # How long a message without a code may wait for an upstream before it is given up.
    message_ttl: timedelta = timedelta(hours=24)
    shared_lines: SharedLines = field(default_factory=SharedLines)  # QUICKOTP_SHARED_LINES
    max_pending_patterns: int = 20  # an account's patterns awaiting approval at once
    patterns_per_hour: int = 20  # patterns an account may submit in an hour


@dataclass(frozen=True)
class Keys:
    """The per-purpose keys, derived from the server secret."""

    token: bytes
    code: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> Keys:
        return cls(token=keys.derive(secret, "token"), code=keys.derive(secret, "code"))
