"""Dates as Amoot's clients send them: ISO 8601, PHP's format('c') and .NET's ToString()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from quickotp.domain.datetimes import TEHRAN, read_moment

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
