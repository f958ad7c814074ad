"""
The panel in a real browser: Debian's headless Chromium, driven by Playwright, against a
real `quickotp serve` process on 127.0.0.1 with a temporary SQLite file.

Skipped (with the reason) where /usr/bin/chromium is missing, except in CI
(QUICKOTP_REQUIRE_SERVICES=1), where that fails: `.ci/install-browser` installs it.
Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import REQUIRE_SERVICES
from tests.e2e.server import Gateway

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
OPERATOR = ("ops@gateway.test", "operator password 1")
STEP_MS = 10_000  # no single browser step may take longer


def browser_missing(reason: str) -> None:
    """Skip for want of the browser; in CI (QUICKOTP_REQUIRE_SERVICES=1) fail instead."""
    message = f"{reason}; `.ci/install-browser` installs Debian's chromium"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A migrated gateway with open sign-up and one operator (made with the CLI), serving."""
    if not CHROMIUM.exists():
        browser_missing(f"{CHROMIUM} is not installed")
    server = Gateway(
        tmp_path_factory.mktemp("panel"),
        extra_env={"QUICKOTP_OPEN_SIGNUP": "1", "QUICKOTP_TOKEN_CACHE_SECONDS": "0"},
    )
    yield from with_operator(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile (Playwright makes one per launch)."""
    if not CHROMIUM.exists():
        browser_missing(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium: Browser, language: str = "en") -> tuple[BrowserContext, Page]:
    """A fresh browser profile (no cookies) whose user prefers `language`."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 860},
        locale="fa-IR" if language == "fa" else "en-US",
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    return context, context.new_page()


def sign_up(page: Page, base: str, email: str, account: str, password: str) -> None:
    page.goto(f"{base}/panel/sign-up")
    page.fill("#account_name", account)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action$='/sign-up'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/panel/dashboard$"))


def sign_in(page: Page, base: str, email: str, password: str, language: str = "en") -> None:
    """Sign in, then switch to `language` if the user's saved one differs."""
    page.goto(f"{base}/panel/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action*='/sign-in'] button[type=submit]")
    page.wait_for_load_state()
    if page.locator("html").get_attribute("lang") != language:
        page.click(f"button[name=language][value={language}]")
        page.wait_for_load_state()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/ (git-ignored), for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def with_operator(server: Gateway) -> Iterator[Gateway]:
    """`server` migrated, with the panel's operator (OPERATOR), running; stopped after."""
    assert server.cli("migrate").returncode == 0
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "quickotp",
            "operators",
            "create",
            "--email",
            OPERATOR[0],
            "--password-stdin",
        ],
        input=OPERATOR[1] + "\n",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    server.start()
    try:
        yield server
    finally:
        server.stop()
