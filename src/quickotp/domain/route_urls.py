"""
A route URL's credential, handled apart from the rest of the URL, so a form can take the two
separately and never show the credential back. Pure.

Where the credential sits: `smpp://SYSTEM_ID:PASSWORD@HOST:PORT?...` (the password),
`amoot://TOKEN@HOST?...` and `kavenegar://API_KEY@HOST?...` (everything before '@'). A URL
as routes show it carries PLACEHOLDER there instead.

A stored credential may be kept for an edited URL only while the URL still leads to the same
place (`same_destination`): otherwise an edit could send the stored password to a host of
the editor's choosing without anyone typing it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from quickotp.domain.errors import InvalidInput, Subject

PLACEHOLDER = "***"
_PASSWORD_KINDS = frozenset({"smpp"})  # the credential is the password after the user name


def _parts(url: str) -> tuple[str, str, str]:
    """(scheme, user info, host and port) of `url`; InvalidInput for what is no URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unclosed IPv6 bracket
        raise InvalidInput("the route URL is not a URL", subject=Subject.ROUTE_URL) from None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", parts.netloc
    return parts.scheme.lower(), userinfo, hostport


def credential_of(url: str) -> str:
    """The credential written in `url` ("" when there is none, or only the PLACEHOLDER)."""
    scheme, userinfo, _ = _parts(url)
    if scheme in _PASSWORD_KINDS:
        _, colon, secret = userinfo.partition(":")
        found = unquote(secret) if colon else ""
    else:
        found = unquote(userinfo.partition(":")[0])
    return "" if found == PLACEHOLDER else found


def with_credential(url: str, credential: str) -> str:
    """`url` with `credential` in the credential's place (quoted as a URL needs it)."""
    return _put(url, quote(credential, safe=""))


def blanked(url: str) -> str:
    """`url` with PLACEHOLDER for its credential, if it carries one: fit to be shown."""
    return _put(url, PLACEHOLDER) if credential_of(url) else url.strip()


def _put(url: str, written: str) -> str:
    scheme, userinfo, hostport = _parts(url)
    if scheme in _PASSWORD_KINDS:
        netloc = f"{userinfo.partition(':')[0]}:{written}@{hostport}"
    else:
        netloc = f"{written}@{hostport}"
    return urlunsplit(urlsplit(url.strip())._replace(netloc=netloc))


def same_destination(old: str, new: str) -> bool:
    """
    Whether `new` leads where `old` does: the same kind, host and port, (SMPP) system id,
    and `scheme` option of an HTTP upstream (https or http).
    """
    return _destination(old) == _destination(new)


def _destination(url: str) -> tuple[str, str, str, str]:
    scheme, userinfo, hostport = _parts(url)
    user = unquote(userinfo.partition(":")[0]) if scheme in _PASSWORD_KINDS else ""
    options = dict(parse_qsl(urlsplit(url.strip()).query, keep_blank_values=True))
    return scheme, hostport.lower(), user, options.get("scheme", "https")
