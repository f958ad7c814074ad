"""Delivery-report URLs: what may be stored for the webhook worker to post to."""

from __future__ import annotations

import pytest

from quickotp.domain.urls import MAX_URL, host_problem, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/dlr",
        "http://shop.example:8080/dlr?x=1#f",
        "https://[2001:db8::1]/dlr",
        "http://203.0.113.7/dlr",
        "https://فروشگاه.ایران/dlr",  # an IDN host
        "https://shop.example/" + "a" * (MAX_URL - 21),
    ],
)
def test_usable_urls_pass(url: str) -> None:
    """http(s) URLs with a host the worker can reach by name or address pass."""
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://shop.example/" + "a" * MAX_URL, "longer than"),
        ("https://shop.example/a b", "spaces or control"),
        ("https://shop.example/a\x00b", "spaces or control"),
        ("https://shop.example/a\x7fb", "spaces or control"),
        ("http://ex\u200bample.com/", "spaces or control"),  # a zero-width space
        ("ftp://shop.example/x", "not an http(s) URL"),
        ("shop.example/dlr", "not an http(s) URL"),
        ("http:///dlr", "names no host"),
        ("https://shop.example:99999/", "not a URL"),
        ("https://shop.example:abc/", "not a URL"),
        ("http://[::1", "not a URL"),
        ("http://[abc]/", "not a URL"),
        ("http://exa\uff03mple.com/", "not a URL"),
        ("http://a..b/", "not a valid name"),
        ("https://.example.com/", "not a valid name"),
        ("https://" + "x" * 64 + ".example/", "not a valid name"),
        ("http://xn--a/", "not a URL the gateway can post to"),  # A-labels IDNA refuses
        ("https://xn--zz.com/", "not a URL the gateway can post to"),
        ("http://xn--ls8h.la/hook", "not a URL the gateway can post to"),  # an emoji
    ],
)
def test_unusable_urls_say_why(url: str, problem: str) -> None:
    """Each unusable URL is refused with the reason, never with an exception."""
    found = url_problem(url)

    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2001:db8::1",
        "smsc.example",
        "smsc.example.",
        "فروشگاه.ایران",
        "a-b",
        "my_smsc",
    ],
)
def test_hosts_to_connect_to_pass(host: str) -> None:
    """An IP address, or a name of letters, digits and inner hyphens (IDN too)."""
    assert host_problem(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "",
        "a..b",
        "ä..b",
        "-a-",
        "a-.b",
        "h%00x",
        "a" * 64,
        ("a" * 60 + ".") * 5,
        "xn--a",
        "xn--zz.com",
    ],
)
def test_hosts_that_cannot_be_looked_up_have_a_problem(host: str) -> None:
    """Empty or over-long labels, characters outside letters/digits/hyphen, edge hyphens."""
    assert host_problem(host) is not None
