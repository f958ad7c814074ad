"""
The panel in a real browser: Debian's headless Chromium, driven by Playwright, against a
real `quickotp serve` process on 127.0.0.1 with a temporary SQLite file.

Skipped (with the reason) where /usr/bin/chromium is missing, except in CI
(QUICKOTP_REQUIRE_SERVICES=1), where that fails: `.ci/install-browser` installs it.
Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import REQUIRE_SERVICES
from tests.e2e.server import Gateway, free_port

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
SIMULATOR = Path(__file__).parents[1] / "adapters" / "transports" / "smpp" / "smsc_sim.py"
OPERATOR = ("ops@gateway.test", "operator password 1")
STEP_MS = 10_000  # no single browser step may take longer


def browser_missing(reason: str) -> None:
    """Skip for want of the browser; in CI (QUICKOTP_REQUIRE_SERVICES=1) fail instead."""
    message = f"{reason}; `.ci/install-browser` installs Debian's chromium"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def require_chromium() -> None:
    """Skip (in CI, fail) where Debian's chromium is not installed."""
    if not CHROMIUM.exists():
        browser_missing(f"{CHROMIUM} is not installed")


def panel_gateway(root: Path, **extra_env: str) -> Gateway:
    """
    A gateway (not yet migrated or started) as the panel's browser tests want it: open
    sign-up, tokens read afresh on every request, and `extra_env` on top.
    """
    return Gateway(
        root,
        extra_env={"QUICKOTP_OPEN_SIGNUP": "1", "QUICKOTP_TOKEN_CACHE_SECONDS": "0", **extra_env},
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A migrated gateway with open sign-up and one operator (made with the CLI), serving."""
    require_chromium()
    yield from with_operator(panel_gateway(tmp_path_factory.mktemp("panel")))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile (Playwright makes one per launch)."""
    require_chromium()
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


def send_sign_in_form(page: Page, email: str, password: str) -> None:
    """Type `email` and `password` into the sign-in form the page shows, and send it."""
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action*='/sign-in'] button[type=submit]")


def sign_in(page: Page, base: str, email: str, password: str, language: str = "en") -> None:
    """Sign in, then switch to `language` if the user's saved one differs."""
    page.goto(f"{base}/panel/sign-in")
    send_sign_in_form(page, email, password)
    page.wait_for_load_state()
    if page.locator("html").get_attribute("lang") != language:
        page.click(f"button[name=language][value={language}]")
        page.wait_for_load_state()


@contextlib.contextmanager
def signed_in_page(
    chromium: Browser, base: str, email: str, password: str, language: str = "en"
) -> Iterator[Page]:
    """A fresh profile (`new_page`) in which `email` is signed in, in `language`; closed after."""
    context, page = new_page(chromium, language)
    try:
        sign_in(page, base, email, password, language)
        yield page
    finally:
        context.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/ (git-ignored), for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def with_operator(server: Gateway) -> Iterator[Gateway]:
    """`server` migrated, with the panel's operator (OPERATOR), running; stopped after."""
    assert server.cli("migrate").returncode == 0
    server.create_operator(*OPERATOR)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def smsc_simulator(*options: str) -> Iterator[int]:
    """An SMSC simulator (smsc_sim.py with `options`) on 127.0.0.1; its port; killed after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SIMULATOR), "--port", str(port), *options],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"READY\n"
        yield port
    finally:
        process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
