"""Persian and English: the catalog is whole, digits and dates are Persian, layout is RTL."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from quickotp.bootstrap import Runtime
from quickotp.panel.fa import FA
from quickotp.panel.i18n import Translator
from tests.panel.conftest import Browser, open_browser, sign_up

PANEL = Path(__file__).parents[2] / "src" / "quickotp" / "panel"
TEHRAN = ZoneInfo("Asia/Tehran")
_CALL = re.compile(r"""(?:\bN?_|\btr\.markup)\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def message_ids() -> set[str]:
    """Every literal the templates pass to _() or tr.markup() and the Python marks with N_()."""
    found = set()
    for path in [*PANEL.rglob("*.html"), *PANEL.rglob("*.py")]:
        for literal in _CALL.findall(path.read_text()):
            found.add(ast.literal_eval(literal))
    return found


def test_every_text_the_panel_shows_has_a_persian_translation() -> None:
    """A new English text without its Persian fails here."""
    missing = sorted(message_ids() - FA.keys())

    assert missing == []


def test_the_catalog_holds_no_texts_the_panel_no_longer_shows() -> None:
    """Translations of removed texts are deleted with them."""
    unused = sorted(FA.keys() - message_ids())

    assert unused == []


@pytest.mark.parametrize("message", sorted(FA))
def test_a_translation_keeps_the_placeholders_of_its_text(message: str) -> None:
    """{n}, {amount}, %code% and the like survive translation, or the page would break."""
    pattern = r"\{\w+\}|%\w+%"

    assert sorted(re.findall(pattern, FA[message])) == sorted(re.findall(pattern, message))


def test_a_date_in_the_jalali_calendar() -> None:
    """23 July 2023 (Tehran time) is 1 Mordad 1402, written in Persian digits."""
    moment = datetime(2023, 7, 23, 8, 0, tzinfo=UTC)

    shown = Translator("fa", TEHRAN).jalali(moment)

    assert shown == "۱۴۰۲/۰۵/۰۱ ۱۱:۳۰"


def test_persian_numbers_use_persian_digits_and_separators() -> None:
    """Persian digits, thousands and decimal separators and percent sign."""
    fa = Translator("fa", TEHRAN)

    assert (fa.number(1_234_567), fa.percent(0.875)) == ("۱٬۲۳۴٬۵۶۷", "۸۷٫۵٪")


def test_a_count_takes_the_singular_only_for_one_in_english() -> None:
    """English says "1 minute", "0 minutes", "2 minutes"; Persian one form after any number."""
    en, fa = Translator("en", TEHRAN), Translator("fa", TEHRAN)

    said = {n: en.plural(n, "{n} minute", "{n} minutes") for n in (0, 1, 2, 1_000)}
    persian = {n: fa.plural(n, "{n} minute", "{n} minutes") for n in (1, 2)}

    assert said == {0: "0 minutes", 1: "1 minute", 2: "2 minutes", 1_000: "1,000 minutes"}
    assert persian == {1: "۱ دقیقه", 2: "۲ دقیقه"}


def test_persian_times_show_jalali_with_gregorian_beside() -> None:
    """In Persian both calendars show; in English the Jalali date waits in the tooltip."""
    moment = datetime(2026, 3, 20, 20, 30, tzinfo=UTC)

    persian = Translator("fa", TEHRAN).when(moment)
    english = Translator("en", TEHRAN).when(moment)

    assert "۱۴۰۵/۰۱/۰۱ ۰۰:۰۰" in persian
    assert "۲۰۲۶-۰۳-۲۱ ۰۰:۰۰" in persian
    assert ">2026-03-21 00:00<" in english
    assert 'title="1405/01/01 00:00"' in english


@pytest.mark.anyio
async def test_a_persian_page_is_right_to_left_with_persian_digits(runtime: Runtime) -> None:
    """A Persian-speaking browser gets lang=fa, dir=rtl, Persian words and digits."""
    browser = await open_browser(runtime, language="fa")
    await sign_up(browser, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[0]
    await runtime.admin.add_credit(account.id, 1_250_000)

    page = (await browser.get("/panel/credit")).text

    assert '<html lang="fa" dir="rtl">' in page
    assert "موجودی" in page
    assert "۱٬۲۵۰٬۰۰۰" in page


@pytest.mark.anyio
async def test_the_chosen_language_sticks_to_the_user(browser: Browser, runtime: Runtime) -> None:
    """Choosing Persian is saved on the user: another device signs in to Persian pages."""
    await sign_up(browser, "owner@shop.test", "Shop")

    switched = await browser.post("/panel/language", {"language": "fa", "next": "/panel/tokens"})
    user = await runtime.users.store.user_by_email("owner@shop.test")

    assert switched.headers["location"] == "/panel/tokens"
    assert user is not None
    assert user[0].locale == "fa"
    assert 'lang="fa"' in (await browser.get("/panel/tokens")).text


@pytest.mark.anyio
async def test_a_visitor_can_choose_english(runtime: Runtime) -> None:
    """Before signing in the choice lives in a cookie."""
    visitor = await open_browser(runtime, language="fa")

    await visitor.post(
        "/panel/language", {"language": "en", "next": "/panel/sign-in"}, form="/panel/sign-in"
    )

    assert '<html lang="en" dir="ltr">' in (await visitor.get("/panel/sign-in")).text
