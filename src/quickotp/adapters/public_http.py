"""
Connecting to URLs that clients choose (delivery-report URLs) without letting a client aim
the gateway at its own host or network (SSRF): the rule, applied where a URL is stored
(`TargetCheck`) and where each connection is made (`checked_addresses`, called by
adapters/report_client.py before it connects).

A host name is resolved once, every address it resolves to must pass
`domain.urls.address_problem`, and the connection goes to one of those checked addresses:
never a second lookup between the check and the connect, which a name answering a public
address to the check and 127.0.0.1 to the connect (DNS rebinding) would get past. The URL
keeps its name, so the Host header, the TLS server name (SNI) and the certificate check are
by name, as for any other request.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from urllib.parse import urlsplit

from quickotp.domain.urls import address_problem, url_problem

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT = 5.0  # seconds a lookup may take where nothing else bounds it (at entry)
# What a client is told of a name that does not pass: the same words whether it did not
# resolve or resolved to an address of ours, so the answer says nothing of our own DNS.
NAME_REFUSED = "its host does not resolve to public addresses only"


class Resolver(Protocol):
    """Names to addresses (a port: the service asked for); OSError when there are none."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """
    The operating system's resolver (getaddrinfo), in threads of its own: a client that
    names slow-resolving hosts ties up these few threads, never the event loop's default
    executor that the rest of the process shares. A lookup whose caller stopped waiting
    before it began is dropped from the queue.
    """

    def __init__(self, threads: int = 4) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="resolver")

    async def resolve(self, host: str, port: int) -> list[str]:
        found = await asyncio.get_running_loop().run_in_executor(
            self._executor,
            functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM),
        )
        return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


class TargetRefused(Exception):
    """The URL's host is, or resolves to, an address reports must not go to: nothing sent."""


async def checked_addresses(
    resolver: Resolver, host: str, port: int, *, allow_private: bool
) -> list[str]:
    """
    The addresses `host` stands for, resolved once, each of them passing address_problem
    (unless `allow_private`); TargetRefused, with the reason for the log, when it resolves
    to none or any one of them does not pass.
    """
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            found = await resolver.resolve(host, port)
        except OSError as exc:
            raise TargetRefused(f"{host} does not resolve: {exc}") from exc
    else:
        found = [host]
    if not found:
        raise TargetRefused(f"{host} resolves to no address")
    if not allow_private:
        for address in found:
            if (problem := address_problem(address)) is not None:
                raise TargetRefused(f"{host} resolves to {address}: {problem}")
    return found


class TargetCheck:
    """Whether a delivery-report URL may be stored: the check at entry, with the same rule."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self.resolver = resolver
        self.allow_private = allow_private

    async def problem(self, url: str) -> str | None:
        """Why `url` cannot take delivery reports, in words a client may see, or None."""
        if (problem := url_problem(url)) is not None:
            return problem
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                await checked_addresses(self.resolver, host, port, allow_private=self.allow_private)
        except TargetRefused as exc:
            log.info("refused a delivery-report URL: %s", exc)
            literal = address_problem(host) if _is_address(host) else None
            return literal or NAME_REFUSED
        except TimeoutError:
            log.info("refused a delivery-report URL: %s did not resolve in time", host)
            return NAME_REFUSED
        return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
