"""
An account's Webhooks page in a real browser (Debian's Chromium) against a real `quickotp
serve` and a real receiver on 127.0.0.1, at 1366 px and 390 px, in English and Persian: the
account's report URLs in one list, a signed test event, a report the URL refused given up
on, and tried again once the URL takes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import STEP_MS, panel_gateway, require_chromium, shot, sign_up
from tests.browser.journeys import PASSWORD
from tests.browser.test_routes import fits, open_at
from tests.conftest import OTP_PATTERN
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@dataclass
class Receiver:
    """The account's server, in a thread: keeps each POST, answers `status`."""

    status: int = 204
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(headers, body) for at, headers, body in self.got if at == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with found.lock:
                found.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(found.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with open sign-up whose reports may go to 127.0.0.1, one attempt each."""
    require_chromium()
    server = panel_gateway(
        tmp_path_factory.mktemp("webhooks"),
        QUICKOTP_WEBHOOK_PRIVATE_URLS="1",
        QUICKOTP_WEBHOOK_ATTEMPTS="1",
    )
    assert server.cli("migrate").returncode == 0
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ready_to_send(gateway: Gateway, account: str) -> str:
    """The operator's part, on the command line: an approved OTP pattern, credit; a token."""
    [found] = [a for a in gateway.cli_json("accounts", "list") if a["name"] == account]
    ident = str(found["id"])
    pattern = gateway.cli_json(
        "patterns", "create", "--account", ident, "--text", OTP_PATTERN, "--otp"
    )
    gateway.cli_json("patterns", "approve", str(pattern["id"]))
    gateway.cli_json("credit", "add", "--account", ident, "--amount", "100000")
    token: str = gateway.cli_json("tokens", "create", "--account", ident)["token"]
    return token


def rest(gateway: Gateway, token: str, method: str, **form: str) -> dict[str, object]:
    answer = httpx.post(
        f"{gateway.url}/rest/{method}", headers={"Authorization": token}, data=form, timeout=10
    )
    body: dict[str, object] = answer.json()
    assert body["Status"] == "Success", body
    return body


def reload_until(page: Page, locator: str, text: str) -> None:
    """Reload until `locator` shows `text`: the report is delivered and posted in the background."""
    deadline = time.monotonic() + 3 * STEP_MS / 1000
    target = page.locator(locator)
    while time.monotonic() < deadline:
        if target.count() and text in target.inner_text():
            break
        time.sleep(0.2)
        page.reload()
    expect(target).to_contain_text(text)


@pytest.mark.parametrize(
    ("width", "language"), [(1366, "en"), (1366, "fa"), (390, "en"), (390, "fa")]
)
def test_one_list_a_test_event_and_a_report_tried_again(
    chromium: Browser,
    gateway: Gateway,
    receiver: tuple[Receiver, str],
    width: int,
    language: str,
) -> None:
    got, base = receiver
    persian = language == "fa"
    tag = f"{width}-{language}"
    context, page = open_at(chromium, width, language)
    sign_up(page, gateway.url, f"owner-{tag}@hooks.test", f"Hooks {tag}", PASSWORD)
    if page.locator("html").get_attribute("lang") != language:
        page.click(f"button[name=language][value={language}]")
        page.wait_for_load_state()
    token = ready_to_send(gateway, f"Hooks {tag}")
    api_path, panel_path = f"/api-{tag}", f"/panel-{tag}"
    relay = rest(gateway, token, "RelayMessageDeliveryCreate", URLAddress=base + api_path)
    page.goto(f"{gateway.url}/panel/credit")
    page.fill("#url", base + panel_path)
    page.click("form[action$='/credit/webhook'] button[type=submit]")

    page.goto(f"{gateway.url}/panel/webhooks")
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if persian else "ltr")
    rows = page.locator("#report-urls tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(base + api_path)
    expect(rows.nth(1)).to_contain_text(base + panel_path)
    fits(page, width)
    page.locator(f"#url-{relay['RelayMessageDeliveryID']} button").click()
    expect(page.locator("#test-result")).to_have_class(re.compile(r"\bsuccess\b"))
    expect(page.locator("#test-result")).to_contain_text(
        "رویداد آزمایشی را پذیرفت" if persian else "Your URL took the test event."
    )
    shot(page, f"webhooks-tested-{tag}")
    [(headers, body)] = got.posts(api_path)
    assert json.loads(body)["Event"] == "test"
    secret = page_secret(page, gateway)
    mac = hmac.new(
        secret.encode(), f"{headers['x-quickotp-timestamp']}.".encode() + body, hashlib.sha256
    )
    assert hmac.compare_digest(headers["x-quickotp-signature"], "sha256=" + mac.hexdigest())

    got.status = 500
    rest(gateway, token, "SendQuickOTP", Mobile="09120000001", CodeLength="5")
    page.goto(f"{gateway.url}/panel/webhooks")
    given_up = "رها شد" if persian else "given up"
    reload_until(page, "#report-posts tbody tr:first-child", given_up)
    expect(page.locator("#report-posts")).to_contain_text("HTTP 5xx")
    fits(page, width)
    shot(page, f"webhooks-given-up-{tag}")

    got.status = 204
    page.locator("#report-posts tbody tr:first-child form button").click()
    expect(page.locator(".alert.success")).to_contain_text(
        "دوباره بدهکار شد" if persian else "The report is owed again"
    )
    reload_until(
        page,
        "#report-posts tbody tr:first-child",
        "پذیرفته در سرور شما" if persian else "taken by the server",
    )
    shot(page, f"webhooks-retried-{tag}")
    context.close()


def page_secret(page: Page, gateway: Gateway) -> str:
    """The account's signing secret, as the Credit & webhook page shows it to its owner."""
    page.goto(f"{gateway.url}/panel/credit")
    page.click("details summary")
    return page.locator("#webhook-secret").inner_text().strip()
