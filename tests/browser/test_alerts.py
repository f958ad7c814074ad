"""
The low-credit alert in a real browser, at a laptop's and a phone's width, in English and
Persian: a user sets a threshold above the balance, the dashboard warns, and the gateway
(a real `quickotp serve`) posts one signed credit.low event to the account's webhook, a
real HTTP receiver on 127.0.0.1; the operator sets another account's threshold.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    STEP_MS,
    panel_gateway,
    require_chromium,
    shot,
    with_operator,
)
from tests.browser.journeys import open_account
from tests.browser.viewports import SIZES, laid_out, user_and_operator
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@dataclass
class Receiver:
    """An account's webhook endpoint on 127.0.0.1, in a thread: keeps each POST it gets."""

    url: str = ""
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events_for(self, account_id: int) -> list[tuple[dict[str, str], dict[str, object]]]:
        with self.lock:
            found = [(h, json.loads(b)) for h, b in self.got]
        return [(h, e) for h, e in found if e.get("AccountID") == account_id]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    made = Receiver()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with made.lock:
                made.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    made.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield made
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """As tests/browser/conftest.py's, with webhook URLs on 127.0.0.1 allowed (the receiver's)."""
    require_chromium()
    server = panel_gateway(tmp_path_factory.mktemp("alerts"), QUICKOTP_WEBHOOK_PRIVATE_URLS="1")
    yield from with_operator(server)


def account_id_of(operator: Page, base: str, account: str) -> int:
    """Open `account`'s operator page; its id."""
    open_account(operator, base, account)
    found = re.search(r"/operator/accounts/(\d+)$", operator.url)
    assert found is not None, operator.url
    return int(found.group(1))


@pytest.mark.parametrize(("language", "width"), SIZES)
def test_a_low_balance_warns_and_posts_one_signed_event(
    chromium: Browser, gateway: Gateway, receiver: Receiver, language: str, width: int
) -> None:
    """Threshold above the balance → the dashboard warns and one credit.low event arrives."""
    base = gateway.url
    tag = f"{language}{width}"
    account = f"Alert {tag}"
    email = f"alert-{tag}@people.test"
    with user_and_operator(chromium, base, language, width, email, account) as (user, operator):
        account_id = account_id_of(operator, base, account)
        operator.fill("#amount", "50000")
        operator.click("form[action$='/credit'] button[type=submit]")
        expect(operator.locator(".alert.success")).to_be_visible()

        user.goto(f"{base}/panel/credit")
        user.fill("#url", receiver.url)
        user.click("form[action$='/credit/webhook'] button[type=submit]")
        expect(user.locator(".alert.success")).to_be_visible()
        user.click("a[href='/panel/alerts']")
        user.fill("#threshold", "80000")
        user.click("#alert-form button[type=submit]")
        expect(user.locator(".alert.success")).to_be_visible()
        expect(user.locator("#low-credit")).to_be_visible()
        user.goto(f"{base}/panel/dashboard")
        expect(user.locator("#low-credit")).to_be_visible()
        laid_out(user, language)
        shot(user, f"alerts-{tag}-dashboard")

        deadline = time.monotonic() + STEP_MS / 1000
        while not receiver.events_for(account_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        [(headers, event)] = receiver.events_for(account_id)
        assert headers["x-quickotp-event"] == "credit.low"
        assert headers["x-quickotp-signature"].startswith("sha256=")
        assert (event["Credit"], event["Threshold"]) == (50_000, 80_000)

        user.goto(f"{base}/panel/alerts")
        expect(user.locator("#alert-events tbody tr")).to_have_count(1)
        laid_out(user, language)
        shot(user, f"alerts-{tag}-alert-page")

        operator.goto(f"{base}/panel/operator/accounts/{account_id}")
        operator.click(f"a[href='/panel/operator/accounts/{account_id}/alert']")
        operator.fill("#threshold", "10000")
        operator.click("#alert-form button[type=submit]")
        expect(operator.locator(".alert.success")).to_be_visible()
        expect(operator.locator("#low-credit")).to_have_count(0)
        laid_out(operator, language)
        shot(operator, f"alerts-{tag}-operator")
        user.goto(f"{base}/panel/dashboard")
        expect(user.locator("#low-credit")).to_have_count(0)
        assert len(receiver.events_for(account_id)) == 1  # one crossing, one event
