"""
When a message is to go out: the `SendDateTime` that Amoot clients send, in every form
public clients write it, read into one aware time.

Pure: the caller passes the zone of times written without an offset (Tehran, as Amoot's).

The forms, as the vendor's samples and .NET produce them:

* `2026-12-06 12:25:07` (the Node sample), with `T` or fractional seconds too;
* ISO 8601 with an offset, `2026-12-06T12:25:07+03:30` (PHP's `format('c')`), or `Z`; a
  `+` that a query string turned into a space (`...12:25:07 03:30`) is read as `+`;
* .NET `DateTime.ToString()` in the invariant culture: `12/06/2026 12:25:07` (month first);
* .NET in the Persian culture: with the Persian calendar, `1405/09/15 12:25:07` or
  `1405/9/15 12:25:07`, with or without `ق.ظ` / `ب.ظ` (before / after noon, with or
  without a final dot); Mono's fa-IR keeps the Gregorian calendar and writes the day first,
  `06/12/2026 12:25:07 ب.ظ.`;
* Persian or Arabic-Indic digits anywhere, and the bidi marks that
  right-to-left text carries.

A year below 1700 is a Persian (Jalali) year. A date written with the year last is read day
first when it carries a Persian before/after-noon marker (how the Persian culture writes
it) or when its first number cannot be a month; otherwise month first (the invariant
culture). Written by hand because no library reads .NET's Persian culture: the standard
library reads ISO 8601, and jdatetime turns Jalali dates into Gregorian ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import jdatetime

from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidSendTime

MAX_AHEAD = timedelta(days=366)  # a send scheduled further ahead is refused
FIRST_YEAR, LAST_YEAR = 1971, 2999
JALALI_BELOW = 1700  # a year below this is a Persian (Jalali) year
_MAX_INPUT = 64

_MARKS = re.compile(r"[\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_BEFORE_NOON = ("ق.ظ", "قبل از ظهر", "AM")
_AFTER_NOON = ("ب.ظ", "بعد از ظهر", "PM")
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?"
_OFFSET = r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?| \d{2}:\d{2})?"
_DASHED = re.compile(rf"(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})(?:[T ]{_TIME}{_OFFSET})?")
_SLASHED = re.compile(rf"(?P<a>\d{{1,4}})/(?P<b>\d{{1,2}})/(?P<c>\d{{1,4}})(?: {_TIME})?")


def parse(raw: str | None, *, zone: tzinfo) -> datetime | None:
    """
    The moment `raw` names, in UTC; None when it is empty (send now). InvalidSendTime for
    anything it cannot read, or a date outside the years 1971..2999.
    """
    text = _MARKS.sub("", ascii_digits(raw or "")).strip()
    text = " ".join(text.replace("\u066b", ".").split())  # the Arabic decimal separator
    if text.isascii():  # RFC 3339 lets `t` and `z` be written in lower case
        text = text.upper()
    if not text:
        return None
    if len(text) > _MAX_INPUT:
        raise InvalidSendTime("SendDateTime is longer than any date")
    clock = _clock(text)
    try:
        moment = _read(clock, zone)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise InvalidSendTime(f"SendDateTime {text[:40]!r} is not a date and time we read")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidSendTime(f"SendDateTime is a time in the years {FIRST_YEAR} to {LAST_YEAR}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _Clock:
    """The text without its before/after-noon marker, which half of the day that said, and
    whether the marker was Persian."""

    text: str
    half: str | None  # "am", "pm", or None for a 24-hour time
    persian: bool


def _clock(text: str) -> _Clock:
    for markers, half in ((_BEFORE_NOON, "am"), (_AFTER_NOON, "pm")):
        for marker in markers:
            for written in (marker + ".", marker):
                if text.upper().endswith(written.upper()):
                    rest = text[: -len(written)].strip()
                    return _Clock(rest, half, persian=not marker.isascii())
    return _Clock(text, None, persian=False)


def _read(clock: _Clock, zone: tzinfo) -> datetime | None:
    if found := _DASHED.fullmatch(clock.text):
        date = (int(found["y"]), int(found["mo"]), int(found["d"]))
        return _moment(date, found, clock.half, found["z"] or zone)
    if found := _SLASHED.fullmatch(clock.text):
        a, b, c = found["a"], int(found["b"]), found["c"]
        if len(a) == 4:  # year first: 1405/09/15, 2026/12/06
            date = (int(a), b, int(c))
        elif len(c) == 4:  # year last: day first in the Persian culture (module docstring)
            first = int(a)
            date = (int(c), b, first) if clock.persian or first > 12 else (int(c), first, b)
        else:
            return None
        return _moment(date, found, clock.half, zone)
    return None


def _moment(
    date: tuple[int, int, int], found: re.Match[str], half: str | None, zone: tzinfo | str
) -> datetime:
    year, month, day = date
    hour = int(found["h"] or 0)
    minute = int(found["mi"] or 0)
    second = int(found["s"] or 0)
    micro = int((found["f"] or "0").ljust(6, "0")[:6])
    if half is not None:
        if not 1 <= hour <= 12:
            raise ValueError("a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if year < JALALI_BELOW:
        gregorian = jdatetime.date(year, month, day).togregorian()
        year, month, day = gregorian.year, gregorian.month, gregorian.day
    where = _zone_of(zone) if isinstance(zone, str) else zone
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=where)


def _zone_of(offset: str) -> tzinfo:
    """A written offset (`Z`, `+03:30`, `-0500`, or ` 03:30` from a `+` lost in a URL)."""
    if offset == "Z":
        return UTC
    sign = -1 if offset.startswith("-") else 1
    digits = offset.strip().lstrip("+-").replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("an offset is at most 14 hours")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
