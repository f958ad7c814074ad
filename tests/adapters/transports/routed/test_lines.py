"""Routes kept for sender lines, and upstreams that carry only codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quickotp.adapters.transports.smpp.codec import status_error
from quickotp.domain.errors import InvalidInput, LineRefused, TransportRejected
from quickotp.domain.routing import Route, checked_route, plan
from tests.adapters.transports.routed.test_routing_transport import World, noop, sms

pytestmark = pytest.mark.anyio


def route(
    name: str, kind: str = "smpp", *, lines: tuple[str, ...] = (), priority: int = 10
) -> Route:
    return Route(name, kind, f"{kind}://x@h", f"{kind}://***@h", priority=priority, lines=lines)


def planned(routes: list[Route], *, sender: str = "1000", code: bool = True) -> list[str]:
    found = plan(
        routes,
        mobile="989120000000",
        account_id=1,
        breakers={},
        now=0,
        sender=sender,
        code=code,
    )
    return [r.name for r in found]


def test_a_route_kept_for_lines_carries_only_those() -> None:
    """A route with lines takes messages from its lines; a route without takes any line."""
    routes = [route("ads", lines=("9810001",)), route("any", priority=20)]

    assert planned(routes, sender="9810001") == ["ads", "any"]
    assert planned(routes, sender="1000") == ["any"]


def test_among_equals_the_lines_route_goes_first() -> None:
    """At the same priority a route kept for the message's line is the closer one."""
    routes = [route("any"), route("ads", lines=("9810001",))]

    assert planned(routes, sender="9810001") == ["ads", "any"]


def test_code_only_upstreams_do_not_carry_text() -> None:
    """Amoot and Kavenegar send codes with their own template: free text skips them."""
    routes = [route("amoot", "amoot", priority=1), route("kave", "kavenegar"), route("smsc")]

    assert planned(routes, code=True) == ["amoot", "kave", "smsc"]
    assert planned(routes, code=False) == ["smsc"]


def test_route_lines_are_checked() -> None:
    """A line on a route is 1 to 20 printable characters."""
    made = checked_route(
        name="ads", kind="smpp", url="u", shown="s", lines=[" 9810001", "9810001", "3000"]
    )

    assert made.lines == ("3000", "9810001")
    with pytest.raises(InvalidInput):
        checked_route(name="ads", kind="smpp", url="u", shown="s", lines=["has space"])


@pytest.mark.parametrize("status", [0x0A, 0x48, 0x49])
def test_an_smsc_refusing_the_source_address_refuses_the_line(status: int) -> None:
    """ESME_RINVSRCADR and its TON/NPI kin are about the line: LineRefused."""
    assert isinstance(status_error(status), LineRefused)
    assert not isinstance(status_error(0x0B), LineRefused)  # the destination: the message's


async def test_no_route_for_the_line_is_a_line_refusal() -> None:
    """A message whose line no route carries is LineRefused (its backup line may do)."""
    world = World([route("ads", lines=("9810001",))])
    await world.router.start(noop)

    with pytest.raises(LineRefused):
        await world.router.send(replace(sms(), sender="1000"))
    receipt = await world.router.send(replace(sms(), sender="9810001"))

    assert receipt.transport == "ads"


async def test_text_with_only_code_routes_is_rejected() -> None:
    """Free text where only code-carrying upstreams are configured: no route takes it."""
    world = World([route("amoot", "amoot")])
    await world.router.start(noop)

    with pytest.raises(TransportRejected) as refused:
        await world.router.send(replace(sms(), code=None))

    assert not isinstance(refused.value, LineRefused)
