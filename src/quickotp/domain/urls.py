"""
Checking, before they are stored, the URLs and hosts the gateway will connect to: a URL a
client gives us to POST delivery reports to (a relay URL, the panel's webhook URL), and the
host of a route (smpp://, amoot://, kavenegar://) or of `serve --host`; and which addresses
a delivery report may go to (`address_problem`). Pure: resolving names happens in
transports/public_http.py, which applies `address_problem` to every address it gets.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import urlsplit

import idna

MAX_URL = 500

# Cloud metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS's IPv6 one):
# named apart because they hand out credentials to whoever asks from inside.
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix: IPv4 in the low 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): never public
TEREDO = ipaddress.ip_network("2001::/32")  # Teredo tunnels (RFC 4380)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d, deprecated (RFC 4291)


def url_problem(url: str) -> str | None:
    """
    Why `url` cannot be a delivery-report URL, or None: it must be an http(s) URL of at most
    MAX_URL characters, without spaces or control characters, whose port is a port, that
    httpx (which posts it) reads, and whose host passes host_problem.
    """
    if len(url) > MAX_URL:
        return f"it is longer than {MAX_URL} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it: ValueError past 65535 or not a number
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in {"http", "https"}:
        return "it is not an http(s) URL"
    if not parts.hostname:
        return "it names no host"
    if not _a_labels_decode(parts.hostname):  # as the HTTP client decodes them to post
        return "it is not a URL the gateway can post to"
    return host_problem(parts.hostname)


MAX_HOST = 253  # characters of a DNS name, without a trailing dot
# Letters, digits, hyphens, and the underscore internal names carry (Docker's services).
_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def host_problem(host: str) -> str | None:
    """
    Why `host` cannot be a host to connect to, or None: it must be an IP address, or a name
    the idna codec encodes into labels of 1 to 63 letters, digits, hyphens and underscores,
    none starting or ending with a hyphen, at most MAX_HOST characters in all (one trailing
    dot allowed).
    """
    if not host:
        return "it names no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    name = host[:-1] if host.endswith(".") else host
    try:
        encoded = name.encode("idna").decode("ascii").lower()
    except UnicodeError:  # empty or over-long labels, characters IDNA refuses
        return f"its host {host!r} is not a valid name"
    if len(encoded) > MAX_HOST:
        return f"its host is longer than {MAX_HOST} characters"
    for label in encoded.split("."):
        if not label or len(label) > 63 or not set(label) <= _LABEL:
            return f"its host {host!r} is not a valid name"
        if label.startswith("-") or label.endswith("-"):
            return f"its host {host!r} is not a valid name"
    if not _a_labels_decode(encoded):
        return f"its host {host!r} is not a valid name"
    return None


def _a_labels_decode(name: str) -> bool:
    """Whether every A-label (xn--) of `name` decodes under IDNA 2008, as HTTP clients do."""
    try:
        for label in name.lower().split("."):
            if label.startswith("xn--"):
                idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        return False
    return True


def address_problem(address: str) -> str | None:
    """
    Why a delivery report must not be posted to the IP `address`, or None for a public
    unicast address. Clients choose report URLs: without this rule they could make the
    gateway POST into its own host or network (SSRF).

    Refused: loopback, private, link-local, carrier-grade NAT, multicast, unspecified,
    reserved and documentation addresses, cloud metadata services, and every IPv6 form that
    carries an IPv4 address (IPv4-mapped, NAT64, 6to4) unless that IPv4 address is public.
    IPv4-compatible (::a.b.c.d), local-use NAT64 and Teredo addresses are refused outright:
    no public receiver uses them, and Python's `is_global` counts several of these forms
    as public.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (%eth0) aside
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, IPv6Address):
        if ip in TEREDO:
            return f"{ip} is a Teredo tunnel address"
        if ip in NAT64_LOCAL:
            return f"{ip} is a local-use NAT64 address"
        if ip in IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are named below
            return f"{ip} is a deprecated IPv4-compatible address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(str(embedded))
            return None if problem is None else f"{ip} carries {embedded}: {problem}"
    return _problem(ip)


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 or 6to4 address stands for; None for others."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _problem(ip: IPv4Address | IPv6Address) -> str | None:
    if ip in METADATA:
        return f"{ip} is a cloud metadata service"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if isinstance(ip, IPv4Address) and ip in SHARED:
        return f"{ip} is a carrier-grade NAT address"
    if ip.is_private:
        return f"{ip} is a private address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None
