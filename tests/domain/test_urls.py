"""Delivery-report URLs: what may be stored for the webhook worker to post to, and where."""

from __future__ import annotations

import pytest

from quickotp.domain.urls import MAX_URL, address_problem, host_problem, url_problem


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


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address refused, not bound
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved: Python counts it private
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::1", "local-use NAT64"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::", "private"),  # 6to4 of 192.168.1.1
        ("::127.0.0.1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("2001::1", "Teredo"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("shop.example", "not an IP address"),
    ],
)
def test_addresses_inside_or_carrying_inside_are_refused(address: str, why: str) -> None:
    """Every non-public address, and every IPv6 form carrying one, is refused with its reason."""
    problem = address_problem(address)

    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"],
)
def test_public_addresses_pass(address: str) -> None:
    """A public address, or an IPv6 form carrying a public IPv4 one, may take reports."""
    assert address_problem(address) is None
