"""A gateway on a test runtime's store whose guard holds the test's policy and clock."""

from __future__ import annotations

import secrets
import uuid

from quickotp.bootstrap import Runtime
from quickotp.ports.limits import Limiter
from quickotp.services.gateway import Gateway
from quickotp.services.gateway_config import GatewayConfig
from quickotp.services.guard import Guard, Policy
from tests.adapters.limits.clock import FrozenClock


def guarded_gateway(
    runtime: Runtime,
    limiter: Limiter,
    policy: Policy,
    clock: FrozenClock,
    config: GatewayConfig | None = None,
) -> Gateway:
    """Started; its guard reads no cached policy. `config` is the runtime's unless given."""
    guard = Guard(runtime.store, limiter, policy, b"k" * 32, clock, cache_seconds=0)
    gateway = Gateway(
        store=runtime.store,
        keys=runtime.gateway.keys,
        clock=clock,
        randbelow=secrets.randbelow,
        new_id=lambda: uuid.uuid4().hex,
        config=config or runtime.gateway.config,
        guard=guard,
    )
    gateway.start()
    return gateway
