"""
Routing, decided: which routes may carry a message and in which order, and each route's
circuit breaker. Pure: no I/O; the caller passes the time (monotonic seconds).

Order: routes that match the message (destination prefix, account, sender line) by
`priority`, lower first; among equals the more specific (an account's own route, then one
kept for the message's line, then the longest prefix) first, then by name. Routes whose
breaker is open are left out; routes whose transport says it is down (an SMPP route with
no bind up) go last, as a last resort.

A route with `lines` carries messages from those sender lines only (an SMPP bind of the
line's operator account, say); one without carries any line. Amoot and Kavenegar routes send
codes with a template of their own, so they carry only messages that carry a code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from quickotp.domain.errors import InvalidInput, Subject

ROUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_PREFIXES = 200
MAX_LINES = 50
DEFAULT_PRIORITY = 10
CODE_ONLY_KINDS = frozenset({"amoot", "kavenegar"})  # upstreams that render their own text
_LINE = re.compile(r"[!-~]{1,20}")


@dataclass(frozen=True)
class Route:
    """One configured route: an upstream (its URL) and the messages it may carry."""

    name: str
    kind: str  # smpp | amoot | kavenegar
    url: str = field(repr=False)  # holds the password or token
    shown: str  # the URL with its credential blanked, safe to print
    prefixes: tuple[str, ...] = ()  # destination prefixes (E.164 digits); () = any
    accounts: tuple[int, ...] = ()  # () = every account
    priority: int = DEFAULT_PRIORITY
    lines: tuple[str, ...] = ()  # sender lines it carries; () = any
    enabled: bool = True  # a disabled route stays stored but carries nothing

    def matches(
        self, mobile: str, account_id: int | None, sender: str | None = None, *, code: bool = True
    ) -> bool:
        """Whether it may carry the message (`sender` None: whatever the line)."""
        if self.accounts and account_id not in self.accounts:
            return False
        if self.lines and sender is not None and sender not in self.lines:
            return False
        if not code and self.kind in CODE_ONLY_KINDS:
            return False
        return not self.prefixes or any(mobile.startswith(p) for p in self.prefixes)

    def closest_prefix(self, mobile: str) -> str:
        """The longest of this route's prefixes that `mobile` starts with ("" for none)."""
        return max((p for p in self.prefixes if mobile.startswith(p)), key=len, default="")


def precedence(route: Route, prefix: str) -> tuple[int, int, int, int, str]:
    """
    The one order of routes, lower first: by `priority`, then an account's own route before a
    shared one, then a route kept for sender lines before one for any line, then the longer
    destination prefix, then by name. `prefix` is the one of the route's prefixes that
    matched ("" for a route that takes any number).
    """
    return (route.priority, -bool(route.accounts), -bool(route.lines), -len(prefix), route.name)


def checked_route(
    *,
    name: str,
    kind: str,
    url: str,
    shown: str,
    prefixes: Iterable[str] = (),
    accounts: Iterable[int] = (),
    priority: int = DEFAULT_PRIORITY,
    lines: Iterable[str] = (),
    enabled: bool = True,
) -> Route:
    """A Route from an operator's input; InvalidInput names the first thing wrong."""
    name = name.strip()
    if not ROUTE_NAME.fullmatch(name):
        raise InvalidInput(
            "a route name is 1-40 letters, digits, '.', '_' or '-', starting with one of the first",
            subject=Subject.ROUTE_NAME,
        )
    cleaned = []
    for prefix in prefixes:
        digits = prefix.strip().removeprefix("+")
        if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
            raise InvalidInput(
                f"a prefix is 1-15 digits of an E.164 number, not {prefix!r}",
                subject=Subject.ROUTE_PREFIX,
            )
        cleaned.append(digits)
    if len(cleaned) > MAX_PREFIXES:
        raise InvalidInput(
            f"at most {MAX_PREFIXES} prefixes a route",
            subject=Subject.ROUTE_PREFIXES,
            most=MAX_PREFIXES,
        )
    ids = sorted(set(accounts))
    if any(i < 1 for i in ids):
        raise InvalidInput("an account id is a positive number", subject=Subject.ROUTE_ACCOUNT)
    if not -1_000_000 <= priority <= 1_000_000:
        raise InvalidInput(
            "a priority is a whole number within ±1,000,000", subject=Subject.ROUTE_PRIORITY
        )
    kept = sorted({line.strip() for line in lines})
    if len(kept) > MAX_LINES or not all(_LINE.fullmatch(line) for line in kept):
        raise InvalidInput(
            f"a route has at most {MAX_LINES} lines of 1-20 printable characters",
            subject=Subject.ROUTE_LINES,
            most=MAX_LINES,
        )
    return Route(
        name=name,
        kind=kind,
        url=url,
        shown=shown,
        prefixes=tuple(sorted(set(cleaned))),
        accounts=tuple(ids),
        priority=priority,
        lines=tuple(kept),
        enabled=enabled,
    )


# the circuit breaker ------------------------------------------------------------------------


class BreakerState(StrEnum):
    CLOSED = "closed"  # in use
    OPEN = "open"  # cooling down: not tried
    HALF_OPEN = "half-open"  # cooled down: one probe at a time decides


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int = 5  # consecutive transient failures that open the breaker
    cool_down: float = 30.0  # seconds open before a probe; doubles each time a probe fails
    max_cool_down: float = 300.0


@dataclass
class Breaker:
    """
    A route's circuit breaker. Closed: every send may use the route. `policy.failures`
    transient failures in a row open it. Open: nothing is sent until the cool-down is over;
    then it is half-open and lets one probe through: a success closes it, a failure opens it
    again for twice as long (up to `max_cool_down`).
    """

    policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive
    opened_at: float = 0.0
    cool_down: float = 0.0
    probing: bool = False  # a half-open probe is in flight
    times_opened: int = 0

    def current(self, now: float) -> BreakerState:
        """The state as of `now` (an open breaker past its cool-down reads half-open)."""
        if self.state is BreakerState.OPEN and now >= self.opened_at + self.cool_down:
            return BreakerState.HALF_OPEN
        return self.state

    def admits(self, now: float) -> bool:
        """Whether a send may use the route now, without claiming the probe."""
        state = self.current(now)
        if state is BreakerState.CLOSED:
            return True
        return state is BreakerState.HALF_OPEN and not self.probing

    def begin(self, now: float) -> bool:
        """Claim a send on the route: False when the breaker does not admit it now."""
        if not self.admits(now):
            return False
        if self.current(now) is BreakerState.HALF_OPEN:
            self.state = BreakerState.HALF_OPEN
            self.probing = True
        return True

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.probing = False
        self.cool_down = 0.0

    def failed(self, now: float) -> None:
        """A transient failure (nothing sent, or no answer)."""
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self._open(now, min(self.cool_down * 2, self.policy.max_cool_down))
        elif self.state is BreakerState.CLOSED and self.failures >= self.policy.failures:
            self._open(now, self.policy.cool_down)

    def released(self) -> None:
        """A claimed send that ended neither way (cancelled): free the probe."""
        self.probing = False

    def _open(self, now: float, cool_down: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = now
        self.cool_down = max(cool_down, self.policy.cool_down)
        self.probing = False
        self.times_opened += 1


# the plan -----------------------------------------------------------------------------------


def plan(
    routes: Sequence[Route],
    *,
    mobile: str,
    account_id: int | None,
    breakers: Mapping[str, Breaker],
    down: frozenset[str] = frozenset(),
    now: float,
    sender: str | None = None,
    code: bool = True,
) -> list[Route]:
    """The routes to try for one message, in order (see the module docstring)."""
    matching = [
        route
        for route in routes
        if route.matches(mobile, account_id, sender, code=code)
        and (route.name not in breakers or breakers[route.name].admits(now))
    ]
    if len(matching) < 2:  # the usual case on a gateway with one route: nothing to order
        return matching
    ordered = sorted(matching, key=lambda r: precedence(r, r.closest_prefix(mobile)))
    return [r for r in ordered if r.name not in down] + [r for r in ordered if r.name in down]


FALLBACK = ""  # the first choice of every message when no route is configured (the log sink)


def first_choices(routes: Sequence[Route]) -> list[tuple[Route, str]]:
    """
    (route, prefix) pairs in `precedence` order: with no breaker open, the first pair that
    matches a message names the route `plan` puts first. A route without prefixes is one pair
    with the prefix "".
    """
    pairs = [(route, prefix) for route in routes for prefix in (route.prefixes or ("",))]
    return sorted(pairs, key=lambda pair: precedence(*pair))


def first_choice(pairs: Sequence[tuple[Route, str]], mobile: str, account_id: int) -> str | None:
    """The route a message goes to first; FALLBACK with no routes, None when none takes it."""
    if not pairs:
        return FALLBACK
    for route, prefix in pairs:
        if mobile.startswith(prefix) and (not route.accounts or account_id in route.accounts):
            return route.name
    return None


def any_match(
    routes: Sequence[Route],
    *,
    mobile: str,
    account_id: int | None,
    sender: str | None = None,
    code: bool = True,
) -> bool:
    """Whether some route, open breaker or not, may carry this message at all."""
    return any(route.matches(mobile, account_id, sender, code=code) for route in routes)
