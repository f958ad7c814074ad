"""
Reading an Amoot request's parameters the way ASP.NET binds them: from the query string,
a form body or a JSON body, names matched without regard to case.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from quickotp.domain.errors import MalformedRequest
from quickotp.web.rest import MAX_BODY, RestCall


async def read_params(call: RestCall) -> dict[str, str]:
    """
    Every parameter of the request, keys lower-cased, values as strings; the body wins
    over the query string. Raises MalformedRequest for a body that cannot be read.
    """
    params = {k.lower(): v for k, v in _form(call.query, "the query string")}
    if call.verb != "POST":
        return params
    if call.oversized:
        raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
    body = call.body
    if not body.strip():
        return params
    content_type = call.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
        params.update(_json(body))
    elif content_type == "multipart/form-data":
        params.update(await _multipart(call))
    else:
        # Starlette's form parser goes through python-multipart: a third of the request's
        # cost for four short fields. The standard library's is exact for urlencoded forms.
        params.update((k.lower(), v) for k, v in _form(body, "the form body"))
    return params


def _form(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise MalformedRequest(f"{what} is not UTF-8") from None


async def _multipart(call: RestCall) -> dict[str, str]:
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
    fields = {k.lower(): v for k, v in form.items() if isinstance(v, str)}
    # A part may declare a charset (utf-7, unicode_escape) that decodes to lone surrogates:
    # text no database, JSON answer or log line can hold.
    for text in (*fields, *fields.values()):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRequest("the multipart body holds text that is not Unicode") from None
    return fields


def _json(body: bytes) -> dict[str, str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("the JSON body must be an object")
    return {str(k).lower(): _text(v) for k, v in data.items()}


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


def token_of(call: RestCall, params: dict[str, str]) -> str:
    """The API token from the Authorization header, else the Token parameter."""
    return call.headers.get("authorization", "") or params.get("token", "")
