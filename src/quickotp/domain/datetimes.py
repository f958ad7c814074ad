"""
Dates and times as Amoot's clients write them (the dates of Statistics and GetMessages, the
SendDateTime of a send), read into aware datetimes by one reader.

Pure. Amoot binds these parameters with ASP.NET, so clients send whatever their platform
prints:

* ISO 8601, with or without a time and an offset: `2026-12-06`, `2026-12-06 12:25:07` (the
  vendor's Node sample), `T` or fractional seconds too, an offset (`+03:30`, `+0330`,
  `+03`, `Z`; PHP's `format('c')`), its `+` turned into a space when the client forgot to
  URL-encode it (`...12:25:07 03:30`);
* .NET's `DateTime.ToString()` in the culture of the machine: the invariant culture's
  `12/06/2026 12:25:07` (month first), en-US's `12/6/2026 12:25:07 PM`, fa-IR's
  `1405/09/15 12:25:07 ب.ظ` on Windows (the Solar Hijri calendar, year first) and Mono's
  fa-IR `06/12/2026 12:25:07 ب.ظ.` (Gregorian, day first);
* before/after-noon markers in English or Persian (`AM`, `PM`, `ق.ظ`, `ب.ظ`, `قبل از ظهر`,
  `بعد از ظهر`, with or without a final dot) on a twelve-hour clock;
* Persian or Arabic-Indic digits anywhere, and the bidi marks that right-to-left text
  carries.

A year below 1700 is a Solar Hijri year. A date written with the year last is read day first
when it carries a Persian marker (how the Persian culture writes it) or when its first
number cannot be a month; otherwise month first (the invariant culture). A time without an
offset is Tehran time, as on Amoot. Written by hand because no library reads .NET's Persian
culture: the standard library reads ISO 8601, and jdatetime turns Jalali dates into
Gregorian ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import jdatetime

from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidSendTime

TEHRAN = ZoneInfo("Asia/Tehran")
MAX_LENGTH = 64  # longer is no date of any of these forms
JALALI_BEFORE = 1700  # a year below this is a Solar Hijri year (now about 1405)
MAX_AHEAD = timedelta(days=366)  # a send scheduled further ahead is refused
FIRST_YEAR, LAST_YEAR = 1971, 2999  # the years a send time may fall in

_MARKS = re.compile(r"[\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_BEFORE_NOON = ("ق.ظ", "قبل از ظهر", "AM")
_AFTER_NOON = ("ب.ظ", "بعد از ظهر", "PM")
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?"
# An offset right after the time or one space on (`Z`, `+03:30`, `-0500`, `+03`), or the
# digits of a `+` offset whose sign a query string turned into a space.
_OFFSET = r"(?: ?(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)| (?P<spaced>\d{2}:?\d{2}))?"
_DASHED = re.compile(rf"(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})(?:[T ]{_TIME}{_OFFSET})?")
_SLASHED = re.compile(rf"(?P<a>\d{{1,4}})/(?P<b>\d{{1,2}})/(?P<c>\d{{1,4}})(?: {_TIME})?")


@dataclass(frozen=True)
class Moment:
    """A point in time a client sent, and whether it named a time of day or a date only."""

    at: datetime  # aware
    has_time: bool

    def day(self) -> datetime:
        """The start of this moment's day, Tehran time."""
        local = self.at.astimezone(TEHRAN)
        return datetime.combine(local.date(), time(), tzinfo=TEHRAN)


def read_moment(raw: str | None, *, zone: tzinfo = TEHRAN) -> Moment | None:
    """
    The moment `raw` names, a time without an offset read in `zone`; None when it is empty
    or none of the accepted forms.
    """
    text = _MARKS.sub("", ascii_digits(raw or ""))
    text = " ".join(text.replace("\u066b", ".").split())  # the Arabic decimal separator
    if not text or len(text) > MAX_LENGTH:
        return None
    text = text.upper()  # RFC 3339 lets `t` and `z` be written in lower case; am, pm too
    clock = _clock(text)
    try:
        return _read(clock, zone)
    except (ValueError, OverflowError):  # a day, month, hour or offset out of range
        return None


def send_time(raw: str | None, *, zone: tzinfo = TEHRAN) -> datetime | None:
    """
    The moment a SendDateTime names, in UTC; None when it is empty (send now).
    InvalidSendTime for anything it cannot read, or a date outside FIRST_YEAR..LAST_YEAR.
    """
    text = " ".join(_MARKS.sub("", ascii_digits(raw or "")).split())
    if not text:
        return None
    if len(text) > MAX_LENGTH:
        raise InvalidSendTime("SendDateTime is longer than any date")
    moment = read_moment(text, zone=zone)
    if moment is None:
        raise InvalidSendTime(f"SendDateTime {text[:40]!r} is not a date and time we read")
    if not FIRST_YEAR <= moment.at.year <= LAST_YEAR:
        raise InvalidSendTime(f"SendDateTime is a time in the years {FIRST_YEAR} to {LAST_YEAR}")
    return moment.at.astimezone(UTC)


@dataclass(frozen=True)
class _Clock:
    """
    The text without its before/after-noon marker, which half of the day that said, and
    whether the marker was Persian.
    """

    text: str
    half: str | None  # "am", "pm", or None for a 24-hour time
    persian: bool


def _clock(text: str) -> _Clock:
    for markers, half in ((_BEFORE_NOON, "am"), (_AFTER_NOON, "pm")):
        for marker in markers:
            for written in (marker + ".", marker):
                if text.endswith(written):
                    rest = text[: -len(written)].strip()
                    return _Clock(rest, half, persian=not marker.isascii())
    return _Clock(text, None, persian=False)


def _read(clock: _Clock, zone: tzinfo) -> Moment | None:
    if found := _DASHED.fullmatch(clock.text):
        return _moment((int(found["y"]), int(found["mo"]), int(found["d"])), found, clock, zone)
    if found := _SLASHED.fullmatch(clock.text):
        a, b, c = found["a"], int(found["b"]), found["c"]
        if len(a) == 4:  # year first: 1405/09/15, 2026/12/06
            date = (int(a), b, int(c))
        elif len(c) == 4:  # year last: day first in the Persian culture (module docstring)
            first = int(a)
            date = (int(c), b, first) if clock.persian or first > 12 else (int(c), first, b)
        else:
            return None
        return _moment(date, found, clock, zone)
    return None


def _moment(
    date: tuple[int, int, int], found: re.Match[str], clock: _Clock, zone: tzinfo
) -> Moment:
    year, month, day = date
    if year < JALALI_BEFORE:
        gregorian = jdatetime.date(year, month, day).togregorian()
        year, month, day = gregorian.year, gregorian.month, gregorian.day
    groups = found.groupdict()
    if groups["h"] is None:
        if clock.half is not None:
            raise ValueError("a before/after-noon marker without a time")
        return Moment(datetime(year, month, day, tzinfo=zone), has_time=False)
    hour = int(groups["h"])
    if clock.half is not None:
        if not 1 <= hour <= 12:
            raise ValueError("a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if clock.half == "pm" else 0)
    micro = int((groups["f"] or "0")[:6].ljust(6, "0"))
    where = _zone(groups.get("zone") or "", groups.get("spaced") or "", zone)
    at = datetime(year, month, day, hour, int(groups["mi"]), int(groups["s"] or 0), micro, where)
    return Moment(at, has_time=True)


def _zone(written: str, spaced: str, default: tzinfo) -> tzinfo:
    """The offset written after the time ('+' read back from a space), else `default`."""
    if written == "Z":
        return UTC
    sign = -1 if written.startswith("-") else 1
    digits = (written[1:] or spaced).replace(":", "")
    if not digits:
        return default
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("an offset is at most 14 hours")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
