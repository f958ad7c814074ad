"""Route URLs with hosts or numbers that cannot work are refused when parsed, never at send."""

from __future__ import annotations

import httpx
import pytest

from quickotp.adapters.transports.http.amoot import AmootConfig, AmootTransport
from quickotp.adapters.transports.http.kavenegar import KavenegarConfig, KavenegarTransport
from quickotp.adapters.transports.http.upstream import HttpRoute
from quickotp.adapters.transports.routed import check_url
from quickotp.adapters.transports.smpp.config import SmppConfig
from quickotp.domain.errors import ConfigurationError, InvalidInput, TransportUnavailable
from tests.clock import WallClock

from .conftest import otp_sms

BAD_HOSTS = ["ä..b", "a..b", "-a-", "h%00x", "a" * 70]


@pytest.mark.parametrize("host", BAD_HOSTS)
@pytest.mark.parametrize(
    "template",
    ["amoot://T@{host}", "kavenegar://K@{host}?template=otp", "smpp://x:y@{host}:2775"],
)
def test_a_route_url_with_a_bad_host_is_refused(template: str, host: str) -> None:
    """check_url (the CLI's) refuses a host that is no IP address and no encodable name."""
    with pytest.raises(InvalidInput, match="not a valid name"):
        check_url(template.format(host=host))


@pytest.mark.parametrize(
    "url", ["amoot://T@[::1", "kavenegar://K@[::1?template=otp", "smpp://x:y@[::1"]
)
def test_an_unclosed_ipv6_bracket_is_a_configuration_error(url: str) -> None:
    """urlsplit's ValueError becomes ConfigurationError in each parser."""
    parsers = {
        "smpp": SmppConfig.from_url,
        "amoot": AmootConfig.from_url,
        "kavenegar": KavenegarConfig.from_url,
    }
    parse = parsers[url.split(":", 1)[0]]
    with pytest.raises(ConfigurationError, match="not a URL"):
        parse(url)


@pytest.mark.parametrize(
    "url",
    [
        "amoot://T@portal.example?scheme=http",
        "amoot://T@203.0.113.7:8080",
        "amoot://T@[2001:db8::1]",
        "kavenegar://K@فروشگاه.ایران?template=otp",
        "smpp://x:y@smsc.example.:2775",
    ],
)
def test_ip_addresses_and_names_still_pass(url: str) -> None:
    """An IP address, an ASCII name (a trailing dot too) or an IDN host is a usable host."""
    check_url(url)


@pytest.mark.parametrize("value", ["²", "٣", "1" * 5000, "-1", ""])
def test_smpp_address_numbers_are_ascii_digits_of_bounded_length(value: str) -> None:
    """source_ton=² or 5,000 digits is a ConfigurationError, not ValueError from int()."""
    with pytest.raises(ConfigurationError, match="source_ton"):
        SmppConfig.from_url(f"smpp://x:y@h:2775?source_ton={value}")


def test_smpp_window_of_5000_digits_is_a_configuration_error() -> None:
    """A whole-number setting past int()'s digit limit is refused, and not echoed in full."""
    with pytest.raises(ConfigurationError, match="window") as caught:
        SmppConfig.from_url("smpp://x:y@h:2775?window=" + "1" * 5000)
    assert len(str(caught.value)) < 100


@pytest.mark.parametrize("pattern", ["1" * 5000, "1" * 19, "²"])
def test_amoot_pattern_ids_are_bounded(pattern: str) -> None:
    """pattern=<5000 digits> is a ConfigurationError, not int()'s digit-limit ValueError."""
    with pytest.raises(ConfigurationError, match="pattern=ID"):
        AmootConfig.from_url(f"amoot://T@h?method=pattern&pattern={pattern}")


@pytest.mark.anyio
@pytest.mark.parametrize("base", ["https://ä..b", "https://xn--a"])
async def test_a_stored_route_httpx_cannot_request_is_a_transport_error(base: str) -> None:
    """A route stored before hosts were checked: httpx's refusal becomes TransportUnavailable."""
    route = HttpRoute(base, "T")
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransportUnavailable, match="cannot be requested"):
            await AmootTransport(client, AmootConfig(route), clock=WallClock()).send(otp_sms())
        with pytest.raises(TransportUnavailable, match="cannot be requested"):
            await KavenegarTransport(client, KavenegarConfig(route, "otp"), clock=WallClock()).send(
                otp_sms()
            )


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("smpp://quickotp:" + "p" * 65 + "@h:2775", "password must be at most 64 octets"),
        ("smpp://quickotp:%D9%83%D8%AF@h:2775", "password must be Latin-1 text"),
        ("smpp://quickotp:pw@h:2775?system_type=" + "T" * 13, "system_type must be at most 12"),
    ],
)
def test_what_a_bind_pdu_cannot_carry_is_refused_without_echoing_it(url: str, refusal: str) -> None:
    """Refused when the route is added, not at every bind; the password never echoed."""
    with pytest.raises(ConfigurationError, match=refusal) as refused:
        SmppConfig.from_url(url)

    assert "pppp" not in str(refused.value)
    assert "\u0643" not in str(refused.value)
