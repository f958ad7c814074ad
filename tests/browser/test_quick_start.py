"""
The quick-start page in a real browser, on a laptop and a phone, in Persian and English: the
checklist, this gateway's address in every snippet, a test code sent to the person's number;
and the snippets as the page shows them, run against the gateway, answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from quickotp.panel.snippets import SAMPLE_NUMBER
from tests.browser.conftest import shot
from tests.browser.operations import (
    VIEWS,
    Ready,
    assert_fits,
    assert_language,
    ready_account,
    signed_in_view,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ready(chromium: Browser, gateway: Gateway) -> Ready:
    return ready_account(chromium, gateway, "owner@quick.test", "Quick Shop", [])


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_quick_start_page_sends_a_test_code(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)

    page.goto(f"{gateway.url}/panel/quick-start")

    assert_language(page, language)
    expect(page.locator("h1")).to_have_text(tr("Quick start"))
    expect(page.locator("#readiness .badge.ok")).to_have_count(3)
    expect(page.locator("#base-url")).to_have_text(gateway.url)
    expect(page.locator(".snippets details")).to_have_count(4)
    page.click(".snippets details[data-language=Python] summary")
    python = page.locator(".snippets details[data-language=Python] pre").first
    expect(python).to_be_visible()
    expect(python).to_contain_text(f'"{gateway.url}/rest/SendQuickOTP"')
    assert_fits(page)
    number = {"1366-en": "1", "1366-fa": "2", "390-en": "3", "390-fa": "4"}
    page.fill("#mobile", "۰۹۱۲ ۰۰۰ ۰۰۲" + number[f"{width}-{language}"])
    page.click("#test-send button[type=submit]")
    expect(page.locator("#test-sent")).to_be_visible()
    expect(page.locator("#test-sent")).to_contain_text(tr("See the message"))
    assert_fits(page)
    shot(page, f"quick-start-{width}-{language}")
    page.click("#test-sent a")
    expect(page.locator("body")).to_contain_text(tr("Accepted"))
    context.close()


def test_the_page_refuses_a_number_it_cannot_send_to(
    chromium: Browser, gateway: Gateway, ready: Ready
) -> None:
    context, page = signed_in_view(chromium, gateway, ready.email, 390, 844, "fa")
    page.goto(f"{gateway.url}/panel/quick-start")

    page.fill("#mobile", "12345")
    page.click("#test-send button[type=submit]")

    expect(page.locator(".alert.error")).to_have_text(
        Translator("fa", PANEL_ZONE)("That is not a mobile number the gateway sends to.")
    )
    assert_fits(page)
    context.close()


def _snippets(chromium: Browser, gateway: Gateway, ready: Ready) -> dict[str, list[str]]:
    """Each language's two blocks of code, as the page shows them."""
    context, page = signed_in_view(chromium, gateway, ready.email, 1366, 860, "en")
    page.goto(f"{gateway.url}/panel/quick-start")
    found = {}
    for details in page.locator(".snippets details").all():
        language = details.get_attribute("data-language") or ""
        found[language] = [block.text_content() or "" for block in details.locator("pre").all()]
    context.close()
    return found


def test_the_snippets_as_shown_answer_from_this_gateway(
    chromium: Browser, gateway: Gateway, ready: Ready, tmp_path: Path
) -> None:
    """
    curl, Python and (where PHP is installed) PHP, copied off the page with the token put
    in: SendQuickOTP answers Success, and VerifyQuickOTP reaches the verification it made
    (the sample code is not the one sent: Code_Invalid).
    """
    shown = _snippets(chromium, gateway, ready)
    runners = {"curl": ["sh", "-c"], "Python": [sys.executable, "-c"], "PHP": ["php"]}
    numbers = {"curl": "09120000031", "Python": "09120000032", "PHP": "09120000033"}

    def run(language: str, code: str) -> str:
        """The code with the token and a number of its own put in; what it printed."""
        code = code.replace("YOUR_TOKEN", ready.token).replace(SAMPLE_NUMBER, numbers[language])
        argv = runners[language]
        if language == "PHP":
            script = tmp_path / "call.php"
            script.write_text(code)
            argv = [*argv, str(script)]
        else:
            argv = [*argv, code]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    curl_send, curl_verify = shown["curl"]
    python_send, python_verify = shown["Python"]

    assert json.loads(run("curl", curl_send))["Status"] == "Success"
    assert json.loads(run("curl", curl_verify))["Status"] == "Code_Invalid"
    assert run("Python", python_send) == "Success"
    assert run("Python", python_verify) == "Code_Invalid"
    assert "C#" in shown
    if shutil.which("php") is None:
        pytest.skip("php is not installed: the PHP snippet was not run")
    php_send, php_verify = shown["PHP"]
    assert run("PHP", php_send) == "Success"
    assert run("PHP", php_verify) == "Code_Invalid"
