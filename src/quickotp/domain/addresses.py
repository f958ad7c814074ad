"""
What a client address counts as for limits: one IPv4 address, or an IPv6 address's /64,
which one client (one home, one server) holds whole and can hop through at will.
"""

from __future__ import annotations

import ipaddress


def client_key(ip: str | None) -> str:
    """The address (an IPv6 address's /64, an IPv4-mapped address as IPv4); "" when unknown."""
    if not ip:
        return ""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
