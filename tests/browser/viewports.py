"""
The two widths the panel's pages are tried at in a browser (a laptop and a phone), in both
languages, and the checks every page must pass at each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import OPERATOR, STEP_MS, sign_in, sign_up
from tests.browser.journeys import PASSWORD

WIDTHS = {"wide": 1366, "phone": 390}
# Every (language, width) pair: pytest.mark.parametrize("language, width", SIZES)
SIZES = [(language, width) for language in ("en", "fa") for width in WIDTHS.values()]


def page_at(chromium: Browser, language: str, width: int) -> tuple[BrowserContext, Page]:
    """A fresh profile `width` pixels wide whose user prefers `language`."""
    context = chromium.new_context(
        viewport={"width": width, "height": 900},
        locale="fa-IR" if language == "fa" else "en-US",
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the panel's data-confirm prompts
    return context, page


@contextlib.contextmanager
def user_and_operator(
    chromium: Browser, base: str, language: str, width: int, email: str, account: str
) -> Iterator[tuple[Page, Page]]:
    """
    A user who has just signed up (`email`, PASSWORD, for `account`) and the operator, signed
    in, each in a fresh profile (`page_at`); both profiles closed after.
    """
    user_context, user = page_at(chromium, language, width)
    ops_context, operator = page_at(chromium, language, width)
    try:
        sign_up(user, base, email, account, PASSWORD)
        sign_in(operator, base, *OPERATOR, language)
        yield user, operator
    finally:
        user_context.close()
        ops_context.close()


def laid_out(page: Page, language: str) -> None:
    """The page is in `language`, in its direction, and nothing spills past the viewport."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "fa" else "ltr")
    spill = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert spill <= 1, f"{page.url} is {spill} px wider than the viewport"
