"""
What the panel says when something is refused or fails, in a real browser, on a laptop and
a phone, in Persian and English: a sentence in the person's language and terms, never an
English detail, a class name or a route's own words in front of an account's user.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.domain.alerts import MAX_THRESHOLD
from quickotp.panel.i18n import Translator
from tests.browser.conftest import panel_gateway, require_chromium, shot, with_operator
from tests.browser.operations import VIEWS, Ready, assert_fits, ready_account, signed_in_view
from tests.e2e.server import Gateway, free_port

pytestmark = pytest.mark.slow

# Two or more Latin letters in a row: an English word (digits, "#" and "%code%" aside).
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
INTERNALS = ("TransportUnavailable", "every route failed", "Error:", "Traceback")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway whose one route leads to a closed port on 127.0.0.1: every send fails."""
    require_chromium()
    server = panel_gateway(tmp_path_factory.mktemp("panel"))
    assert server.cli("migrate").returncode == 0
    added = server.cli(
        "routes",
        "add",
        "nowhere",
        "--url",
        f"amoot://a-token@127.0.0.1:{free_port()}?scheme=http&timeout=2&reports=0",
    )
    assert added.returncode == 0, added.stderr
    yield from with_operator(server)


@pytest.fixture(scope="module")
def ready(chromium: Browser, gateway: Gateway) -> Ready:
    return ready_account(chromium, gateway, "owner@errors.test", "Error Shop", [])


def no_english(page: Page, selector: str) -> str:
    """The text of `selector`, asserted free of English words and of the gateway's internals."""
    text = page.locator(selector).inner_text()
    assert not any(internal in text for internal in INTERNALS), text
    assert LATIN_WORD.findall(text) == [], text
    return text


def assert_error_reads(page: Page, language: str, sentence: str) -> None:
    """The page's error is `sentence`; in Persian, with no English word beside it."""
    if language == "fa":
        no_english(page, ".alert.error")
    expect(page.locator(".alert.error")).to_have_text(sentence)


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_a_test_send_no_route_can_take_is_said_plainly(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    """
    The quick start's test code, through a route that cannot be reached: the message's page
    says it is tried again, in the person's language, and never names the transport's error.
    """
    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)
    page.goto(f"{gateway.url}/panel/quick-start")
    number = {"1366-en": "1", "1366-fa": "2", "390-en": "3", "390-fa": "4"}
    page.fill("#mobile", "0912 000 004" + number[f"{width}-{language}"])
    page.click("#test-send button[type=submit]")
    page.click("#test-sent a")

    attempts = page.locator(".timeline li.wait .hint")
    for _ in range(40):  # the dispatcher's first attempt fails within a second or two
        if attempts.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    history = page.locator(".timeline").inner_text()
    assert not any(internal in history for internal in INTERNALS), history
    assert "own words" not in page.content()
    if language == "fa":
        no_english(page, ".timeline")
    expect(page.locator("#send-failure")).to_have_text(
        tr("The last attempt did not reach the SMS operator: the message is tried again.")
    )
    assert_fits(page)
    shot(page, f"error-language-send-{width}-{language}")
    context.close()


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_a_rejected_form_input_is_a_sentence_in_the_page_language(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    """A threshold that is no number and a token network that is no network: said, not echoed."""
    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)

    page.goto(f"{gateway.url}/panel/alerts")
    page.fill("#threshold", "lots")
    page.click("#alert-form button[type=submit]")
    assert_error_reads(
        page,
        language,
        tr("The threshold is a whole number of rial, from 1 to {high}.", high=MAX_THRESHOLD),
    )
    assert_fits(page)

    page.goto(f"{gateway.url}/panel/tokens")
    page.fill("#allowed_ips", "the office")
    page.click("form[action$='/tokens'] button[type=submit]")
    assert "the office" not in page.locator(".alert.error").inner_text()
    assert_error_reads(
        page, language, tr("An allowed network is an IP address, or a network as in 10.0.0.0/8.")
    )
    assert_fits(page)
    shot(page, f"error-language-form-{width}-{language}")
    context.close()
