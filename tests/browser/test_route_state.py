"""
A route that fails every send, in a real browser (Debian's Chromium) against a real
`quickotp serve` whose one route is an SMSC simulator process on 127.0.0.1 that answers
every submit_sm with ESME_RSUBMITFAIL, at 1366 px and 390 px, in English and Persian:
the routes list reads "Failing", never a green "Up"; the list and the route's page show the
same Sent and Failed counts (the database's, over the same window) under the same labels;
and the route's page in Persian has no English words beyond names, hosts and code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import (
    OPERATOR,
    STEP_MS,
    require_chromium,
    sign_in,
    smsc_simulator,
    with_operator,
)
from tests.browser.journeys import send
from tests.browser.operations import VIEWS, assert_fits, assert_language, open_view
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow

ESME_RSUBMITFAIL = "0x45"  # the SMSC answers, and takes nothing
ROUTE = "refusing-smsc"
NUMBERS = ["09120000101", "09120000102", "09120000103"]
WAIT_S = 30  # the dispatcher tries each message once within this
# Latin words the Persian route page may show: its name and kind, and the acronyms the
# Persian text names things by (URL, API).
ALLOWED_LATIN = {"refusing", "smsc", "smpp", "SMPP", "URL", "API"}
PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


@pytest.fixture(scope="module")
def smsc_port() -> Iterator[int]:
    """An SMSC simulator on 127.0.0.1 that refuses every submit_sm; killed after."""
    with smsc_simulator("--refuse-all", ESME_RSUBMITFAIL) as port:
        yield port


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory, smsc_port: int) -> Iterator[Gateway]:
    """A gateway whose one route is the refusing SMSC, after three SendQuickOTP through it."""
    require_chromium()
    server = Gateway(tmp_path_factory.mktemp("refusing"))
    token = server.setup_account()
    url = f"smpp://quickotp:smsc-pass@127.0.0.1:{smsc_port}?timeout=5"
    added = server.cli("routes", "add", ROUTE, "--url", url)
    assert added.returncode == 0, added.stderr
    running = with_operator(server)
    next(running)
    try:
        for number in NUMBERS:
            send(server, token, number)
        yield server
    finally:
        next(running, None)  # with_operator stops the server


def number(text: str) -> int:
    """A count as the page writes it, in either language's digits."""
    digits = re.sub(r"[^0-9]", "", text.translate(PERSIAN_DIGITS))
    assert digits, f"no number in {text!r}"
    return int(digits)


def listed_once_failed(page: Page, base: str) -> None:
    """The routes list, once the route's last sends failed (its errors count them)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        page.goto(f"{base}/panel/operator/routes")
        if time.monotonic() > deadline or "ESME_RSUBMITFAIL" in page.content():
            return
        time.sleep(0.5)


def list_counts(page: Page, base: str) -> dict[str, int]:
    """The routes list's Sent and Failed for the route, once every message failed there."""
    row = page.locator(f"#route-{ROUTE}")
    deadline = time.monotonic() + WAIT_S
    while True:
        counts = {
            kind: number(row.locator(f"[data-count={kind}]").inner_text(timeout=STEP_MS))
            for kind in ("sent", "failed")
        }
        if counts["failed"] >= len(NUMBERS) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)
        page.reload()


def latin_words(page: Page) -> set[str]:
    """The Latin words in the page's visible text, leaving out code, URLs and inputs."""
    text: str = page.evaluate(
        """() => {
            const main = document.querySelector("main").cloneNode(true);
            main.querySelectorAll("code, kbd, samp, input, textarea, .url")
                .forEach((node) => node.remove());
            document.body.appendChild(main);
            const seen = main.innerText;
            main.remove();
            return seen;
        }"""
    )
    return set(re.findall(r"[A-Za-z][A-Za-z'-]*", text))


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_a_route_that_fails_every_send_reads_failing_with_one_set_of_counts(
    chromium: Browser, refusing: Gateway, width: int, height: int, language: str
) -> None:
    base = refusing.url
    tr = Translator(language, PANEL_ZONE)
    context, page = open_view(chromium, width, height, language)
    sign_in(page, base, *OPERATOR, language=language)

    listed_once_failed(page, base)
    assert_language(page, language)
    row = page.locator(f"#route-{ROUTE}")
    # Not a green "Up": the route's state (the first badge of its State cell) reads failing,
    # in the page's language.
    state = row.locator("td").nth(1).locator(".badge").first
    expect(state).to_have_text(tr("Failing"))
    expect(state).to_have_class(re.compile(r"\b(bad|warn)\b"))
    expect(row.locator(".badge.ok")).to_have_count(0)
    listed = list_counts(page, base)
    assert listed == {"sent": 0, "failed": len(NUMBERS)}, listed
    headers = {
        kind: (page.locator(f"#routes th[data-count={kind}]").text_content() or "").strip()
        for kind in ("sent", "failed")
    }
    assert headers == {"sent": tr("Sent"), "failed": tr("Failed")}, headers
    window = page.locator("#count-window").inner_text().strip()
    assert_fits(page)

    row.locator(f"a[href$='/operator/routes/{ROUTE}/edit']").click()
    page.wait_for_url(re.compile(rf".*/operator/routes/{ROUTE}/edit$"))
    expect(page.locator("#route-state .badge").first).to_have_text(tr("Failing"))
    expect(page.locator("#route-state .badge.ok")).to_have_count(0)
    for kind in ("sent", "failed"):
        card = page.locator(f"[data-count={kind}]")
        assert (card.locator(".label").text_content() or "").strip() == headers[kind]
        assert number(card.locator(".value").inner_text()) == listed[kind]
    assert page.locator("#count-window").inner_text().strip() == window
    if language == "fa":
        assert latin_words(page) <= ALLOWED_LATIN, latin_words(page) - ALLOWED_LATIN
    assert_fits(page)
    context.close()
