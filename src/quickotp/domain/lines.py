"""
Sender lines: the names public clients send for a gateway's shared lines, and the shared
lines an operator sets (QUICKOTP_SHARED_LINES). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from quickotp.domain.errors import ConfigurationError

SHARED_NAMES = ("public", "service", "98")  # what Amoot's clients send for its shared lines
MAX_LINE = 20  # characters of a sender line, as the messages table keeps it


def line_problem(line: str) -> str | None:
    """Why `line` cannot be a sender line (1-20 printable ASCII characters, no space)."""
    if not 1 <= len(line) <= MAX_LINE or not line.isascii() or not line.isprintable():
        return f"a line is 1 to {MAX_LINE} printable ASCII characters"
    if " " in line:
        return "a line holds no spaces"
    return None


@dataclass(frozen=True)
class SharedLines:
    """
    The gateway's shared lines, by the names clients send for them. A name with no line
    set stands for the caller's own default line, so the vendor's samples
    (`LineNumber=public`) work on a gateway without shared lines.
    """

    by_name: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SharedLines:
        """
        `10001234` (one line for every name) or `public=10001234,98=9810001234` (per name);
        ConfigurationError for anything else.
        """
        by_name: dict[str, str] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            name, equals, line = entry.rpartition("=")
            line = line.strip()
            if problem := line_problem(line):
                raise ConfigurationError(f"QUICKOTP_SHARED_LINES: {line[:40]!r}: {problem}")
            names = [name.strip().lower()] if equals else list(SHARED_NAMES)
            for one in names:
                if one not in SHARED_NAMES:
                    raise ConfigurationError(
                        f"QUICKOTP_SHARED_LINES: {one[:40]!r} is not one of "
                        + ", ".join(SHARED_NAMES)
                    )
                by_name[one] = line
        return cls(by_name)

    @property
    def numbers(self) -> frozenset[str]:
        """The shared lines themselves, which a client may also name by number."""
        return frozenset(self.by_name.values())
