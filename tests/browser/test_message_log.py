"""
An account's message log in a real browser, on a laptop and a phone, in Persian and
English: the count, a number written with Persian digits, a Jalali (or Gregorian) day, the
token and state filters, and the CSV download with the same filters.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import jdatetime
import pytest
from playwright.sync_api import Browser, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
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
NUMBERS = [f"0912000{n:04d}" for n in range(1, 7)]


@pytest.fixture(scope="module")
def ready(chromium: Browser, gateway: Gateway) -> Ready:
    return ready_account(chromium, gateway, "owner@log.test", "Log Shop", NUMBERS)


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_log_filters_counts_and_downloads(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    tr = Translator(language, PANEL_ZONE)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)

    page.goto(f"{gateway.url}/panel/messages")
    assert_language(page, language)
    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=6))
    expect(page.locator("#log tbody tr")).to_have_count(6)
    assert_fits(page)
    shot(page, f"message-log-{width}-{language}")

    page.fill("#q", "۰۹۱۲ ۰۰۰ ۰۰۰۳")  # Persian digits, spaces: that one number
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("1 message matches."))
    expect(page.locator("#log tbody tr")).to_contain_text(tr.digits("989120000003"))

    page.fill("#q", "")
    today = datetime.now(PANEL_ZONE).date()
    if language == "fa":  # a text field that takes the Jalali day
        page.fill("#since", jdatetime.date.fromgregorian(date=today).strftime("%Y/%m/%d"))
    else:
        page.fill("#since", today.isoformat())
    page.select_option("#token", index=1)  # the account's one token
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=6))

    page.select_option("#status", "failed")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=0))
    page.select_option("#status", "")
    page.fill("#q", "09120000005")
    page.click("#log-filters button[type=submit]")
    assert_fits(page)

    with page.expect_download() as waiting:
        page.click("#export-csv")
    download = waiting.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["id", "accepted_at", "number"]
    assert [row[2] for row in rows[1:]] == ["989120000005"]
    assert download.suggested_filename.startswith("messages-")
    context.close()


def test_a_wrong_day_is_said_on_the_page(chromium: Browser, gateway: Gateway, ready: Ready) -> None:
    context, page = signed_in_view(chromium, gateway, ready.email, 390, 844, "fa")
    page.goto(f"{gateway.url}/panel/messages")

    page.fill("#since", "۱۴۰۳/۱۳/۴۰")
    page.click("#log-filters button[type=submit]")

    expect(page.locator(".alert.error")).to_be_visible()
    expect(page.locator("#log tbody tr")).to_have_count(6)  # the log unfiltered beneath it
    context.close()
