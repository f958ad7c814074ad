"""
A code nobody verified in time is expired, on the dashboard and on its message's page, as
of now: not "waiting for the code" for ever, not "wrong codes it still accepts" after its
validity. The gateway here gives codes the shortest validity it allows (10 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from quickotp.services.workspace import FIGURES_SECONDS
from tests.browser.conftest import STEP_MS, new_page, sign_in
from tests.browser.journeys import PASSWORD, open_shop, send_quick_otp, serving, verify
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
TTL = 10  # seconds: QUICKOTP_OTP_TTL_SECONDS's least


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, chromium: Browser) -> Iterator[Gateway]:
    with serving(
        tmp_path_factory.mktemp("expiry"), {"QUICKOTP_OTP_TTL_SECONDS": str(TTL)}
    ) as server:
        yield server


TABLE = "details[data-for=chart-verifications]"  # the chart's table, folded once it draws


def verification_rows(page: Page, base: str) -> str:
    """The dashboard's verification table ("" while its figures have no verification yet)."""
    page.goto(f"{base}/panel/dashboard")
    table = page.locator(TABLE)
    return (table.text_content() or "") if table.count() else ""


def test_an_unverified_code_turns_expired_when_its_validity_ends(
    chromium: Browser, gateway: Gateway
) -> None:
    base = gateway.url
    shop = open_shop(chromium, gateway, "lapse")
    sent = send_quick_otp(gateway, shop.token, "9120000077")
    assert sent["Status"] == "Success", sent
    message_id = sent["Data"]["MessageID"]  # type: ignore[index]
    wrong = verify(gateway, shop.token, "9120000077", "00000")
    assert wrong["Status"] != "Success", wrong
    context, page = new_page(chromium)
    sign_in(page, base, shop.email, PASSWORD)
    page.goto(f"{base}/panel/messages/{message_id}")
    expect(page.locator(".timeline")).to_contain_text("Wrong codes it still accepts: 4")

    # Both codes of this account (open_shop's and this one) outlive their validity unused.
    # The dashboard's figures are counted at most once a minute (FIGURES_SECONDS).
    deadline = time.monotonic() + TTL + FIGURES_SECONDS + STEP_MS / 1000
    rows = verification_rows(page, base)
    while "Waiting for the code" in rows or "Expired" not in rows:
        assert time.monotonic() < deadline, rows
        time.sleep(1)
        rows = verification_rows(page, base)
    expect(page.locator(TABLE).locator("tr", has_text="Expired")).to_contain_text("2")

    page.goto(f"{base}/panel/messages/{message_id}")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Verification: Expired")
    expect(timeline).not_to_contain_text("Wrong codes it still accepts")
    context.close()
