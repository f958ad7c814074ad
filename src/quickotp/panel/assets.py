"""
The panel's static files (CSS, JavaScript, the font, Chart.js), served from memory under
content-hashed names, so a browser keeps each for a year and fetches it again only when
it changes.

Each file is read once, at start-up, from the package; its name gains the first 12 hex
digits of its SHA-256 (`panel.css` is served as `panel.3f2a9c1be04d.css`), and a relative
`url(...)` in a stylesheet is rewritten to the name of the file it points at, so a
stylesheet's hash changes with the font it loads. A text file (CSS, JavaScript, SVG, JSON,
plain text) is gzipped then too, once, and sent gzipped to every client that accepts it;
the font is compressed already and goes as it is. Memory is bounded by the package: every
file once, and the gzipped text files beside them (about 430 KB in all).

A name that is not the current name of a file (an old hash, an unhashed name, a made-up
one) is 404: nothing is ever cached for good under a name whose content may change.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

DIGEST_LENGTH = 12  # hex digits of SHA-256 in a served name
IMMUTABLE = "public, max-age=31536000, immutable"
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')\s]+)\1\s*\)""")
_GZIP_MTIME = 0  # the same bytes at every start: no time in the gzip header


@dataclass(frozen=True)
class Asset:
    """One static file as it is served: its bytes, and gzipped when that is worth it."""

    served_name: str  # the path under static/ with the content's hash before the extension
    media_type: str
    body: bytes
    digest: str
    gzipped: bytes | None  # None: not a text file, or gzip would not make it smaller


class Assets:
    """Every static file, by the name it is served under; and the served name of each."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._served: dict[str, str] = {}  # a file's own path -> its served name
        self._assets: dict[str, Asset] = {}  # its served name -> the file
        # Stylesheets last: their url(...)s name the other files by their served names.
        for name in sorted(files, key=lambda name: (name.endswith(".css"), name)):
            body = files[name]
            if name.endswith(".css"):
                body = self._rewrite_urls(name, body)
            self._add(name, body)

    @classmethod
    def of_package(cls) -> Assets:
        return _package_assets()

    def url_path(self, name: str) -> str:
        """The served name of the file at `name` (a path under static/); KeyError if none."""
        return self._served[name]

    def get(self, served_name: str) -> Asset | None:
        return self._assets.get(served_name)

    async def endpoint(self, request: Request) -> Response:
        """A static file by its served name: gzipped when accepted, 304 when unchanged."""
        asset = self._assets.get(request.path_params["path"])
        if asset is None:
            return PlainTextResponse("Not Found", 404, headers={"cache-control": "no-store"})
        gzipped = asset.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding"))
        etag = f'"{asset.digest}-gzip"' if gzipped else f'"{asset.digest}"'
        headers = {"cache-control": IMMUTABLE, "etag": etag}
        if asset.gzipped is not None:
            headers["vary"] = "Accept-Encoding"
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        body = asset.gzipped if gzipped and asset.gzipped is not None else asset.body
        if gzipped:
            headers["content-encoding"] = "gzip"
        response = Response(
            body if request.method != "HEAD" else b"",
            media_type=asset.media_type,
            headers=headers,
        )
        response.headers["content-length"] = str(len(body))
        return response

    def _add(self, name: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH]
        folder, file = posixpath.split(name)
        stem, dot, extension = file.rpartition(".")
        served_file = f"{stem}.{digest}.{extension}" if dot else f"{file}.{digest}"
        served = posixpath.join(folder, served_file)
        media_type = mimetypes.guess_type(file)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type == "application/javascript":
            media_type += "; charset=utf-8"
        self._served[name] = served
        self._assets[served] = Asset(served, media_type, body, digest, _gzipped(media_type, body))

    def _rewrite_urls(self, name: str, body: bytes) -> bytes:
        """A stylesheet whose relative url(...)s name the served names of their files."""
        folder = posixpath.dirname(name)

        def served(found: re.Match[str]) -> str:
            quote, ref = found.group(1), found.group(2)
            target = posixpath.normpath(posixpath.join(folder, ref))
            if target not in self._served:
                return found.group(0)  # data:, an absolute URL, or a file not among these
            ref_folder = posixpath.dirname(ref)
            new = posixpath.join(ref_folder, posixpath.basename(self._served[target]))
            return f"url({quote}{new}{quote})"

        return _CSS_URL.sub(served, body.decode("utf-8")).encode("utf-8")


def _gzipped(media_type: str, body: bytes) -> bytes | None:
    if not media_type.startswith(_COMPRESSIBLE):
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=_GZIP_MTIME)
    return packed if len(packed) < len(body) * 0.9 else None


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (by name or `*`, with a q above 0)."""
    if not header:
        return False
    named: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        named[coding.strip().lower()] = q
    if "gzip" in named:
        return named["gzip"] > 0
    if "x-gzip" in named:
        return named["x-gzip"] > 0
    return named.get("*", 0.0) > 0


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match against one entity tag, compared weakly (RFC 9110, 13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


@cache
def _package_assets() -> Assets:
    root = resources.files("quickotp.panel") / "static"
    return Assets({name: item.read_bytes() for name, item in _walk(root, "")})


def _walk(folder: Any, prefix: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for item in folder.iterdir():
        name = prefix + item.name
        found.extend(_walk(item, name + "/") if item.is_dir() else [(name, item)])
    return found
