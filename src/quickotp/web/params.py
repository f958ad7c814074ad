"""
Reading an Amoot request's parameters the way ASP.NET binds them: from the query string,
a form body or a JSON body, names matched without regard to case.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from quickotp.errors import MalformedRequest

MAX_BODY = 64 * 1024  # an Amoot request is a few hundred bytes


async def read_params(request: Request) -> dict[str, str]:
    """
    Every parameter of the request, keys lower-cased, values as strings; the body wins
    over the query string. Raises MalformedRequest for a body that cannot be read.
    """
    params = {key.lower(): value for key, value in request.query_params.items()}
    if request.method != "POST":
        return params
    body = await _body(request)
    if not body.strip():
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
        params.update(_json(body))
    elif content_type == "multipart/form-data":
        form = await request.form()
        params.update({k.lower(): v for k, v in form.items() if isinstance(v, str)})
    else:
        # Starlette's form parser goes through python-multipart: a third of the request's
        # cost for four short fields. The standard library's is exact for urlencoded forms.
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("the form body is not UTF-8") from None
        params.update({k.lower(): v for k, v in parse_qsl(text, keep_blank_values=True)})
    return params


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise MalformedRequest(f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
    return orjson.dumps(value).decode()


def token_of(request: Request, params: dict[str, str]) -> str:
    """The API token from the Authorization header, else the Token parameter."""
    return request.headers.get("authorization", "") or params.get("token", "")
