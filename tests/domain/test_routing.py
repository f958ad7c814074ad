"""The pure routing decisions: which routes, in which order, and the circuit breaker."""

from __future__ import annotations

import pytest

from quickotp.domain.errors import InvalidInput
from quickotp.domain.routing import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    Route,
    checked_route,
    plan,
)


def route(
    name: str,
    *,
    prefixes: tuple[str, ...] = (),
    accounts: tuple[int, ...] = (),
    priority: int = 10,
) -> Route:
    return Route(name, "smpp", "smpp://x:y@h", "smpp://x:***@h", prefixes, accounts, priority)


def names(routes: list[Route]) -> list[str]:
    return [r.name for r in routes]


def test_lower_priority_goes_first() -> None:
    """Priority orders the routes that match, lower first."""
    routes = [route("b", priority=20), route("a", priority=5), route("c", priority=10)]

    assert names(plan(routes, mobile="989120000000", account_id=1, breakers={}, now=0)) == [
        "a",
        "c",
        "b",
    ]


def test_prefixes_and_accounts_filter() -> None:
    """A route for other prefixes or other accounts is not a candidate."""
    routes = [
        route("mci", prefixes=("98912", "98991")),
        route("irancell", prefixes=("98935",)),
        route("bank-only", accounts=(7,)),
    ]

    assert names(plan(routes, mobile="989120000000", account_id=1, breakers={}, now=0)) == ["mci"]
    assert names(plan(routes, mobile="989350000000", account_id=7, breakers={}, now=0)) == [
        "bank-only",
        "irancell",
    ]


def test_among_equals_the_more_specific_goes_first() -> None:
    """Same priority: an account's own route, then the longest prefix, then the name."""
    routes = [route("any"), route("short", prefixes=("98",)), route("long", prefixes=("98912",))]

    assert names(plan(routes, mobile="989120000000", account_id=1, breakers={}, now=0)) == [
        "long",
        "short",
        "any",
    ]


def test_open_breakers_are_left_out_and_down_routes_go_last() -> None:
    """An open breaker removes its route; a route whose binds are down is a last resort."""
    routes = [route("a", priority=1), route("b", priority=2), route("c", priority=3)]
    open_breaker = Breaker(BreakerPolicy(failures=1))
    open_breaker.failed(now=0)

    chosen = plan(
        routes,
        mobile="989120000000",
        account_id=1,
        breakers={"b": open_breaker},
        down=frozenset({"a"}),
        now=1,
    )

    assert names(chosen) == ["c", "a"]


def test_breaker_opens_after_consecutive_failures_and_probes_after_cool_down() -> None:
    """Closed → open after N failures → half-open after the cool-down → closed on success."""
    breaker = Breaker(BreakerPolicy(failures=3, cool_down=10))
    for _ in range(3):
        assert breaker.begin(0)
        breaker.failed(0)

    assert breaker.current(5) is BreakerState.OPEN
    assert not breaker.admits(5)
    assert breaker.current(10) is BreakerState.HALF_OPEN
    assert breaker.begin(10)
    assert not breaker.begin(10)  # one probe at a time
    breaker.succeeded()
    assert breaker.current(10) is BreakerState.CLOSED


def test_a_failed_probe_doubles_the_cool_down() -> None:
    """A half-open probe that fails opens the breaker again, for twice as long."""
    breaker = Breaker(BreakerPolicy(failures=1, cool_down=10, max_cool_down=15))
    breaker.failed(0)
    assert breaker.begin(10)

    breaker.failed(10)

    assert (breaker.current(24), breaker.current(25)) == (BreakerState.OPEN, BreakerState.HALF_OPEN)


def test_a_success_resets_the_count() -> None:
    """Failures must be consecutive to open the breaker."""
    breaker = Breaker(BreakerPolicy(failures=2))
    breaker.failed(0)
    breaker.succeeded()
    breaker.failed(0)

    assert breaker.current(0) is BreakerState.CLOSED


def test_operator_input_is_checked() -> None:
    """Names, prefixes and accounts are checked, prefixes lose '+' and duplicates."""
    made = checked_route(
        name="mci-1", kind="smpp", url="u", shown="s", prefixes=["+98912", "98912"], accounts=[3]
    )

    assert (made.prefixes, made.accounts) == (("98912",), (3,))
    with pytest.raises(InvalidInput):
        checked_route(name="bad name", kind="smpp", url="u", shown="s")
    with pytest.raises(InvalidInput):
        checked_route(name="ok", kind="smpp", url="u", shown="s", prefixes=["98x"])
