"""
The panel's static files over HTTP: content-hashed names cached for a year, gzipped for
clients that accept it, 304 for an unchanged copy, and 404 for any name that is not a
file's current one.
"""

from __future__ import annotations

import gzip
import re
from importlib import resources

import httpx
import pytest

from quickotp.panel.assets import Assets, accepts_gzip, etag_matches
from tests.panel.conftest import Browser

STATIC = resources.files("quickotp.panel") / "static"
pytestmark = pytest.mark.anyio
_LINKED = re.compile(r'(?:href|src)="(/panel/static/[^"]+)"')


async def linked(browser: Browser, page: str = "/panel/sign-in") -> dict[str, str]:
    """The static URLs a page links to, by the file's own name (`panel.css`)."""
    html = (await browser.get(page)).text
    urls = _LINKED.findall(html)
    return {re.sub(r"\.[0-9a-f]{12}\.", ".", url.rsplit("/", 1)[1]): url for url in urls}


async def raw(browser: Browser, url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, not decoded."""
    async with browser.http.stream("GET", url, headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_a_text_file_is_gzipped_for_a_client_that_accepts_it(browser: Browser) -> None:
    url = (await linked(browser))["panel.js"]
    original = (STATIC / "panel.js").read_bytes()

    response, body = await raw(browser, url, **{"accept-encoding": "gzip, br"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert gzip.decompress(body) == original
    assert int(response.headers["content-length"]) == len(body) < len(original) / 2


async def test_a_client_that_does_not_accept_gzip_gets_the_file_as_it_is(
    browser: Browser,
) -> None:
    url = (await linked(browser))["panel.js"]

    for accepted in ("identity", "gzip;q=0, identity", "br"):
        response, body = await raw(browser, url, **{"accept-encoding": accepted})
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert response.headers["vary"] == "Accept-Encoding"
        assert body == (STATIC / "panel.js").read_bytes()


async def test_the_stylesheet_names_the_font_by_its_hashed_name(browser: Browser) -> None:
    urls = await linked(browser)
    css = (await browser.get(urls["panel.css"], headers={"accept-encoding": "gzip"})).text
    font_ref = re.search(r'url\("(fonts/Vazirmatn-wght\.[0-9a-f]{12}\.woff2)"\)', css)
    assert font_ref is not None, css[:400]

    font_url = urls["panel.css"].rsplit("/", 1)[0] + "/" + font_ref.group(1)
    response, body = await raw(browser, font_url, **{"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers  # woff2 is compressed already
    assert body == (STATIC / "fonts" / "Vazirmatn-wght.woff2").read_bytes()
    assert response.headers["content-type"] == "font/woff2"


async def test_an_unchanged_copy_is_answered_304(browser: Browser) -> None:
    url = (await linked(browser))["panel.css"]
    for encoding in ("gzip", "identity"):
        first = await browser.get(url, headers={"accept-encoding": encoding})
        etag = first.headers["etag"]

        again = await browser.get(
            url, headers={"accept-encoding": encoding, "if-none-match": f"W/{etag}"}
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=31536000, immutable"

    gzipped = await browser.get(url, headers={"accept-encoding": "gzip"})
    plain = await browser.get(url, headers={"accept-encoding": "identity"})
    assert gzipped.headers["etag"] != plain.headers["etag"]  # two representations
    stale = await browser.get(
        url, headers={"accept-encoding": "identity", "if-none-match": gzipped.headers["etag"]}
    )
    assert stale.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/panel/static/panel.css",  # unhashed
        "/panel/static/panel.000000000000.css",  # an old or made-up hash
        "/panel/static/nothing.js",
        "/panel/static/../app.py",
        "/panel/static/fonts/",
    ],
)
async def test_any_other_name_is_not_found(browser: Browser, path: str) -> None:
    response = await browser.get(path)
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")


async def test_a_head_request_has_the_headers_and_no_body(browser: Browser) -> None:
    url = (await linked(browser))["panel.css"]
    response = await browser.http.head(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) > 0


def test_the_served_name_changes_when_the_file_does() -> None:
    font = b"wOF2" + bytes(200)
    css = b'@font-face { src: url("fonts/f.woff2") format("woff2"); } body { color: red; }'
    before = Assets({"a.js": b"var a = 1;", "fonts/f.woff2": font, "s.css": css})
    after = Assets({"a.js": b"var a = 2;", "fonts/f.woff2": font + b"!", "s.css": css})

    assert re.fullmatch(r"a\.[0-9a-f]{12}\.js", before.url_path("a.js"))
    assert before.url_path("a.js") != after.url_path("a.js")
    assert before.url_path("fonts/f.woff2") != after.url_path("fonts/f.woff2")
    # the stylesheet is unchanged, but the font it names is not: it is served anew too
    assert before.url_path("s.css") != after.url_path("s.css")
    served = before.get(before.url_path("s.css"))
    assert served is not None
    assert before.url_path("fonts/f.woff2").encode() in served.body
    assert after.get(before.url_path("a.js")) is None


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True),
        ("GZIP", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str | None, takes: bool) -> None:
    assert accepts_gzip(header) is takes


def test_if_none_match_compares_weakly_and_takes_a_list() -> None:
    assert etag_matches('"a", W/"b"', '"b"')
    assert etag_matches("*", '"b"')
    assert not etag_matches('"a"', '"b"')
    assert not etag_matches(None, '"b"')
