"""
Checking, before they are stored, the URLs and hosts the gateway will connect to: a URL a
client gives us to POST delivery reports to (a relay URL, the panel's webhook URL), and the
host of a route (smpp://, amoot://, kavenegar://) or of `serve --host`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import idna

MAX_URL = 500


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
