"""
`quickotp send` and `quickotp verify`: a person at a terminal sends a code and checks it,
through the Python client (quickotp-client, imported only here and only when run) against a
running gateway. No database and no secret key: a URL and a token (QUICKOTP_URL and
QUICKOTP_TOKEN, or --url and --token). The token is never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from quickotp.domain.text import text_problem

if TYPE_CHECKING:
    import quickotp_client

COMMANDS = frozenset({"send", "verify"})

# Exit codes, one per family of failure (docs/v1-api.md lists them).
EXIT_REFUSED = 1  # refused without a named reason (Failed), or a Status this client predates
EXIT_BAD_INPUT = 2  # as argparse's usage errors
EXIT_AUTH = 3
EXIT_CONFLICT = 4
EXIT_CODE_NOT_ACCEPTED = 5
EXIT_GUARD = 6
EXIT_ACCOUNT = 7
EXIT_GATEWAY_FAILED = 8
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: no answer
EXIT_PROTOCOL = 76  # EX_PROTOCOL: an answer that is not the API's
EXIT_CONFIG = 78  # EX_CONFIG: no URL or token, or the client is not installed
MAX_TIMEOUT = 3600.0  # seconds


def _timeout(text: str) -> float:
    """--timeout: a finite number of seconds above 0, at most MAX_TIMEOUT."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"a timeout is above 0 and at most {MAX_TIMEOUT:g} seconds"
        )
    return seconds


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add `send` and `verify` to the `quickotp` command's subcommands."""
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help="the gateway's base URL (default: $QUICKOTP_URL)")
    gateway.add_argument("--token", help="an API token (default: $QUICKOTP_TOKEN)")
    gateway.add_argument("--timeout", type=_timeout, default=10.0, metavar="SECONDS")

    send = commands.add_parser(
        "send", parents=[common, gateway], help="send a one-time code to a number (needs a token)"
    )
    send.add_argument("mobile")
    send.add_argument("--code-length", type=int, metavar="N", help="4 to 8 (default 6)")
    send.add_argument("--code", metavar="C", help="your own code (default: the gateway makes one)")

    verify = commands.add_parser(
        "verify", parents=[common, gateway], help="check a code sent to a number (needs a token)"
    )
    verify.add_argument("mobile")
    verify.add_argument("code")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run `send` or `verify`; errors are one line on stderr and a non-zero exit code."""
    try:
        import quickotp_client
    except ImportError:
        return _fail(
            "install quickotp-client to use send and verify (pip install -e sdk)", EXIT_CONFIG
        )
    url = args.url or env.get("QUICKOTP_URL", "")
    token = args.token or env.get("QUICKOTP_TOKEN", "")
    if not url:
        return _fail("no gateway URL: set QUICKOTP_URL or pass --url", EXIT_CONFIG)
    if not token:
        return _fail("no token: set QUICKOTP_TOKEN or pass --token", EXIT_CONFIG)
    if text_problem(url) or text_problem(token):
        return _fail("the URL or the token holds control characters or bytes", EXIT_CONFIG)
    given = [args.mobile, args.code or ""]
    if any(text_problem(text) for text in given):
        return _fail("the number or the code holds control characters or bytes", EXIT_BAD_INPUT)
    try:
        client = quickotp_client.Client(base_url=url, token=token, timeout=args.timeout)
    except ValueError as exc:  # a base URL or a token the client cannot use
        return _fail(str(exc), EXIT_CONFIG)
    try:
        with client:
            if args.command == "send":
                sent = client.send_quick_otp(
                    args.mobile, code_length=args.code_length, code=args.code
                )
                text = f"sent code {sent.code} to {sent.mobile} (message {sent.message_id})"
                _emit(args, sent, text)
            else:
                verified = client.verify_quick_otp(args.mobile, args.code)
                text = f"code accepted for {verified.mobile} (message {verified.message_id})"
                _emit(args, verified, text)
    except quickotp_client.QuickOTPError as exc:
        return _fail(str(exc), _exit_code(exc))
    except UnicodeError:  # a host name IDNA cannot encode, found only when connecting
        return _fail("the gateway URL's host is not a valid name", EXIT_CONFIG)
    return 0


def _exit_code(exc: quickotp_client.QuickOTPError) -> int:
    import quickotp_client as sdk

    exit_for_error: dict[type[Exception], int] = {
        sdk.InvalidRequestError: EXIT_BAD_INPUT,
        sdk.AuthError: EXIT_AUTH,
        sdk.ConflictError: EXIT_CONFLICT,
        sdk.VerificationError: EXIT_CODE_NOT_ACCEPTED,
        sdk.GuardError: EXIT_GUARD,
        sdk.AccountError: EXIT_ACCOUNT,
        sdk.ServiceError: EXIT_GATEWAY_FAILED,
        sdk.TransportError: EXIT_UNAVAILABLE,
        sdk.ResponseError: EXIT_PROTOCOL,
    }
    for cls in type(exc).__mro__:
        if cls in exit_for_error:
            return exit_for_error[cls]
    return EXIT_REFUSED


def _emit(args: argparse.Namespace, value: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(dataclasses.asdict(value)).decode() + "\n")
    else:
        sys.stdout.write(text + "\n")


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"quickotp: {message}\n")
    return code
