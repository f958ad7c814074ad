"""
The operator's credit form in a real browser: credit is never taken below zero unless the
account is allowed an overdraft, and then not past it; a large change is a second step that
shows the balance it leaves before it is made; each change shows the ledger line it wrote.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import OPERATOR, new_page, sign_in
from tests.browser.journeys import open_shop
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


def change_credit(page: Page, amount: str, reason: str) -> None:
    page.fill("#amount", amount)
    page.fill("#reason", reason)
    page.click("form[action$='/credit'] button[type=submit]")


def balance(page: Page) -> str:
    return page.locator(".stat.accent .value").inner_text().strip()


def test_credit_stays_above_zero_past_the_overdraft_and_large_changes_are_confirmed(
    chromium: Browser, gateway: Gateway
) -> None:
    base = gateway.url
    shop = open_shop(chromium, gateway, "ledger")  # 50,000 rial, 1,000 spent on one code
    context, page = new_page(chromium)
    sign_in(page, base, *OPERATOR)
    account = f"{base}/panel/operator/accounts/{shop.account_id}"
    page.goto(account)
    assert balance(page) == "49,000"

    change_credit(page, "-100000", "write-off")  # below zero, no overdraft: refused
    expect(page.locator(".alert.error")).to_contain_text("below zero")
    expect(page.locator("#amount")).to_have_value("-100000")  # what was typed stays
    page.goto(account)
    assert balance(page) == "49,000"

    page.fill("#overdraft", "60000")  # allowed 60,000 below zero
    page.click("form[action$='/overdraft'] button[type=submit]")
    expect(page.locator(".alert.success")).to_contain_text("Account changed")
    expect(page.locator("#overdraft")).to_have_value("60000")
    change_credit(page, "-110000", "too far")  # 61,000 below: past the overdraft
    expect(page.locator(".alert.error")).to_contain_text("below zero")
    page.goto(account)
    change_credit(page, "-100000", "write-off")  # 51,000 below: within it
    expect(page.locator(".alert.success")).to_contain_text("Credit changed")
    assert balance(page) == "-51,000"
    line = page.locator("#new-credit-line")  # the ledger line the change wrote
    expect(line).to_contain_text("write-off")
    expect(line).to_contain_text("-100,000")
    expect(line).to_contain_text("Balance now: -51,000")
    expect(page.locator("tr.fresh")).to_contain_text("write-off")

    change_credit(page, "50000000", "yearly contract")  # large: a second step first
    step = page.locator("form.confirm-step")
    expect(step).to_contain_text("+50,000,000")
    expect(step).to_contain_text("49,949,000")  # the balance it would leave
    page.goto(account)
    assert balance(page) == "-51,000"  # nothing changed yet
    change_credit(page, "50000000", "yearly contract")
    page.check("form.confirm-step input[name=confirmed]")
    page.click("form.confirm-step button[type=submit]")
    expect(page.locator(".alert.success")).to_contain_text("Credit changed")
    assert balance(page) == "49,949,000"
    expect(page.locator("#new-credit-line")).to_contain_text("+50,000,000")
    assert re.search(r"credit_line=\d+$", page.url)
    context.close()
