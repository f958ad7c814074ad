"""
The `quickotp` command: serve, migrate, prune, backup, and the operator's accounts, tokens,
patterns, credit and messages; `send` and `verify` (cli/client.py) call a running gateway's
API. Errors become one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from quickotp.bootstrap import build_runtime
from quickotp.cli import client as client_cli
from quickotp.cli import database, messages, operator, routes, serve
from quickotp.cli.args import Action
from quickotp.cli.output import emit
from quickotp.domain.errors import (
    ConfigurationError,
    Conflict,
    GatewayError,
    NotFound,
    RequestRejected,
)
from quickotp.settings import Settings
from quickotp.support import logs

log = logging.getLogger("quickotp")

EXIT_FOR_ERROR: dict[type[Exception], int] = {
    ConfigurationError: 78,  # EX_CONFIG
    NotFound: 3,
    Conflict: 4,
    RequestRejected: 2,
    GatewayError: 1,
}


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = os.environ if env is None else env
    quiet = "INFO" if args.command in {"serve", "dispatch"} else "WARNING"
    log_format = environ.get("QUICKOTP_LOG_FORMAT", "plain").strip().lower()
    if log_format not in logs.FORMATS:
        print(  # noqa: T201 - the CLI's error line, before logging is set up
            f"quickotp: QUICKOTP_LOG_FORMAT must be one of {', '.join(logs.FORMATS)},"
            f" not {log_format[:20]!r}",
            file=sys.stderr,
        )
        return EXIT_FOR_ERROR[ConfigurationError]
    logs.configure(log_format, quiet)
    # Our own loggers only: libraries at DEBUG write SQL with its parameters (codes).
    logging.getLogger("quickotp").setLevel(serve.log_level(environ, quiet))
    try:
        if args.command in client_cli.COMMANDS:  # API clients: no database, no secret key
            return client_cli.run(args, environ)
        settings = Settings.from_env(environ, dev=True if getattr(args, "dev", False) else None)
        if args.command == "serve":
            return serve.serve(settings, args, environ)
        if args.command == "dispatch":
            return asyncio.run(serve.dispatch(settings, args))
        if args.command == "backup":
            return database.backup(settings, args)
        return asyncio.run(_run_command(settings, args))
    except GatewayError as exc:
        print(f"quickotp: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error line
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or an unreachable database: one line, details in the log
        log.debug("unexpected failure", exc_info=exc)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"quickotp: {type(exc).__name__}: {first_line}", file=sys.stderr)  # noqa: T201
        return 1


def _exit_code(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_FOR_ERROR:
            return EXIT_FOR_ERROR[cls]
    return 1


async def _run_command(settings: Settings, args: argparse.Namespace) -> int:
    """`migrate`, or a command on a current schema (its `action`), then the engines closed."""
    runtime = build_runtime(settings, dispatch=False)
    try:
        if args.command == "migrate":
            await runtime.migrate()
            emit(args, {"migrated": True}, "the schema is current")
            return 0
        await runtime.check_schema()
        action: Action = args.action
        return await action(runtime, args)
    finally:
        await runtime.engines.dispose()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(prog="quickotp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_serve(commands, common)
    database.add_migrate(commands, common)
    serve.add_dispatch(commands, common)
    database.add_prune(commands, common)
    database.add_backup(commands, common)
    operator.add_commands(commands, common)
    routes.add_commands(commands, common)
    messages.add_commands(commands, common)
    client_cli.add_commands(commands, common)
    return parser
