"""
The panel's date fields: a day read in either calendar and any digits, refused with a
sentence in the page's language when it is not one, and shown back as the same day (the
Jalali field in Persian with its Gregorian day beside it, the date input in English).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from starlette.datastructures import FormData

from quickotp.bootstrap import PANEL_ZONE
from quickotp.domain.errors import InvalidInput
from quickotp.panel import errors
from quickotp.panel.forms import (
    DayNotInCalendar,
    DayOutOfRange,
    DayUnreadable,
    day,
    shown_day,
)
from quickotp.panel.i18n import Translator
from tests.panel.conftest import Browser, sign_up

pytestmark = pytest.mark.anyio


def read(typed: str) -> date | None:
    return day(FormData({"expires_on": typed}), "expires_on")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1405/09/15", date(2026, 12, 6)),
        ("1405-09-15", date(2026, 12, 6)),
        ("۱۴۰۵/۰۹/۱۵", date(2026, 12, 6)),  # Persian digits
        ("١٤٠٥/٠٩/١٥", date(2026, 12, 6)),  # Arabic-Indic digits
        ("۱۴۰۵-۹-۱۵", date(2026, 12, 6)),  # one-digit month
        (" 1405 / 9 / 15 ", date(2026, 12, 6)),
        ("1405/01/01", date(2026, 3, 21)),  # Nowruz
        ("1404/12/29", date(2026, 3, 20)),  # the last day of a common year
        ("1403/12/30", date(2025, 3, 20)),  # the leap day of a leap year
        ("1408/12/30", date(2030, 3, 20)),
        ("1399/12/30", date(2021, 3, 20)),
        ("1402/06/31", date(2023, 9, 22)),  # the first six months have 31 days
        ("2026-12-06", date(2026, 12, 6)),  # what an English date input sends
        ("2024-02-29", date(2024, 2, 29)),
        ("", None),
        ("   ", None),
    ],
)
def test_a_day_is_read_in_either_calendar_and_any_digits(typed: str, expected: date | None) -> None:
    assert read(typed) == expected


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("1404/12/30", DayNotInCalendar),  # 1404 is no leap year
        ("1405/13/01", DayNotInCalendar),  # no thirteenth month
        ("1405/00/10", DayNotInCalendar),
        ("1405/07/31", DayNotInCalendar),  # the second six months have 30 days
        ("1405/01/00", DayNotInCalendar),
        ("2025-02-29", DayNotInCalendar),  # 2025 is no leap year
        ("2026-04-31", DayNotInCalendar),
        ("1000/01/01", DayOutOfRange),  # 1621
        ("9999-01-01", DayOutOfRange),
        ("tomorrow", DayUnreadable),
        ("15/09/1405", DayUnreadable),  # year first only
        ("1405/09", DayUnreadable),
        ("14050915", DayUnreadable),
        ("1405.09.15", DayUnreadable),
    ],
)
def test_a_day_that_is_not_one_is_refused(typed: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read(typed)
    assert shown_day(typed) is None


@pytest.mark.parametrize(
    ("typed", "english", "persian"),
    [
        ("1405/13/01", "The calendar has no day “1405/13/01”", "گاه‌شمار روزی"),
        ("tomorrow", "“tomorrow” is not a date: write the day as 1405/09/15", "تاریخ نیست"),
        ("1000/01/01", "“1000/01/01” is too far from today", "دور است"),
    ],
)
def test_a_refused_day_is_said_in_the_page_language(typed: str, english: str, persian: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read(typed)
    exc = refused.value
    assert isinstance(exc, DayUnreadable | DayNotInCalendar | DayOutOfRange)
    assert errors.describe(Translator("en", PANEL_ZONE), exc).startswith(english)
    said = errors.describe(Translator("fa", PANEL_ZONE), exc)
    assert persian in said
    assert typed in said  # what was typed, as typed
    assert not re.search("[a-z]{3}", said.replace(typed, ""))  # no English inside


def test_a_field_shows_its_day_in_the_page_language() -> None:
    assert Translator("fa", PANEL_ZONE).field_day(date(2026, 12, 6)) == "۱۴۰۵/۰۹/۱۵"
    assert Translator("en", PANEL_ZONE).field_day(date(2026, 12, 6)) == "2026-12-06"


async def test_the_log_filter_shows_the_gregorian_day_beside_the_jalali_one(
    browser: Browser,
) -> None:
    """Without JavaScript too: the server writes the Gregorian day beside the field."""
    await sign_up(browser, "owner@days.test", "Days")
    await browser.post("/panel/language", {"language": "fa", "next": "/panel/messages"})

    page = (await browser.get("/panel/messages?since=1405-09-15&until=۱۴۰۵/۰۹/۲۰")).text

    since = re.search(r'<input id="since"[^>]*>', page)
    assert since is not None
    assert 'type="text"' in since.group(0)
    assert 'value="۱۴۰۵/۰۹/۱۵"' in since.group(0)
    beside = re.search(r'id="since-gregorian">(.*?)</small>', page, re.S)
    assert beside is not None
    assert "۲۰۲۶-۱۲-۰۶" in beside.group(1)
    assert "۲۰۲۶-۱۲-۱۱" in re.search(r'id="until-gregorian">(.*?)</small>', page, re.S).group(1)  # type: ignore[union-attr]
    assert 'class="alert error"' not in page


async def test_a_wrong_day_is_refused_on_the_page_not_with_a_500(browser: Browser) -> None:
    await sign_up(browser, "owner@wrong-day.test", "Wrong Day")
    await browser.post("/panel/language", {"language": "fa", "next": "/panel/messages"})

    answer = await browser.get("/panel/messages?since=۱۴۰۴/۱۲/۳۰")
    assert answer.status_code == 200
    assert "گاه‌شمار روزی" in answer.text
    assert 'value="۱۴۰۴/۱۲/۳۰"' in answer.text  # kept as typed
    assert 'id="since-gregorian" hidden' in answer.text

    export = await browser.get("/panel/messages/export.csv?until=tomorrow")
    assert export.status_code == 422
    assert "تاریخ نیست" in export.text

    token_post = await browser.post(
        "/panel/tokens", {"label": "bad day", "expires_on": "1405/07/31"}
    )
    assert token_post.status_code == 422
    assert "گاه‌شمار روزی" in token_post.text


@pytest.mark.parametrize("language", ["fa", "en"])
async def test_a_token_keeps_its_last_day_through_saves(browser: Browser, language: str) -> None:
    """The day typed is the day kept and shown, in either calendar, save after save."""
    await sign_up(browser, "owner@expiry-days.test", "Expiry Days")
    await browser.post("/panel/language", {"language": language, "next": "/panel/tokens"})
    typed = "۱۴۰۸/۱۲/۳۰" if language == "fa" else "2030-03-20"  # 1408 is a leap year
    shown = typed

    made = await browser.post("/panel/tokens", {"label": "far", "expires_on": typed})
    assert made.status_code == 303
    tokens = (await browser.get("/panel/tokens")).text
    token_id = re.search(r'id="token-(\d+)"', tokens)
    assert token_id is not None
    edit = f"/panel/tokens/{token_id.group(1)}"
    for _ in range(2):
        page = (await browser.get(edit)).text
        field = re.search(r'<input id="expires_on"[^>]*>', page)
        assert field is not None
        assert f'value="{shown}"' in field.group(0)
        saved = await browser.post(edit, {"label": "far", "expires_on": shown}, form=edit)
        assert saved.status_code == 303, saved.text[:300]
    assert "2030-03-20" in (await browser.get("/panel/tokens")).text.translate(
        str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    )
