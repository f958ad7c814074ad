"""
The panel's two languages: English (the message ids themselves) and Persian, with Persian
digits, Jalali dates beside Gregorian ones, and right-to-left layout.

Every text a page shows goes through a Translator; `N_` marks a message id in Python code
so the catalog test finds it. The Persian catalog lives in `fa.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import jdatetime
from markupsafe import Markup, escape

from quickotp.panel.fa import FA

_PERSIAN_DIGITS = str.maketrans("0123456789", "".join(map(chr, range(0x6F0, 0x6FA))))
# Persian decimal and thousands separators, minus and percent signs, for numbers only.
_PERSIAN_SIGNS = str.maketrans(".,-%", "".join(map(chr, [0x66B, 0x66C, 0x2212, 0x66A])))
CATALOGS: dict[str, dict[str, str]] = {"fa": FA, "en": {}}
LANGUAGE_NAMES = {"fa": "فارسی", "en": "English"}


def N_(message: str) -> str:
    """Mark a message id for translation at render time (and for the catalog test)."""
    return message


def ltr(text: str) -> Markup:
    """
    `text` isolated left to right: a number with its sign, a path, a code name keeps its
    order inside a right-to-left sentence (a minus stays on the left of its digits).
    """
    return Markup('<span dir="ltr">{}</span>').format(text)


def ltr_runs(text: str, *runs: str) -> Markup:
    """`text` escaped, each of `runs` in it (a path, a variable's name) isolated by `ltr`."""
    html = escape(text)
    for run in runs:
        html = html.replace(escape(run), ltr(run))  # a Markup's replace keeps it markup
    return html


@dataclass(frozen=True)
class Translator:
    """Texts, numbers and times in one language, in one display zone."""

    locale: str
    zone: tzinfo

    @property
    def rtl(self) -> bool:
        return self.locale == "fa"

    def __call__(self, message: str, **values: Any) -> str:
        text = CATALOGS[self.locale].get(message, message)
        if values:
            text = text.format(**{k: self.value(v) for k, v in values.items()})
        return text

    def markup(self, message: str, **values: Any) -> Markup:
        """
        The message translated, as HTML: a value that is markup (a name isolated in <bdi>,
        a number in `ltr`) goes in as it is, anything else escaped.
        """
        text = escape(CATALOGS[self.locale].get(message, message))
        return text.format(
            **{k: v if isinstance(v, Markup) else self.value(v) for k, v in values.items()}
        )

    def plural(self, count: int, one: str, many: str) -> str:
        """
        `count` with its noun, filled into `one` ("{n} minute") when it is 1 and `many`
        ("{n} minutes") otherwise, translated. Persian puts no plural after a number: its
        catalog gives both the same translation.
        """
        return self(one if count == 1 else many, n=count)

    def value(self, value: Any) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return self.number(value)
        return str(value)

    def digits(self, text: object) -> str:
        """`text` with its digits in the language's own (Persian: U+06F0..U+06F9)."""
        return str(text).translate(_PERSIAN_DIGITS) if self.rtl else str(text)

    def number(self, value: float, decimals: int = 0) -> str:
        return self._numeral(f"{value:,.{decimals}f}")

    def signed(self, value: int) -> str:
        """A change of an amount, with its sign: +50,000 or -1,000."""
        return self._numeral(f"{value:+,}")

    def percent(self, share: float | None) -> str:
        return "—" if share is None else self._numeral(f"{share * 100:.1f}%")

    def _numeral(self, text: str) -> str:
        return self.digits(text).translate(_PERSIAN_SIGNS) if self.rtl else text

    def gregorian(self, moment: datetime, *, seconds: bool = False) -> str:
        local = moment.astimezone(self.zone)
        return self.digits(local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"))

    def jalali(self, moment: datetime, *, seconds: bool = False) -> str:
        local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(self.zone))
        return self.digits(local.strftime("%Y/%m/%d %H:%M:%S" if seconds else "%Y/%m/%d %H:%M"))

    def when(self, moment: datetime | None, *, seconds: bool = False) -> Markup:
        """
        A time for a page: in Persian the Jalali date with the Gregorian one beside it, in
        English the Gregorian date with the Jalali one in its tooltip.
        """
        if moment is None:
            return Markup("<span class=muted>—</span>")
        iso = moment.astimezone(self.zone).isoformat(timespec="seconds")
        jalali, gregorian = (
            self.jalali(moment, seconds=seconds),
            self.gregorian(moment, seconds=seconds),
        )
        if self.rtl:
            return Markup(
                '<time datetime="{}">{} <small class=muted dir=ltr>{}</small></time>'
            ).format(iso, jalali, gregorian)
        return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, jalali, gregorian)

    def day(self, day: date | None) -> Markup:
        """
        A calendar day: in Persian the Jalali date with the Gregorian one beside it, in
        English the Gregorian date with the Jalali one in its tooltip.
        """
        if day is None:
            return Markup("<span class=muted>—</span>")
        jalali = self.digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))
        gregorian = self.digits(day.isoformat())
        if self.rtl:
            return Markup(
                '<time datetime="{}">{} <small class=muted dir=ltr>{}</small></time>'
            ).format(day.isoformat(), jalali, gregorian)
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            day.isoformat(), jalali, gregorian
        )

    def field_day(self, day: date) -> str:
        """A day as a date field holds it: in Persian the Jalali day, in English ISO 8601."""
        if self.rtl:
            return self.digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))
        return day.isoformat()

    def bucket_label(self, start: datetime, bucket: str) -> str:
        """A chart bucket's label: the hour, or the day in the language's calendar."""
        if bucket == "hour":
            return self.digits(start.strftime("%H:00"))
        if self.rtl:
            return self.digits(jdatetime.date.fromgregorian(date=start.date()).strftime("%m/%d"))
        return start.strftime("%b %d")
