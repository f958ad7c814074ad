"""
Dates as Amoot's clients send them (domain/datetimes.py): ISO 8601, PHP's format('c') and
.NET's ToString(), read as the dates of the reports and as a SendDateTime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quickotp.domain.datetimes import FIRST_YEAR, LAST_YEAR, TEHRAN, read_moment, send_time
from quickotp.domain.errors import InvalidSendTime

TEHRAN_10AM = datetime(2026, 12, 6, 10, 26, 8, tzinfo=TEHRAN)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-06 10:26:08", TEHRAN_10AM),  # the public clients' form
        ("2026-12-06T10:26:08", TEHRAN_10AM),
        ("2026-12-06T10:26:08.1234567", TEHRAN_10AM.replace(microsecond=123456)),  # .NET's JSON
        ("2026-12-06T06:56:08Z", TEHRAN_10AM),
        ("2026-12-06T10:26:08+03:30", TEHRAN_10AM),  # PHP format('c'), encoded
        ("2026-12-06T10:26:08 03:30", TEHRAN_10AM),  # ... and its '+' read back as a space
        ("2026-12-06T06:56:08-00:00", TEHRAN_10AM),
        ("12/06/2026 10:26:08", TEHRAN_10AM),  # .NET, invariant culture: month first
        ("12/6/2026 10:26:08 AM", TEHRAN_10AM),  # en-US
        ("12/6/2026 10:26:08 PM", TEHRAN_10AM + timedelta(hours=12)),
        ("12/6/2026 12:00:00 AM", datetime(2026, 12, 6, tzinfo=TEHRAN)),
        ("06/12/2026 10:26:08 ق.ظ", TEHRAN_10AM),  # Mono's fa-IR: day first, Gregorian
        ("1405/09/15 10:26:08 ق.ظ", TEHRAN_10AM),  # Windows' fa-IR: Solar Hijri, year first
        ("۱۴۰۵/۰۹/۱۵ ۱۰:۲۶:۰۸ ب.ظ", TEHRAN_10AM + timedelta(hours=12)),  # Persian digits
        ("25/12/2026 10:26", datetime(2026, 12, 25, 10, 26, tzinfo=TEHRAN)),  # day > 12: day first
    ],
)
def test_moments_with_a_time(raw: str, expected: datetime) -> None:
    """Every form names the same instant; no offset means Tehran time."""
    moment = read_moment(raw)

    assert moment is not None
    assert moment.has_time
    assert moment.at == expected


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2020-02-01", datetime(2020, 2, 1, tzinfo=TEHRAN)),
        ("2020/2/1", datetime(2020, 2, 1, tzinfo=TEHRAN)),
        ("1398/11/12", datetime(2020, 2, 1, tzinfo=TEHRAN)),
        (" ۲۰۲۰-۰۲-۰۱ ", datetime(2020, 2, 1, tzinfo=TEHRAN)),
    ],
)
def test_dates_without_a_time(raw: str, day: datetime) -> None:
    """A date alone is the start of that Tehran day, marked as having no time of day."""
    moment = read_moment(raw)

    assert moment is not None
    assert (moment.at, moment.has_time) == (day, False)


def test_the_day_of_a_moment_is_its_tehran_day() -> None:
    """Just before midnight UTC is already the next day in Tehran."""
    moment = read_moment("2026-12-05T22:00:00Z")

    assert moment is not None
    assert moment.day() == datetime(2026, 12, 6, tzinfo=TEHRAN)
    assert moment.day().astimezone(UTC) == datetime(2026, 12, 5, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "yesterday",
        "2026-13-01",
        "2026-02-30",
        "2026-12-06T25:00:00",
        "2026-12-06T10:61:00",
        "13/13/2026 10:00:00",
        "12/6/2026 13:00:00 PM",
        "12/6/2026 10:00:00 XM",
        "12/6/26 10:00:00",
        "2026-12-06T10:00:00+15:00",
        "1405/12/31",  # 1405 is not a leap year
        "2026-12-06T10:00:00." + "0" * 60,
        "x" * 1000,
        "12/6/2026 AM",
    ],
)
def test_what_is_no_date(raw: str) -> None:
    """Anything else is refused (None), never guessed and never an exception."""
    assert read_moment(raw) is None


def test_an_offset_is_kept() -> None:
    """A written offset wins over Tehran's."""
    moment = read_moment("2026-12-06T10:00:00+01:00")

    assert moment is not None
    assert moment.at.utcoffset() == timezone(timedelta(hours=1)).utcoffset(None)


# SendDateTime -------------------------------------------------------------------------

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
    assert send_time(written, zone=TEHRAN) == MOMENT


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
    found = send_time(written, zone=TEHRAN)

    assert found is not None
    assert found.astimezone(TEHRAN).hour == hour


def test_a_first_number_over_twelve_is_the_day() -> None:
    """Year last and a first number that cannot be a month: day first."""
    found = send_time("25/12/2026 10:00:00", zone=TEHRAN)

    assert found is not None
    assert (found.astimezone(TEHRAN).month, found.astimezone(TEHRAN).day) == (12, 25)


def test_a_date_alone_is_its_midnight() -> None:
    """A date without a time is its start, in Tehran."""
    assert send_time("2026-12-06", zone=TEHRAN) == datetime(2026, 12, 6, tzinfo=TEHRAN)


@pytest.mark.parametrize("written", ["", "   ", None])
def test_nothing_means_now(written: str | None) -> None:
    """An empty SendDateTime: None, for now."""
    assert send_time(written, zone=TEHRAN) is None


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
        send_time(written, zone=TEHRAN)


@given(st.text(max_size=80) | st.from_regex(r"[0-9۰-۹/:\- ]{0,30}(AM|PM|ق\.ظ|ب\.ظ)?"))
def test_any_text_is_a_time_or_a_refusal(written: str) -> None:
    """No input makes the parser fail otherwise: a time in range, None, or InvalidSendTime."""
    try:
        found = send_time(written, zone=TEHRAN)
    except InvalidSendTime:
        return
    assert found is None or FIRST_YEAR <= found.year <= LAST_YEAR
