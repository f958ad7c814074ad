"""A route URL's credential apart from the rest: read, put in, blanked, and where it leads."""

from __future__ import annotations

import pytest

from quickotp.domain.errors import InvalidInput
from quickotp.domain.route_urls import blanked, credential_of, same_destination, with_credential


@pytest.mark.parametrize(
    ("url", "credential"),
    [
        ("smpp://shop:p%40ss@10.0.0.5:2775?window=20", "p@ss"),
        ("smpp://shop:***@10.0.0.5:2775", ""),
        ("smpp://shop@10.0.0.5:2775", ""),
        ("amoot://tok%2Fen@portal.amootsms.com?method=quickotp", "tok/en"),
        ("amoot://***@portal.amootsms.com", ""),
        ("kavenegar://KEY@api.kavenegar.com?template=otp", "KEY"),
        ("kavenegar://api.kavenegar.com?template=otp", ""),
    ],
)
def test_the_credential_is_read_where_each_kind_keeps_it(url: str, credential: str) -> None:
    assert credential_of(url) == credential


def test_a_credential_is_put_in_quoted_and_read_back_whole() -> None:
    """Characters a URL gives meaning to (@ : / ? #) go in quoted and come back as typed."""
    secret = "p@ss:w/rd?#% x"

    smpp = with_credential("smpp://shop:***@10.0.0.5:2775?window=20", secret)
    amoot = with_credential("amoot://***@127.0.0.1:8080?scheme=http", secret)

    assert smpp.startswith("smpp://shop:")
    assert smpp.endswith("@10.0.0.5:2775?window=20")
    assert credential_of(smpp) == secret
    assert credential_of(amoot) == secret
    assert "@127.0.0.1:8080?scheme=http" in amoot


def test_blanked_shows_the_placeholder_and_never_the_credential() -> None:
    assert blanked("smpp://shop:hunter2@h:2775?x=1") == "smpp://shop:***@h:2775?x=1"
    assert blanked("amoot://hunter2@h") == "amoot://***@h"
    assert blanked("  amoot://***@h ") == "amoot://***@h"


def test_the_destination_is_kind_host_port_user_and_scheme() -> None:
    """Options aside from the scheme may change; anything that moves the credential may not."""
    base = "smpp://shop:a@10.0.0.5:2775?window=20"

    assert same_destination(base, "smpp://shop:***@10.0.0.5:2775?window=5&binds=2")
    assert not same_destination(base, "smpp://shop:***@10.0.0.6:2775")
    assert not same_destination(base, "smpp://shop:***@10.0.0.5:2776")
    assert not same_destination(base, "smpp://other:***@10.0.0.5:2775")
    assert not same_destination(base, "amoot://***@10.0.0.5:2775")
    http = "amoot://t@api.example?scheme=https"
    assert same_destination(http, "amoot://***@api.example")
    assert not same_destination(http, "amoot://***@api.example?scheme=http")


def test_what_is_no_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        credential_of("smpp://[::1")
