"""SendDateTime as public clients write it, read into one time (domain/sendtime.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quickotp.domain import sendtime
from quickotp.domain.errors import InvalidSendTime

TEHRAN = ZoneInfo("Asia/Tehran")
# 6 December 2026, 12:25:07 in Tehran (UTC+03:30) is 15 Azar 1405 in the Persian calendar.
MOMENT = datetime(2026, 12, 6, 8, 55, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "written",
    [
        "2026-12-06 12:25:07",  # the vendor's Node sample: Tehran time, no offset
        "2026-12-06T12:25:07",
        "2026-12-06T12:25:07.000",
        "2026-12-06T12:25:07+03:30",  # PHP's format('c')
        "2026-12-06T12:25:07 03:30",  # the same, its '+' turned into a space by a query string
        "2026-12-06T08:55:07Z",
        "2026-12-06t08:55:07z",  # RFC 3339 allows lower case
        "2026-12-06T10:55:07+0200",
        "12/06/2026 12:25:07",  # .NET's DateTime.ToString(), invariant culture: month first
        "12/6/2026 12:25:07 PM",
        "1405/09/15 12:25:07",  # .NET's fa-IR culture on the Persian calendar
        "1405/9/15 12:25:07",
        "1405/09/15 12:25:07 ب.ظ",  # with the after-noon marker
        "۱۴۰۵/۰۹/۱۵ ۱۲:۲۵:۰۷",  # in Persian digits
        "٢٠٢٦-١٢-٠٦ ١٢:٢٥:٠٧",  # in Arabic-Indic digits
        "06/12/2026 12:25:07 ب.ظ.",  # Mono's fa-IR: the Gregorian calendar, day first
        "\u200f1405/09/15 12:25:07",  # a right-to-left mark from Persian text
        "  2026-12-06   12:25:07  ",
    ],
)
def test_every_form_names_the_same_moment(written: str) -> None:
    """The vendor's samples, ISO 8601 and .NET's invariant and Persian cultures agree."""
    assert sendtime.parse(written, zone=TEHRAN) == MOMENT


@pytest.mark.parametrize(
    ("written", "hour"),
    [
        ("06/12/2026 09:05:07 ق.ظ.", 9),  # before noon
        ("06/12/2026 12:05:07 ق.ظ", 0),  # 12 before noon is midnight
        ("06/12/2026 01:05:07 ب.ظ", 13),
        ("12/06/2026 09:05:07 AM", 9),
    ],
)
def test_the_twelve_hour_clock(written: str, hour: int) -> None:
    """A before/after-noon marker reads the hour on a twelve-hour clock."""
    found = sendtime.parse(written, zone=TEHRAN)

    assert found is not None
    assert found.astimezone(TEHRAN).hour == hour


def test_a_first_number_over_twelve_is_the_day() -> None:
    """Year last and a first number that cannot be a month: day first."""
    found = sendtime.parse("25/12/2026 10:00:00", zone=TEHRAN)

    assert found is not None
    assert (found.astimezone(TEHRAN).month, found.astimezone(TEHRAN).day) == (12, 25)


def test_a_date_alone_is_its_midnight() -> None:
    """A date without a time is its start, in Tehran."""
    assert sendtime.parse("2026-12-06", zone=TEHRAN) == datetime(2026, 12, 6, tzinfo=TEHRAN)


@pytest.mark.parametrize("written", ["", "   ", None])
def test_nothing_means_now(written: str | None) -> None:
    """An empty SendDateTime: None, for now."""
    assert sendtime.parse(written, zone=TEHRAN) is None


@pytest.mark.parametrize(
    "written",
    [
        "tomorrow",
        "2026-13-01 10:00:00",
        "2026-02-30 10:00:00",
        "1405/12/31 10:00:00",  # 1405 is not a leap year
        "2026-12-06 25:00:00",
        "2026-12-06 13:00:00 PM",
        "2026-12-06T12:25:07+15:00",
        "12/06/26 12:25:07",
        "1900-01-01 00:00:00",
        "3000-01-01 00:00:00",
        "2026-12-06 12:25:07" + " " * 60 + "x",
        "2" * 500,
    ],
)
def test_what_cannot_be_read_is_refused(written: str) -> None:
    """Anything else is InvalidSendTime (SendDateTime_Invalid), never an exception of ours."""
    with pytest.raises(InvalidSendTime):
        sendtime.parse(written, zone=TEHRAN)


@given(st.text(max_size=80) | st.from_regex(r"[0-9۰-۹/:\- ]{0,30}(AM|PM|ق\.ظ|ب\.ظ)?"))
def test_any_text_is_a_time_or_a_refusal(written: str) -> None:
    """No input makes the parser fail otherwise: a time in range, None, or InvalidSendTime."""
    try:
        found = sendtime.parse(written, zone=TEHRAN)
    except InvalidSendTime:
        return
    assert found is None or sendtime.FIRST_YEAR <= found.year <= sendtime.LAST_YEAR
