"""Reading what a person typed into a panel form: trimmed text, digits of any script, dates."""

from __future__ import annotations

import re
from datetime import date

import jdatetime
from starlette.datastructures import FormData, QueryParams

from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import InvalidInput, Subject
from quickotp.services.admin import FIRST_YEAR, LAST_YEAR

MAX_FIELD = 2000


def text(form: FormData | QueryParams, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return _unicode(value.strip()[:limit]) if isinstance(value, str) else ""


def secret(form: FormData, name: str) -> str:
    """A password as typed: not trimmed (spaces count), but bounded."""
    value = form.get(name)
    return _unicode(value[:MAX_FIELD]) if isinstance(value, str) else ""


def _unicode(value: str) -> str:
    """
    Text a database, a page and a log line can all hold: control characters but tab and
    line breaks dropped (NUL is refused by PostgreSQL, ESC rewrites a terminal), and lone
    surrogates as U+FFFD, as the urlencoded parser writes bytes it cannot read (a multipart
    part may declare a charset, utf-7, that decodes to them).
    """
    if value.isascii() and value.isprintable():
        return value
    value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _CONTROLS.sub("", value)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def flag(form: FormData | QueryParams, name: str) -> bool:
    return text(form, name) in {"1", "on", "true", "yes"}


def whole(form: FormData | QueryParams, name: str) -> int | None:
    """A whole number in any digits (۱۲۳, 123, -5), or None when empty or not one."""
    raw = ascii_digits(text(form, name)).replace(",", "").replace("٬", "")
    body = raw[1:] if raw[:1] in {"-", "+"} else raw
    if not (body.isascii() and body.isdigit()) or len(body) > 15:
        return None
    return int(raw)


class DayUnreadable(InvalidInput):
    """A date field holding text that is no date in a form the panel reads."""


class DayNotInCalendar(InvalidInput):
    """A date written in a readable form that its calendar has no such day for (1403/12/31)."""


class DayOutOfRange(InvalidInput):
    """A real day, but outside the years a date field takes."""


def day(form: FormData | QueryParams, name: str) -> date | None:
    """
    The day a date field holds, or None when it is empty; DayUnreadable, DayNotInCalendar or
    DayOutOfRange (their text: what was typed) for anything else.

    A day is written year first, with `/` or `-` between its parts, in any digits: in
    Persian the Jalali day the page's text field takes (1405/09/15 or 1405-09-15, Persian or
    Latin digits), in English what a date input sends (2026-12-06). The year tells the
    calendars apart (below 1700: Jalali), so a day written in either reads right in either
    language. jdatetime converts; a day is a calendar day of Iran, never a moment, so no
    time zone can move it.
    """
    typed = text(form, name, 40)
    if not typed:
        return None
    return read_day(typed)


def read_day(typed: str) -> date:
    """`typed` as a day (see `day`); the same errors."""
    found = _DAY.fullmatch(ascii_digits(typed))
    if found is None:
        raise DayUnreadable(f"{typed!r} is not a date", subject=Subject.DATE, typed=typed)
    year, month, day_ = (int(part) for part in found.groups())
    try:
        if year < JALALI_BEFORE:
            found_day: date = jdatetime.date(year, month, day_).togregorian()
        else:
            found_day = date(year, month, day_)
    except ValueError:
        raise DayNotInCalendar(
            f"{typed!r} is not a day of its calendar", subject=Subject.DAY_MISSING, typed=typed
        ) from None
    if not FIRST_YEAR <= found_day.year <= LAST_YEAR:
        raise DayOutOfRange(
            f"{typed!r} is outside the years {FIRST_YEAR} to {LAST_YEAR}",
            subject=Subject.DATE_RANGE,
            typed=typed,
        )
    return found_day


def shown_day(typed: str) -> date | None:
    """The day a date field shows beside what was typed: None while it is not one."""
    try:
        return read_day(typed) if typed.strip() else None
    except InvalidInput:
        return None


JALALI_BEFORE = 1700  # a year before this is a Jalali one (1405 is 2026-27)
_DAY = re.compile(r"\s*([0-9]{4})\s*[-/]\s*([0-9]{1,2})\s*[-/]\s*([0-9]{1,2})\s*")


def lines(form: FormData, name: str) -> list[str]:
    """Items written one a line, or separated by commas or spaces."""
    return text(form, name).replace(",", " ").split()


def settings(form: FormData, name: str) -> dict[str, str]:
    """`name = value` lines (blank lines skipped); InvalidInput for a line without `=`."""
    found = {}
    for line in text(form, name, 20_000).splitlines():
        if line.strip():
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                raise InvalidInput(
                    f"{line.strip()!r} is not `name = value`", subject=Subject.SETTINGS_LINE
                )
            found[key.strip()] = value.strip()
    return found


def choices(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]
