"""
The configured routes as the operator's use cases change them (services/desk.py), and the
check of a route's URL, which only the transports know how to read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from quickotp.domain.routing import Route

# A route URL's kind and the URL as it may be shown (credential blanked); InvalidInput
# says what is wrong with it, never echoing the credential.
RouteUrlCheck = Callable[[str], tuple[str, str]]


class RouteStore(Protocol):
    """The routes table; Conflict for a name taken, NotFound for a name unknown."""

    async def add(self, route: Route, now: datetime) -> Route: ...

    async def remove(self, name: str) -> None: ...
