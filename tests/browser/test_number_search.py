"""
Digits typed into the message log's search box are a number, never a message id, in a real
browser, on a laptop and a phone, in Persian and English, for the account's log and the
operator's search: "0912" (the box's own example) finds the messages to numbers holding 912
in national form, however the number was written when sent, and not message 912 (sent to a
0991 number); "#912" finds message 912.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from quickotp.bootstrap import PANEL_ZONE
from quickotp.panel.i18n import Translator
from tests.browser.conftest import OPERATOR, sign_in, with_operator
from tests.browser.operations import (
    PASSWORD,
    VIEWS,
    Ready,
    assert_fits,
    assert_language,
    open_view,
    ready_account,
)
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow
NOT_912 = 912  # the message id the search must not return: sent to a 0991 number
NOT_912_TO = "989914000911"  # the number it went to
# The same number written three ways when sent, and another number with 912 inside.
MATCHING = ["09120000000", "+989120000000", "9120000000", "09359120000"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway whose fraud guard lets one account send a thousand codes in seconds."""
    guard_off = {
        f"QUICKOTP_GUARD_{name}": "0"
        for name in (
            "COOLDOWN_SECONDS",
            "IDEMPOTENCY_SECONDS",
            "PER_NUMBER_HOUR",
            "PER_NUMBER_DAY",
            "ACCOUNT_RATE",
            "TOKEN_RATE",
            "IP_RATE",
        )
    }
    server = Gateway(
        tmp_path_factory.mktemp("number-search"),
        extra_env={
            "QUICKOTP_OPEN_SIGNUP": "1",
            "QUICKOTP_TOKEN_CACHE_SECONDS": "0",
            "QUICKOTP_GUARD_PUMPING": "off",
            **guard_off,
        },
    )
    yield from with_operator(server)


@pytest.fixture(scope="module")
def shop(chromium: Browser, gateway: Gateway) -> tuple[Ready, list[int]]:
    """Messages 1 to 912 to 0991 numbers without 912 in them, then MATCHING; their ids."""
    ready = ready_account(chromium, gateway, "owner@numbers.test", "Number Shop", [])
    numbers = (f"09914{n:06d}" for n in range(10**6))
    fillers = [number for number in numbers if "912" not in number[1:]][:NOT_912]
    ids = []
    with httpx.Client(base_url=gateway.url, headers={"Authorization": ready.token}) as client:
        for number in [*fillers, *MATCHING]:  # bounded: 916 sends
            answer = client.post(
                "/rest/SendQuickOTP",
                data={"Mobile": number, "CodeLength": "5", "OptionalCode": ""},
                timeout=10,
            ).json()
            assert answer["Status"] == "Success", answer
            ids.append(int(answer["Data"]["MessageID"]))
    assert ids[NOT_912 - 1] == NOT_912
    assert fillers[-1] == "0" + NOT_912_TO[2:]
    return ready, ids[NOT_912:]


def _search(page: Page, typed: str) -> None:
    page.fill("#q", typed)
    page.click("#log-filters button[type=submit]")


def _finds_numbers_not_the_id(page: Page, tr: Translator, path: str, matching: list[int]) -> None:
    for typed in ("0912", "۰۹۱۲"):
        _search(page, typed)
        expect(page.locator("#log-count")).to_have_text(tr("{n} messages match.", n=len(matching)))
        for message_id in matching:
            expect(page.locator(f"#log a[href$='{path}/{message_id}']")).to_have_count(1)
        expect(page.locator(f"#log a[href$='{path}/{NOT_912}']")).to_have_count(0)
        assert_fits(page)
    _search(page, "#912")
    expect(page.locator("#log-count")).to_have_text(tr("1 message matches."))
    expect(page.locator(f"#log a[href$='{path}/{NOT_912}']")).to_have_count(1)
    expect(page.locator("#log tbody")).to_contain_text(tr.digits(f"+{NOT_912_TO}"))


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_accounts_log_reads_digits_as_a_number(
    chromium: Browser,
    gateway: Gateway,
    shop: tuple[Ready, list[int]],
    width: int,
    height: int,
    language: str,
) -> None:
    ready, matching = shop
    tr = Translator(language, PANEL_ZONE)
    context, page = open_view(chromium, width, height, language)
    sign_in(page, gateway.url, ready.email, PASSWORD, language)
    page.goto(f"{gateway.url}/panel/messages")
    assert_language(page, language)

    _finds_numbers_not_the_id(page, tr, "/panel/messages", matching)
    context.close()


@pytest.mark.parametrize(("width", "height", "language"), VIEWS)
def test_the_operators_search_reads_digits_as_a_number(
    chromium: Browser,
    gateway: Gateway,
    shop: tuple[Ready, list[int]],
    width: int,
    height: int,
    language: str,
) -> None:
    _, matching = shop
    tr = Translator(language, PANEL_ZONE)
    context, page = open_view(chromium, width, height, language)
    sign_in(page, gateway.url, *OPERATOR, language)
    page.goto(f"{gateway.url}/panel/operator/messages")
    assert_language(page, language)

    _finds_numbers_not_the_id(page, tr, "/panel/operator/messages", matching)
    context.close()
