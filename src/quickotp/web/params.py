"""
Reading an Amoot request's parameters the way ASP.NET binds them: from the query string,
a form body or a JSON body, names matched without regard to case. A parameter given more
than once (`PatternValues=a&PatternValues=b`, PHP's `PatternValues[]=a`, ASP.NET's
`PatternValues[0]=a`) or as a JSON array keeps every value, for the methods that take lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from quickotp.domain.errors import MalformedRequest
from quickotp.web.rest import MAX_BODY, RestCall

_INDEX = re.compile(r"\[[0-9]*\]$")  # name[] (PHP) or name[0] (ASP.NET)


class Params(dict[str, str]):
    """
    A request's parameters: keys lower-cased, each the last value given for it, and
    `every(name)` for every value of a list parameter.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        self._lists: dict[str, list[str]] = {}
        for key, value in pairs:
            self.add(key, value)

    def add(self, key: str, value: str, items: list[str] | None = None) -> None:
        """One parameter; `items` when it came as a JSON array (`value` is its JSON text)."""
        name = key.lower()
        self[name] = value
        if items is not None:
            self._lists[name] = items
        else:
            self._lists.setdefault(_INDEX.sub("", name), []).append(value)

    def every(self, name: str) -> list[str]:
        """Every value given for `name` (repeated, indexed, or a JSON array's items)."""
        return list(self._lists.get(name, ()))

    def overlay(self, body: Params) -> None:
        """The body's parameters over these (the query string's): the body wins."""
        self.update(body)
        self._lists.update(body._lists)


async def read_params(call: RestCall) -> Params:
    """
    Every parameter of the request, keys lower-cased, values as strings; the body wins
    over the query string. Raises MalformedRequest for a body that cannot be read.
    """
    params = Params(_form(call.query, "the query string"))
    if call.verb != "POST":
        return params
    if call.oversized:
        raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
    body = call.body
    if not body.strip():
        return params
    content_type = call.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
        params.overlay(_json(body))
    elif content_type == "multipart/form-data":
        params.overlay(await _multipart(call))
    else:
        # Starlette's form parser goes through python-multipart: a third of the request's
        # cost for four short fields. The standard library's is exact for urlencoded forms.
        params.overlay(Params(_form(body, "the form body")))
    return params


def _form(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise MalformedRequest(f"{what} is not UTF-8") from None


async def _multipart(call: RestCall) -> Params:
    """A multipart body, through Starlette's parser (rare on this surface; not worth more)."""
    sent = False

    async def replay() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": call.body, "more_body": False}

    try:
        form = await Request(call.scope, replay).form()
    except Exception as exc:  # python-multipart's errors have no common base worth naming
        raise MalformedRequest(f"the multipart body cannot be read: {type(exc).__name__}") from exc
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    # A part may declare a charset (utf-7, unicode_escape) that decodes to lone surrogates:
    # text no database, JSON answer or log line can hold.
    for text in (text for field in fields for text in field):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRequest("the multipart body holds text that is not Unicode") from None
    return Params(fields)


def _json(body: bytes) -> Params:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("the JSON body must be an object")
    params = Params()
    for key, value in data.items():
        items = [_text(item) for item in value] if isinstance(value, list) else None
        params.add(str(key), _text(value), items)
    return params


def _text(value: object) -> str:
    """A JSON value as the string a form would have carried."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # nested past orjson's depth (254 levels)
        raise MalformedRequest("the JSON body nests too deeply") from None


def token_of(call: RestCall, params: Params) -> str:
    """The API token from the Authorization header, else the Token parameter."""
    return call.headers.get("authorization", "") or params.get("token", "")
