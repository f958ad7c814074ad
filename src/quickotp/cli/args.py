"""
The arguments the `quickotp` command takes: the types argparse checks them with (a bad one is
a usage error, exit 2, before anything is stored or bound), and the helpers that declare a
family of subcommands.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeAlias

from quickotp.bootstrap import Runtime
from quickotp.domain.errors import InvalidInput
from quickotp.domain.retention import age as parsed_age
from quickotp.domain.text import text_problem
from quickotp.domain.urls import host_problem
from quickotp.services.admin import MAX_CREDIT

MAX_ID = 2**63 - 1  # the database's integer

# What a subcommand runs: with the Runtime built and its schema checked; the exit code.
Action = Callable[[Runtime, argparse.Namespace], Awaitable[int]]
# A command's subcommands (argparse's class is generic to type checkers only).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def group(commands: Commands, name: str, help_text: str) -> Commands:
    """A family of subcommands, as `quickotp accounts ...`."""
    sub = commands.add_parser(name, help=help_text).add_subparsers(dest="sub", required=True)
    return sub


def subcommand(
    sub: Commands,
    common: argparse.ArgumentParser,
    name: str,
    action: Action,
    help_text: str,
) -> argparse.ArgumentParser:
    """One subcommand of a family, running `action`; it takes the common options (--json)."""
    found = sub.add_parser(name, parents=[common], help=help_text)
    found.set_defaults(action=action)
    return found


def text(given: str) -> str:
    """An argument stored as typed (a name, an email): no control characters, valid UTF-8."""
    if problem := text_problem(given):
        raise argparse.ArgumentTypeError(problem)
    return given


def whole(given: str, low: int, high: int, what: str) -> int:
    """A whole number in low..high, of ASCII digits (and a sign) only."""
    digits = given.removeprefix("-").removeprefix("+") if low < 0 else given
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
        raise argparse.ArgumentTypeError(f"not a whole number: {given[:40]!r}")
    value = int(given)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} is from {low:,} to {high:,}")
    return value


def record_id(given: str) -> int:
    """An account, token, pattern or message id: 1 .. 2^63-1."""
    return whole(given, 1, MAX_ID, "an id")


def credit(given: str) -> int:
    """A starting credit in rial: 0 .. MAX_CREDIT."""
    return whole(given, 0, MAX_CREDIT, "a credit")


def amount(given: str) -> int:
    """A credit change in rial: within ±MAX_CREDIT."""
    return whole(given, -MAX_CREDIT, MAX_CREDIT, "an amount")


def limit(given: str) -> int:
    """How many rows a list shows: 1 .. 10,000."""
    return whole(given, 1, 10_000, "a limit")


def priority(given: str) -> int:
    """A route's priority: within ±1,000,000."""
    return whole(given, -1_000_000, 1_000_000, "a priority")


def on_off(given: str) -> bool:
    if given.strip().lower() in {"on", "yes", "true", "1"}:
        return True
    if given.strip().lower() in {"off", "no", "false", "0"}:
        return False
    raise argparse.ArgumentTypeError(f"on or off, not {given[:20]!r}")


def port(given: str) -> int:
    return whole(given, 1, 65535, "a port")


def host(given: str) -> str:
    """An address to listen on: an IP address or a name IDNA encodes."""
    if problem := host_problem(given):
        raise argparse.ArgumentTypeError(problem)
    return given


def workers(given: str) -> int:
    try:
        count = int(given)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {given!r}") from None
    if not 1 <= count <= 256:
        raise argparse.ArgumentTypeError("from 1 to 256 processes")
    return count


def iso_datetime(given: str) -> datetime:
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {given!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2027-01-01T00:00:00+03:30")
    return moment


def age(given: str) -> timedelta:
    """An age in whole days, as in 30d."""
    try:
        return parsed_age(given)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
