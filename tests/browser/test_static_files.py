"""
A first visit in a real browser: the stylesheet and scripts come gzipped, so what crosses
the network for signing up and seeing the dashboard (Chart.js included) is well under the
files' own size; a second page reuses them from the cache without asking.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import new_page, sign_up
from tests.browser.journeys import PASSWORD
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
# What a first visit (sign-up page, then the dashboard) moves, headers included. The files
# alone are 347 KB as they are (Chart.js 210 KB, the font 111 KB, CSS 16 KB, JS 9 KB).
FIRST_VISIT_MAX = 230_000


def test_a_first_visit_moves_the_static_files_gzipped(chromium: Browser, gateway: Gateway) -> None:
    context, page = new_page(chromium)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    encodings: dict[str, str] = {}

    def sent(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["request"]["url"]

    def answered(event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        encodings[event["requestId"]] = headers.get("content-encoding", "")

    def finished(event: dict[str, Any]) -> None:
        sizes[event["requestId"]] = int(event["encodedDataLength"])

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", answered)
    cdp.on("Network.loadingFinished", finished)

    sign_up(page, gateway.url, "owner@static.test", "Static Shop", PASSWORD)
    page.wait_for_function("() => document.querySelector('#chart-sends canvas') !== null")
    page.wait_for_load_state("networkidle")

    total = sum(sizes.values())
    print(f"first visit: {total} bytes over {len(sizes)} responses")  # noqa: T201
    static = {rid: url for rid, url in urls.items() if "/panel/static/" in url and rid in sizes}
    names = {url.rsplit("/", 1)[1].split(".")[0]: rid for rid, url in static.items()}
    for name in ("panel", "chart"):  # panel.css, panel.js, chart.umd.min.js
        gzipped = [rid for n, rid in names.items() if n == name]
        assert gzipped, f"{name} was not loaded: {sorted(static.values())}"
    for rid, url in static.items():
        if url.endswith((".css", ".js")):
            assert encodings.get(rid) == "gzip", f"{url} came {encodings.get(rid) or 'as it is'}"
    assert total < FIRST_VISIT_MAX, f"the first visit moved {total} bytes"

    before = len(sizes)
    page.goto(f"{gateway.url}/panel/tokens")  # the next page: the files come from the cache
    page.wait_for_load_state("networkidle")
    fetched = list(sizes)[before:]
    again = [urls[rid] for rid in fetched if "/panel/static/" in urls[rid] and sizes[rid] > 0]
    assert again == [], again
    context.close()
