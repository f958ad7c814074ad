"""
Mixed directions and accessibility in a real browser. Numbers, paths and codes read left to
right inside a Persian page (a minus sign stays on the left of its digits), text of unknown
direction (a Persian rejection reason in the English page) is isolated from what surrounds
it, every text stands out from its background by 4.5:1 at least, no table header is empty,
and the sign-in pages have a main landmark and a link that skips to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, FloatRect, Page, expect

from tests.browser.conftest import OPERATOR, new_page, sign_in, signed_in_page
from tests.browser.journeys import PASSWORD, Shop, write_pattern
from tests.browser.test_layout import Site, open_site, operator_pages, public_pages, user_pages
from tests.e2e.server import Gateway

# The module's fixture builds a site through the browser first (a minute or two).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# A Persian reason, ending in a digit and a full stop: the run that went out of order.
REASON = "متن باید نام برنامه را داشته باشد، نه ۲ تا."
# Persian numerals as the Persian page writes them (U+2212 minus, U+066C thousands mark).
MINUS_51000 = "\u2212۵۱\u066c۰۰۰"
MINUS_100000 = "\u2212۱۰۰\u066c۰۰۰"
Check = Callable[[Page], list[str]]


@dataclass(frozen=True)
class Ledger:
    """A shop 51,000 rial below zero (within its overdraft), and a rejected pattern."""

    site: Site
    rejected_id: int

    @property
    def shop(self) -> Shop:
        return self.site.shop


@pytest.fixture(scope="module")
def ledger(chromium: Browser, gateway: Gateway) -> Ledger:
    site = open_site(chromium, gateway, "bidi")
    shop = site.shop  # 49,000 rial left after one code
    base = gateway.url
    user_context, user = new_page(chromium)
    ops_context, operator = new_page(chromium)
    try:
        sign_in(user, base, shop.email, PASSWORD)
        rejected_id = write_pattern(user, base, "Bidi code %code%")
        sign_in(operator, base, *OPERATOR)
        operator.goto(f"{base}/panel/operator")
        operator.fill(f"#pattern-{rejected_id} input[name=reason]", REASON)
        operator.click(f"#pattern-{rejected_id} button.danger")
        expect(operator.locator(".alert.success")).to_be_visible()
        operator.goto(f"{base}/panel/operator/accounts/{shop.account_id}")
        operator.fill("#overdraft", "60000")
        operator.click("form[action$='/overdraft'] button[type=submit]")
        expect(operator.locator(".alert.success")).to_be_visible()
        operator.fill("#amount", "-100000")
        operator.fill("#reason", "write-off")
        operator.click("form[action$='/credit'] button[type=submit]")
        expect(operator.locator("#new-credit-line")).to_be_visible()
    finally:
        user_context.close()
        ops_context.close()
    return Ledger(site, rejected_id)


# The left edges, on the screen, of the characters of the first text node under `scope`
# that holds `run`: a run read left to right has them in rising order.
LEFTS = """([selector, run]) => {
    const scope = document.querySelector(selector);
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(run);
        if (at < 0) continue;
        const lefts = [];
        for (let i = at; i < at + run.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            lefts.push(range.getBoundingClientRect().left);
        }
        return {lefts, direction: getComputedStyle(node.parentElement).direction};
    }
    return null;
}"""


def assert_reads_left_to_right(page: Page, selector: str, run: str) -> None:
    found = page.evaluate(LEFTS, [selector, run])
    assert found is not None, f"{run!r} is not in {selector} of {page.url}"
    lefts = found["lefts"]
    drawn = (
        f"{run!r} in {selector} of {page.url} is drawn out of order "
        f"(direction {found['direction']}): the characters' left edges are {lefts}"
    )
    assert lefts == sorted(lefts), drawn
    assert len(set(lefts)) == len(lefts), drawn
    assert found["direction"] == "ltr", (selector, found)


def test_a_negative_amount_keeps_its_minus_on_the_left_in_persian(
    chromium: Browser, gateway: Gateway, ledger: Ledger
) -> None:
    base = gateway.url
    shop = ledger.shop
    with signed_in_page(chromium, base, *OPERATOR, "fa") as page:
        page.goto(f"{base}/panel/operator/accounts/{shop.account_id}")
        assert_reads_left_to_right(page, ".stat.accent .value", MINUS_51000)
        assert_reads_left_to_right(page, "tr.fresh, tr[id^=credit-line-]", MINUS_100000)
        page.goto(f"{base}/panel/operator/accounts")
        assert_reads_left_to_right(page, "table", MINUS_51000)
    with signed_in_page(chromium, base, shop.email, PASSWORD, "fa") as page:
        page.goto(f"{base}/panel/credit")
        assert_reads_left_to_right(page, ".stat.accent .value", MINUS_51000)
        assert_reads_left_to_right(page, "table", MINUS_100000)
        page.goto(f"{base}/panel/dashboard")
        assert_reads_left_to_right(page, ".grid.cols-4", MINUS_51000)


def test_an_api_path_reads_left_to_right_in_persian(
    chromium: Browser, gateway: Gateway, ledger: Ledger
) -> None:
    base = gateway.url
    with signed_in_page(chromium, base, ledger.shop.email, PASSWORD, "fa") as page:
        page.goto(f"{base}/panel/tokens")
        page.fill("#label", "bidi")
        page.click("form[action$='/tokens'] button[type=submit]")
        expect(page.locator("#new-token")).to_be_visible()
        assert_reads_left_to_right(page, "main", "/rest/SendQuickOTP")


ISOLATED = """([selector, run]) => {
    const scope = document.querySelector(selector);
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.data.includes(run)) continue;
        for (let e = node.parentElement; e && e !== scope.parentElement; e = e.parentElement) {
            if (e.tagName === "BDI" || (e.getAttribute("dir") || "").toLowerCase() === "auto") {
                return node.data.trim() === run.trim();
            }
        }
        return false;
    }
    return null;
}"""


def test_a_persian_rejection_reason_is_isolated_in_english(
    chromium: Browser, gateway: Gateway, ledger: Ledger
) -> None:
    with signed_in_page(chromium, gateway.url, ledger.shop.email, PASSWORD, "en") as page:
        page.goto(f"{gateway.url}/panel/patterns")
        row = f"#pattern-{ledger.rejected_id}"
        expect(page.locator(row)).to_contain_text("Reason")
        # The reason alone, in a <bdi> or an element of dir=auto: its own direction, and the
        # English around it keeps its order.
        assert page.evaluate(ISOLATED, [row, REASON]) is True


# WCAG 2 contrast: the relative luminance of the text's colour against the colour behind it
# (the nearest background that is not transparent, laid over those behind it). A gradient
# behind the text counts each of its colours.
CONTRAST = """(selector) => {
    const rgba = (text) => {
        const m = text.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const [r, g, b, a] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
        return [r, g, b, a === undefined ? 1 : a];
    };
    const over = (top, under) => [0, 1, 2].map(
        i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
    const luminance = (c) => {
        const [r, g, b] = c.slice(0, 3).map(v => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    const backgrounds = (element) => {
        const layers = [];
        for (let e = element; e; e = e.parentElement) {
            const style = getComputedStyle(e);
            const image = style.backgroundImage;
            if (image && image !== "none") {
                const own = rgba(style.backgroundColor);
                const white = [255, 255, 255, 1];
                const under = own && own[3] > 0 ? over(own, white) : white;
                const stops = [...image.matchAll(/rgba?\\([^)]+\\)/g)].map(m => rgba(m[0]));
                return stops.map(
                    stop => layers.reduceRight((c, l) => over(l, c), over(stop, under)));
            }
            const colour = rgba(style.backgroundColor);
            if (colour && colour[3] > 0) {
                layers.push(colour);
                if (colour[3] === 1) break;
            }
        }
        let behind = [255, 255, 255, 1];
        for (let i = layers.length - 1; i >= 0; i--) behind = over(layers[i], behind);
        return [behind];
    };
    const found = [];
    for (const element of document.querySelectorAll(selector)) {
        const own = [...element.childNodes].some(
            n => n.nodeType === Node.TEXT_NODE && n.data.trim());
        const box = element.getBoundingClientRect();
        const style = getComputedStyle(element);
        if (!own || box.width === 0 || style.visibility === "hidden") continue;
        if (element.closest("[disabled], .visually-hidden")) continue;
        let colour = rgba(style.color);
        for (const behind of backgrounds(element)) {
            const text = over(colour, behind);
            found.push({
                text: element.textContent.trim().slice(0, 40),
                tag: element.tagName.toLowerCase()
                    + (element.className ? "." + element.className : ""),
                ratio: Math.round(ratio(text, behind) * 100) / 100,
            });
        }
    }
    return found;
}"""


def contrasts(page: Page, selector: str = "body *") -> list[dict[str, object]]:
    found: list[dict[str, object]] = page.evaluate(CONTRAST, selector)
    return found


def test_the_period_switcher_reads_at_4_5_to_1_in_both_its_states(
    chromium: Browser, gateway: Gateway, ledger: Ledger
) -> None:
    with signed_in_page(chromium, gateway.url, ledger.shop.email, PASSWORD, "en") as page:
        page.goto(f"{gateway.url}/panel/dashboard")
        current = contrasts(page, ".periods a[aria-current]")
        other = contrasts(page, ".periods a:not([aria-current])")
        assert len(current) == 1, current
        assert len(other) == 2, other
        low = [found for found in current + other if float(str(found["ratio"])) < 4.5]
        assert not low, low


def on_every_page(
    chromium: Browser, gateway: Gateway, site: Site, language: str, check: Check
) -> list[str]:
    """`check` run on every page: the public ones, then each role's; what it found."""
    base = gateway.url
    problems: list[str] = []
    context, page = new_page(chromium, language)
    try:
        for name in public_pages(site):
            page.goto(f"{base}/panel/{name}")
            problems += check(page)
        sign_in(page, base, site.shop.email, PASSWORD, language)
        for name in user_pages(site):
            page.goto(f"{base}/panel/{name}")
            problems += check(page)
    finally:
        context.close()
    with signed_in_page(chromium, base, *OPERATOR, language) as page:
        for name in operator_pages(site):
            page.goto(f"{base}/panel/{name}")
            problems += check(page)
    return problems


def low_contrast(page: Page) -> list[str]:
    return [
        f"{page.url}: {found['tag']} {found['text']!r} at {found['ratio']}:1"
        for found in contrasts(page)
        if float(str(found["ratio"])) < 4.5
    ]


def empty_headers(page: Page) -> list[str]:
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("th")]
            .filter(th => !th.textContent.trim() && !th.getAttribute("aria-label"))
            .map(th => th.closest("table").id || th.closest("table").outerHTML.slice(0, 80))"""
    )
    return [f"{page.url}: an empty header in {table}" for table in found]


@pytest.mark.parametrize("language", ["en", "fa"])
def test_every_text_reads_at_4_5_to_1(
    chromium: Browser, gateway: Gateway, ledger: Ledger, language: str
) -> None:
    assert not on_every_page(chromium, gateway, ledger.site, language, low_contrast)


def test_no_table_header_is_empty(chromium: Browser, gateway: Gateway, ledger: Ledger) -> None:
    assert not on_every_page(chromium, gateway, ledger.site, "en", empty_headers)


FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex='0']"


def assert_within_the_screen(page: Page, box: FloatRect | None) -> None:
    width = page.evaluate("() => window.innerWidth")
    assert box is not None
    assert box["y"] >= 0, box
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= width, box


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_sign_in_pages_have_a_main_landmark_and_a_skip_link(
    chromium: Browser, gateway: Gateway, ledger: Ledger, language: str
) -> None:
    """The first thing Tab reaches is a link to <main>; following it moves the focus there."""
    context, page = new_page(chromium, language)
    try:
        for name in public_pages(ledger.site):
            page.goto(f"{gateway.url}/panel/{name}")
            expect(page.locator("main")).to_have_count(1)
            expect(page.locator("main")).to_have_attribute("id", "main")
            skip = page.locator(FOCUSABLE).first  # what Tab reaches first from the top
            expect(skip).to_have_attribute("href", "#main")
            skip.focus()
            assert_within_the_screen(page, skip.bounding_box())  # shown once it has the focus
            page.keyboard.press("Enter")
            assert page.evaluate("() => document.activeElement.closest('main') !== null"), name
    finally:
        context.close()
