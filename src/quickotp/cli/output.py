"""What a command prints: its sentence, or with --json one JSON document."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import datetime
from enum import Enum
from typing import Any

import orjson


def emit(args: argparse.Namespace, value: Any, text: str) -> None:
    """`value` as JSON with --json, else `text` (nothing when it is empty)."""
    if args.json:
        sys.stdout.write(orjson.dumps(plain(value), default=_default).decode() + "\n")
    elif text:
        sys.stdout.write(text + "\n")


def plain(value: Any) -> Any:
    """Records as dicts, all the way down; what JSON cannot hold is left to _default."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    raise TypeError(type(value).__name__)
