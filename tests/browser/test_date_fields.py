"""
Date fields in a real browser, on a laptop and a phone, in Persian and English: the message
log filtered by a range of days (typed as Jalali days in Persian, with the Gregorian day
shown beside each as it is typed), and a token's last day typed in Jalali, which stays the
same day however often the token is saved.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta

import jdatetime
import pytest
from playwright.sync_api import Browser, Page, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import shot, sign_up
from tests.browser.operations import (
    PASSWORD,
    VIEWS,
    Ready,
    assert_fits,
    assert_language,
    open_view,
    ready_account,
    signed_in_view,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
NUMBERS = [f"0913000{n:04d}" for n in range(1, 5)]
DAYS_AGO = [20, 10, 5, 0]  # when each of NUMBERS' messages was sent


def today() -> date:
    return datetime.now(PANEL_ZONE).date()


def jalali(day: date, *, dash: bool = False) -> str:
    return str(jdatetime.date.fromgregorian(date=day).strftime("%Y-%m-%d" if dash else "%Y/%m/%d"))


@pytest.fixture(scope="module")
def ready(chromium: Browser, gateway: Gateway) -> Ready:
    """An account whose four messages were sent 20, 10 and 5 days ago, and today (at noon)."""
    made = ready_account(chromium, gateway, "owner@days.test", "Days Shop", NUMBERS)
    with sqlite3.connect(gateway.root / "quickotp.db") as db:
        for message_id, ago in zip(made.message_ids, DAYS_AGO, strict=True):
            noon = datetime.combine(today() - timedelta(days=ago), time(12), PANEL_ZONE)
            stored = noon.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            db.execute("UPDATE messages SET created_at = ? WHERE id = ?", (stored, message_id))
    return made


def gregorian_beside(page: Page, field: str, day: date | None, tr: Translator) -> None:
    beside = page.locator(f"#{field}-gregorian")
    if day is None:
        expect(beside).to_be_hidden()
    else:
        expect(beside).to_be_visible()
        expect(beside.locator("[data-day]")).to_have_text(tr.digits(day.isoformat()))


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_log_is_filtered_by_a_range_of_days(
    chromium: Browser, gateway: Gateway, ready: Ready, width: int, height: int, language: str
) -> None:
    tr = Translator(language, PANEL_ZONE)
    since, until = today() - timedelta(days=12), today() - timedelta(days=4)
    context, page = signed_in_view(chromium, gateway, ready.email, width, height, language)
    page.goto(f"{gateway.url}/panel/messages")
    assert_language(page, language)
    expect(page.locator("#log tbody tr")).to_have_count(4)

    if language == "fa":  # Jalali days, in Persian digits and Latin, with either separator
        expect(page.locator("#since")).to_have_attribute("type", "text")
        gregorian_beside(page, "since", None, tr)
        page.locator("#since").press_sequentially(tr.digits(jalali(since, dash=True)))
        gregorian_beside(page, "since", since, tr)
        page.fill("#until", jalali(until))
        gregorian_beside(page, "until", until, tr)
    else:
        expect(page.locator("#since")).to_have_attribute("type", "date")
        page.fill("#since", since.isoformat())
        page.fill("#until", until.isoformat())
    assert_fits(page)
    page.click("#log-filters button[type=submit]")

    expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=2))
    rows = page.locator("#log tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(tr.digits("989130000003"))  # 5 days ago
    expect(rows.nth(1)).to_contain_text(tr.digits("989130000002"))  # 10 days ago
    # the fields show the days searched, in the page's calendar (and digits)
    expect(page.locator("#since")).to_have_value(tr.field_day(since))
    expect(page.locator("#until")).to_have_value(tr.field_day(until))
    if language == "fa":
        gregorian_beside(page, "since", since, tr)
    shot(page, f"date-fields-log-{width}-{language}")

    page.goto(f"{gateway.url}/panel/messages?until={jalali(today() - timedelta(days=15))}")
    expect(page.locator("#log tbody tr")).to_have_count(1)  # a Jalali day in either language
    expect(page.locator("#log tbody tr")).to_contain_text(tr.digits("989130000001"))
    assert_fits(page)
    context.close()


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_a_tokens_last_day_typed_in_jalali_stays_the_same_day(
    chromium: Browser, gateway: Gateway, width: int, height: int, language: str
) -> None:
    tr = Translator(language, PANEL_ZONE)
    last_day = today() + timedelta(days=10)
    context, page = open_view(chromium, width, height, language)
    sign_up(
        page,
        gateway.url,
        f"owner-{width}-{language}@expiry-days.test",
        f"Day Shop {width} {language}",
        PASSWORD,
    )
    if page.locator("html").get_attribute("lang") != language:
        page.click(f"button[name=language][value={language}]")
        page.wait_for_load_state()
    page.goto(f"{gateway.url}/panel/tokens")
    page.fill("#label", "expiring")
    if language == "fa":
        page.locator("#expires_on").press_sequentially(tr.digits(jalali(last_day, dash=True)))
        gregorian_beside(page, "expires_on", last_day, tr)
    else:
        page.fill("#expires_on", last_day.isoformat())
    page.click("form[action$='/tokens'] button[type=submit]")
    expect(page.locator("#new-token")).to_be_visible()

    row = page.locator("tr[id^=token-]", has_text="expiring")
    listed = tr.digits(jalali(last_day) if language == "fa" else last_day.isoformat())
    expect(row).to_contain_text(listed)
    for _ in range(2):  # each save leaves the day as it is
        row.locator("a[href*='/tokens/']").first.click()
        expect(page.locator("#expires_on")).to_have_value(tr.field_day(last_day))
        if language == "fa":
            gregorian_beside(page, "expires_on", last_day, tr)
        assert_fits(page)
        shot(page, f"date-fields-token-{width}-{language}")
        page.click("form[action*='/tokens/'] button[type=submit]")
        expect(page.locator(".alert.success")).to_have_text(tr("Token saved."))
    expect(row).to_contain_text(listed)
    context.close()


def test_the_gregorian_day_beside_follows_the_jalali_calendar(
    chromium: Browser, gateway: Gateway
) -> None:
    """The browser's Persian calendar and the server's agree, leap days included."""
    tr = Translator("fa", PANEL_ZONE)
    context, page = open_view(chromium, 390, 844, "fa")
    sign_up(page, gateway.url, "owner@leap-days.test", "Leap Shop", PASSWORD)
    page.goto(f"{gateway.url}/panel/tokens")
    days = [
        "1399/12/30",
        "۱۴۰۳/۱۲/۳۰",
        "1404/12/29",
        "۱۴۰۵-۱-۱",
        "1405/06/31",
        "1405/07/01",
        "1408/12/30",
        "1420/11/30",
    ]
    for typed in days:
        page.fill("#expires_on", typed)
        year, month, day = (
            int(part) for part in tr.digits(typed).translate(_LATIN).replace("-", "/").split("/")
        )
        gregorian_beside(page, "expires_on", jdatetime.date(year, month, day).togregorian(), tr)
    for wrong in ("1404/12/30", "1405/07/31", "1405/13/01", "1405/09", "abc"):
        page.fill("#expires_on", wrong)
        gregorian_beside(page, "expires_on", None, tr)
    context.close()


_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
