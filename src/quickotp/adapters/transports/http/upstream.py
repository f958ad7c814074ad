"""
What the HTTP upstream providers (Amoot, Kavenegar) share: their route URLs, the httpx
client they are given, and the one place httpx's exceptions become ours. Nothing above the
transports imports httpx for them.

Which failure is which matters more here than anywhere: TransportUnavailable lets the router
try the next route at once, so it is raised only when the request certainly did not reach
the upstream (no connection, or an answer that says nothing was sent). A request that went
out and got no usable answer is DeliveryUncertain: never failed over, retried later and
recorded as a possible duplicate.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from quickotp.domain.delivery import OutboundSms
from quickotp.domain.errors import (
    ConfigurationError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)
from quickotp.domain.urls import host_problem

MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 60.0


@dataclass(frozen=True)
class HttpRoute:
    """An HTTP upstream as its route URL gives it: `KIND://CREDENTIAL@HOST[:PORT]?options`."""

    base_url: str  # scheme://host[:port], no trailing slash
    credential: str = field(repr=False)  # the token or API key
    timeout: float = 10.0  # seconds for the whole request; past it the send is uncertain
    options: Mapping[str, str] = field(default_factory=dict)


def parse_route_url(
    url: str, *, kind: str, default_host: str, options: frozenset[str]
) -> tuple[HttpRoute, str]:
    """
    The route in `url` and the URL as it may be shown (credential blanked). Query keys:
    `scheme` (https, or http for a local test server), `timeout` (seconds) and `options`.
    ConfigurationError says what is wrong, never echoing the credential.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unclosed IPv6 bracket
        raise ConfigurationError(f"the {kind}:// URL is not a URL") from None
    if parts.scheme != kind:
        raise ConfigurationError(f"a {kind} route URL starts with {kind}://")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigurationError(f"a {kind}:// URL has no path or fragment")
    credential = unquote(parts.username or "")
    if not credential or parts.password is not None:
        raise ConfigurationError(f"a {kind}:// URL carries its token before '@' (and no ':')")
    host = parts.hostname or default_host
    if problem := host_problem(host):
        raise ConfigurationError(f"the {kind}:// URL cannot be used: {problem}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"the {kind}:// URL's port is not a number in 1-65535") from None
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in query:
            raise ConfigurationError(f"{kind}:// URL parameter {key} is given twice")
        query[key] = value
    scheme = query.pop("scheme", "https")
    if scheme not in {"https", "http"}:
        raise ConfigurationError(f"{kind}:// URL parameter scheme must be https or http")
    raw_timeout = query.pop("timeout", "10")
    try:
        timeout = float(raw_timeout)
    except ValueError:
        raise ConfigurationError(f"{kind}:// URL parameter timeout is not a number") from None
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise ConfigurationError(
            f"{kind}:// URL parameter timeout must be in {MIN_TIMEOUT}-{MAX_TIMEOUT} seconds"
        )
    if unknown := sorted(set(query) - options):
        raise ConfigurationError(f"unknown {kind}:// URL parameter: {unknown[0]}")
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    shown = f"{kind}://***@{netloc}" + (f"?{parts.query}" if parts.query else "")
    return HttpRoute(f"{scheme}://{netloc}", credential, timeout, query), shown


def new_client() -> httpx.AsyncClient:
    """A client for upstream calls: no redirects followed, no proxies from the environment."""
    # httpx logs each request's URL at INFO, and Kavenegar's URL holds the API key.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


@contextlib.contextmanager
def upstream_errors(name: str) -> Iterator[None]:
    """Turn httpx's exceptions into ours (see the module docstring for which is which)."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransportUnavailable(f"{name}: could not connect ({type(exc).__name__})") from exc
    except httpx.TimeoutException as exc:
        raise DeliveryUncertain(f"{name}: no answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        # Sent, or partly sent, and then the connection failed: the upstream may have it.
        raise DeliveryUncertain(f"{name}: the exchange broke off ({type(exc).__name__})") from exc
    except (httpx.InvalidURL, UnicodeError) as exc:  # a host httpx cannot encode: not sent
        raise TransportUnavailable(f"{name}: the route's URL cannot be requested") from exc


def status_error(name: str, status: int) -> TransportUnavailable | DeliveryUncertain:
    """An HTTP status that carries no answer of the upstream's own."""
    if status in (429, 503):  # explicitly not taken: try again, elsewhere if need be
        return TransportUnavailable(f"{name}: HTTP {status}")
    if status >= 500:  # it may have been taken before the failure
        return DeliveryUncertain(f"{name}: HTTP {status}")
    # Wrong path, credentials refused, method not allowed: the route is misconfigured,
    # and the message was not sent; another route may take it.
    return TransportUnavailable(f"{name}: HTTP {status}")


def check_sendable(name: str, sms: OutboundSms, now: datetime) -> str:
    """The code to send at `now`; TransportRejected if there is none or it is stale already."""
    if now >= sms.expires_at:
        raise TransportRejected(f"{name}: the code expired before the upstream took it")
    if not sms.code:
        raise TransportRejected(f"{name}: this upstream sends OTP codes only, and there is none")
    return sms.code
