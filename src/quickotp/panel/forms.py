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


def day(form: FormData | QueryParams, name: str) -> date | None:
    """A YYYY-MM-DD date (what a date input sends); InvalidInput for anything else non-empty."""
    raw = ascii_digits(text(form, name))
    if not raw:
        return None
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a date (YYYY-MM-DD)", subject=Subject.DATE) from None
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise InvalidInput(
            f"a date is between {FIRST_YEAR} and {LAST_YEAR}",
            subject=Subject.DATE_RANGE,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return found


def calendar_day(form: FormData | QueryParams, name: str) -> date | None:
    """
    A day written in either calendar, in any digits, with `-` or `/` between its parts:
    2025-03-01 (Gregorian, what a date input sends) or 1403/12/11 (Jalali: a year before
    1700). InvalidInput for anything else non-empty.
    """
    raw = ascii_digits(text(form, name))
    if not raw:
        return None
    found = _DAY.fullmatch(raw)
    if found is None:
        raise InvalidInput(
            f"{raw!r} is not a date (1403/12/11 or 2025-03-01)", subject=Subject.DATE
        )
    year, month, day_ = (int(part) for part in found.groups())
    try:
        if year < JALALI_BEFORE:
            found_day: date = jdatetime.date(year, month, day_).togregorian()
        else:
            found_day = date(year, month, day_)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a day of the calendar", subject=Subject.DATE) from None
    if not FIRST_YEAR <= found_day.year <= LAST_YEAR:
        raise InvalidInput(
            f"a date is between {FIRST_YEAR} and {LAST_YEAR}",
            subject=Subject.DATE_RANGE,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return found_day


JALALI_BEFORE = 1700  # a year before this is a Jalali one (1403 is 2024-25)
_DAY = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")


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
