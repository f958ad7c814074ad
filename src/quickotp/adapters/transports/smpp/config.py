"""
The configuration of one SMSC account, parsed from a route's `smpp://` URL. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar, overload
from urllib.parse import parse_qsl, unquote, urlsplit

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.domain.errors import ConfigurationError
from quickotp.domain.urls import host_problem

MAX_NUMBER = 20  # characters of a query number: more is no setting, and int() would balk
_VALID_TON = range(7)  # §5.2.5
_VALID_NPI = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})  # §5.2.6
ID_BASES: dict[str, tuple[int | None, int | None]] = {
    "same": (None, None),  # receipts spell ids as submit_sm_resp does
    "hex2dec": (16, 10),  # submit_sm_resp in hex, receipt text in decimal
    "dec2hex": (10, 16),
}


@dataclass(frozen=True)
class SmppConfig:
    """One SMSC account, as a route's `smpp://` URL gives it."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    window: int = 10
    tps: float = 0.0
    binds: int = 1
    mode: Literal["trx", "pair"] = "trx"
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    enquire_link: float = 30.0
    timeout: float = 10.0
    reconnect_max: float = 30.0
    receipt_ids: str = "same"

    @classmethod
    def from_url(cls, url: str) -> SmppConfig:
        """
        Parse `smpp://SYSTEM_ID:PASSWORD@HOST:PORT?window=10&tps=0&binds=1&mode=trx`; the
        other query keys are system_type, source_ton, source_npi, dest_ton, dest_npi,
        enquire_link, timeout, reconnect_max (seconds) and receipt_ids (same, hex2dec,
        dec2hex). Raises ConfigurationError saying what is wrong, never echoing the password.
        """
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # an unclosed IPv6 bracket
            raise ConfigurationError("the smpp:// URL is not a URL") from None
        if parts.scheme != "smpp":
            raise ConfigurationError("an SMPP route URL starts with smpp://")
        if parts.path not in ("", "/") or parts.fragment:
            raise ConfigurationError("an smpp:// URL has no path or fragment")
        if not parts.hostname:
            raise ConfigurationError("the smpp:// URL names no host")
        if problem := host_problem(parts.hostname):
            raise ConfigurationError(f"the smpp:// URL cannot be used: {problem}")
        try:
            port = parts.port or 2775
        except ValueError:
            raise ConfigurationError("the smpp:// URL's port is not a number in 1-65535") from None
        system_id = unquote(parts.username or "")
        if not system_id or len(system_id) > 15:
            raise ConfigurationError("the system_id (before ':' in the URL) must be 1-15 chars")
        if parts.password is None:
            raise ConfigurationError("the smpp:// URL has no password (SYSTEM_ID:PASSWORD@)")
        query = _query(parts.query)
        config = cls(
            host=parts.hostname,
            port=port,
            system_id=system_id,
            password=unquote(parts.password),
            system_type=query.pop("system_type", ""),
            window=_number(query, "window", 10, int, 1, 1000),
            tps=_number(query, "tps", 0.0, float, 0.0, 100_000.0),
            binds=_number(query, "binds", 1, int, 1, 64),
            mode=_mode(query.pop("mode", "trx")),
            source_ton=_address_part(query, "source_ton", _VALID_TON),
            source_npi=_address_part(query, "source_npi", _VALID_NPI),
            dest_ton=_address_part(query, "dest_ton", _VALID_TON, default=1),
            dest_npi=_address_part(query, "dest_npi", _VALID_NPI, default=1),
            enquire_link=_number(query, "enquire_link", 30.0, float, 1.0, 3600.0),
            # At most 25 s: a submit_sm unanswered that long means a bind to rebuild.
            timeout=_number(query, "timeout", 10.0, float, 0.1, 25.0),
            reconnect_max=_number(query, "reconnect_max", 30.0, float, 1.0, 3600.0),
            receipt_ids=query.pop("receipt_ids", "same"),
        )
        if config.receipt_ids not in ID_BASES:
            raise ConfigurationError("receipt_ids must be same, hex2dec or dec2hex")
        try:  # what the bind PDU cannot carry is refused here, not at every bind
            smpp_pdu.bind_body(config.system_id, config.password, config.system_type)
        except ValueError as error:
            raise ConfigurationError(f"the smpp:// URL: {error}") from None
        if query:
            raise ConfigurationError(f"unknown smpp:// URL parameter: {sorted(query)[0]}")
        return config


def _query(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in values:
            raise ConfigurationError(f"smpp:// URL parameter {key} is given twice")
        values[key] = value
    return values


_Number = TypeVar("_Number", int, float)


def _number(
    query: dict[str, str],
    key: str,
    default: _Number,
    kind: type[_Number],
    low: _Number,
    high: _Number,
) -> _Number:
    if key not in query:
        return default
    raw = query.pop(key)
    try:
        if len(raw) > MAX_NUMBER or not raw.isascii():
            raise ValueError(raw)
        value = kind(raw)
    except ValueError:
        raise ConfigurationError(
            f"smpp:// URL parameter {key}={raw[:MAX_NUMBER]!r} is not a number"
        ) from None
    if not low <= value <= high:
        raise ConfigurationError(f"smpp:// URL parameter {key} must be in {low}-{high}")
    return value


def _mode(raw: str) -> Literal["trx", "pair"]:
    if raw == "trx":
        return "trx"
    if raw == "pair":
        return "pair"
    raise ConfigurationError("smpp:// URL parameter mode must be trx or pair")


@overload
def _address_part(query: dict[str, str], key: str, valid: range | frozenset[int]) -> int | None: ...
@overload
def _address_part(
    query: dict[str, str], key: str, valid: range | frozenset[int], *, default: int
) -> int: ...
def _address_part(
    query: dict[str, str], key: str, valid: range | frozenset[int], *, default: int | None = None
) -> int | None:
    if key not in query:
        return default
    raw = query.pop(key)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_NUMBER) or int(raw) not in valid:
        raise ConfigurationError(
            f"smpp:// URL parameter {key}={raw[:MAX_NUMBER]!r} is not a valid value"
        )
    return int(raw)
