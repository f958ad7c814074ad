"""
SMS text: which alphabet a text needs, how many parts it costs, and pattern templates.

Pure. Part counting follows GSM 03.38 / 03.40: GSM-7 carries 160 septets in one part and
153 in each part of a concatenated message (the UDH takes 7); characters of the extension
table take two septets. Anything outside GSM-7 goes as UCS-2: 70 UTF-16 code units in one
part, 67 per concatenated part. Persian text is always UCS-2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from quickotp.domain.errors import (
    PatternTextEmpty,
    PatternVariablesInvalid,
    PatternWithoutVariables,
)

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Segmentation:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int


def encoding_for(text: str) -> Encoding:
    """GSM-7 when every character is in its basic or extension table, UCS-2 otherwise."""
    if all(ch in _BASIC or ch in _EXTENSION for ch in text):
        return Encoding.GSM7
    return Encoding.UCS2


def segment(text: str) -> Segmentation:
    """
    How `text` travels: its alphabet, its length in that alphabet, and its part count.

    A character is never cut across parts (an extension character's escape stays with it,
    a surrogate pair stays whole), so a part can carry one unit less than its room: parts
    are counted by filling them, as the SMPP transport splits.
    """
    encoding = encoding_for(text)
    if encoding is Encoding.GSM7:
        sizes = [2 if ch in _EXTENSION else 1 for ch in text]
        single, multi = 160, 153
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi = 70, 67
    units = sum(sizes)
    if units <= single:
        return Segmentation(encoding, units, 1)
    parts, room = 1, multi
    for size in sizes:
        if size > room:
            parts, room = parts + 1, multi
        room -= size
    return Segmentation(encoding, units, parts)


_VARIABLE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")
CODE_VARIABLE = "code"
MAX_PATTERN_LENGTH = 1000


def variables(text: str) -> list[str]:
    """The `%name%` variables of a pattern text, in order of first appearance."""
    seen: dict[str, None] = {}
    for name in _VARIABLE.findall(text):
        seen.setdefault(name, None)
    return list(seen)


def check_pattern(text: str, *, otp: bool) -> str:
    """
    A pattern text as it will be stored, or an InvalidPattern error saying why not.

    Every pattern defines at least one `%name%` variable. An OTP pattern must hold
    `%code%` and no other variable: the gateway fills in the code and nothing else.
    """
    text = text.strip()
    if not text:
        raise PatternTextEmpty("the pattern text is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternVariablesInvalid(
            f"the pattern text is longer than {MAX_PATTERN_LENGTH} characters"
        )
    names = variables(text)
    if not names:
        raise PatternWithoutVariables("the pattern text defines no %variable%")
    if otp:
        if CODE_VARIABLE not in names:
            raise PatternWithoutVariables("an OTP pattern must contain %code%")
        others = [name for name in names if name != CODE_VARIABLE]
        if others:
            raise PatternVariablesInvalid(f"an OTP pattern may hold only %code%, not %{others[0]}%")
    return text


def numeric_variables(text: str, *, otp: bool, named: str = "") -> list[str]:
    """
    The variables that take digits only: those named (comma-separated, as Amoot's
    NumberPatterns), which must all be variables of `text`; an OTP pattern's %code% always.
    """
    names = variables(text)
    chosen = [n.strip() for n in named.split(",") if n.strip()]
    outside = [n for n in chosen if n not in names]
    if outside:
        raise PatternVariablesInvalid(f"NumberPatterns names %{outside[0]}%, not in the text")
    if otp and CODE_VARIABLE not in chosen:
        chosen.insert(0, CODE_VARIABLE)
    return list(dict.fromkeys(chosen))


def render(text: str, values: dict[str, str]) -> str:
    """The pattern with each `%name%` replaced by its value (unknown names stay as written)."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def with_code(text: str, code: str) -> str:
    """
    Free text carrying a code (Amoot's SendOTP): every `%code%` in it replaced by the code,
    or, when it has none, the code on a line of its own after the text.
    """
    marker = f"%{CODE_VARIABLE}%"
    if marker in text:
        return text.replace(marker, code)
    return f"{text}\n{code}"
