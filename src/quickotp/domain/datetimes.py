"""
Dates and times as Amoot's clients write them, read into aware datetimes.

Pure. Amoot binds these parameters with ASP.NET, so clients send whatever their platform
prints: ISO 8601 (with or without an offset, `2020-02-01`, `2020-02-01 10:00:00`, PHP's
`format('c')`, whose `+` turns into a space when the client forgets to URL-encode it),
and .NET's `DateTime.ToString()` in the culture of the machine: the invariant culture's
`02/01/2020 10:00:00` (month first), en-US's `2/1/2020 10:00:00 AM`, fa-IR's
`1398/11/12 10:00:00 ق.ظ` on Windows (the Solar Hijri calendar, year first) and Mono's
fa-IR `01/02/2020 10:00:00 ق.ظ` (Gregorian, day first). Persian and Arabic-Indic digits
are read as ASCII. A time without an offset is Tehran time, as on Amoot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import jdatetime

from quickotp.domain.digits import ascii_digits

TEHRAN = ZoneInfo("Asia/Tehran")
MAX_LENGTH = 64  # longer is no date of any of these forms
JALALI_BEFORE = 1700  # a year below this is a Solar Hijri year (now about 1405)

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?"
_OFFSET = r"(?:\s*(?P<zone>Z|[+-]\d{2}:?\d{2})|\s(?P<spaced>\d{2}:?\d{2}))?"
_ISO = re.compile(
    rf"(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?:[T\s]{_TIME}{_OFFSET})?", re.IGNORECASE
)
_SLASHED = re.compile(
    rf"(?P<a>\d{{1,4}})/(?P<b>\d{{1,2}})/(?P<c>\d{{1,4}})(?:\s+{_TIME})?(?:\s*(?P<half>[^\d\s]+))?"
)
# AM/PM designators: English, and fa-IR's (before noon, after noon).
_MORNING = {"am", "ق.ظ", "ق.ظ."}
_AFTERNOON = {"pm", "ب.ظ", "ب.ظ."}
_PERSIAN_HALVES = {"ق.ظ", "ق.ظ.", "ب.ظ", "ب.ظ."}


@dataclass(frozen=True)
class Moment:
    """A point in time a client sent, and whether it named a time of day or a date only."""

    at: datetime  # aware
    has_time: bool

    def day(self) -> datetime:
        """The start of this moment's day, Tehran time."""
        local = self.at.astimezone(TEHRAN)
        return datetime.combine(local.date(), time(), tzinfo=TEHRAN)


def read_moment(raw: str) -> Moment | None:
    """The moment `raw` names, or None when it is none of the accepted forms."""
    text = " ".join(ascii_digits(raw).split())
    if not text or len(text) > MAX_LENGTH:
        return None
    try:
        if (iso := _ISO.fullmatch(text)) is not None:
            return _moment(iso, int(iso["y"]), int(iso["m"]), int(iso["d"]), half=None)
        if (slashed := _SLASHED.fullmatch(text)) is not None:
            return _slashed(slashed)
    except ValueError:  # a day, month or hour out of range
        return None
    return None


def _slashed(found: re.Match[str]) -> Moment | None:
    a, b, c = found["a"], found["b"], found["c"]
    half = (found["half"] or "").lower() or None
    if half is not None and half not in _MORNING | _AFTERNOON:
        return None
    if len(a) == 4:  # year first: ISO-like, or fa-IR on Windows (Solar Hijri)
        return _moment(found, int(a), int(b), int(c), half=half)
    if len(c) != 4:
        return None
    first, second = int(a), int(b)
    # Month first (invariant, en-US) unless Mono's fa-IR wrote it, or it cannot be a month.
    if half in _PERSIAN_HALVES or first > 12:
        first, second = second, first
    return _moment(found, int(c), first, second, half=half)


def _moment(found: re.Match[str], year: int, month: int, day: int, *, half: str | None) -> Moment:
    if year < JALALI_BEFORE:
        gregorian = jdatetime.date(year, month, day).togregorian()
        year, month, day = gregorian.year, gregorian.month, gregorian.day
    groups = found.groupdict()
    if groups.get("h") is None:
        if half is not None:
            raise ValueError("a designator without a time")
        return Moment(datetime(year, month, day, tzinfo=TEHRAN), has_time=False)
    hour = int(groups["h"])
    if half is not None:
        if not 1 <= hour <= 12:
            raise ValueError("a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if half in _AFTERNOON else 0)
    fraction = (groups.get("f") or "0")[:6].ljust(6, "0")
    zone = _zone(groups.get("zone") or "", groups.get("spaced") or "")
    at = datetime(
        year, month, day, hour, int(groups["mi"]), int(groups["s"] or 0), int(fraction), tzinfo=zone
    )
    return Moment(at, has_time=True)


def _zone(written: str, spaced: str) -> timezone | ZoneInfo:
    """The offset written after the time ('+' read back from a space), else Tehran's."""
    if written.upper() == "Z":
        return UTC
    sign = -1 if written.startswith("-") else 1
    digits = (written[1:] or spaced).replace(":", "")
    if not digits:
        return TEHRAN
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError("no such offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
