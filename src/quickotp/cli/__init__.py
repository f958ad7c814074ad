"""
The `quickotp` command: serve, migrate, prune, backup, and the operator's accounts, tokens,
patterns, credit and messages; `send` and `verify` (cli/client.py) call a running gateway's
API. Errors become one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from quickotp.adapters.archive import JsonLinesArchive
from quickotp.adapters.store.backup import backup_sqlite, sqlite_path
from quickotp.adapters.transports.routed import check_url
from quickotp.bootstrap import Runtime, build_app, build_runtime, settle_heap
from quickotp.cli import client as client_cli
from quickotp.domain.errors import (
    ConfigurationError,
    Conflict,
    GatewayError,
    InvalidInput,
    NotFound,
    RequestRejected,
)
from quickotp.domain.models import PatternState, Role
from quickotp.domain.retention import age
from quickotp.domain.routing import DEFAULT_PRIORITY, Route, checked_route
from quickotp.domain.text import text_problem
from quickotp.domain.urls import host_problem
from quickotp.services.admin import MAX_CREDIT
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
DEMO_ACCOUNT = "demo"
DEMO_PATTERN = "کد ورود شما: %code%\nQuickOTP"
DEMO_OPERATOR = "operator@demo.quickotp.local"
DEMO_USER = "user@demo.quickotp.local"


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
    logging.getLogger("quickotp").setLevel(_log_level(environ, quiet))
    try:
        if args.command in client_cli.COMMANDS:  # API clients: no database, no secret key
            return client_cli.run(args, environ)
        settings = Settings.from_env(environ, dev=True if getattr(args, "dev", False) else None)
        if args.command == "serve":
            return _serve(settings, args, environ)
        if args.command == "dispatch":
            return asyncio.run(_dispatch(settings, args))
        if args.command == "backup":
            return _backup(settings, args)
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


# serve and dispatch --------------------------------------------------------------------


async def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """
    Deliver accepted messages until SIGTERM or SIGINT; no API, and /metrics only on
    --metrics-port (stopped first, before the sends in flight are finished).
    """
    from quickotp.web.metrics import MetricsServer

    runtime = build_runtime(settings, dispatch=True, admit=False)
    token = settings.metrics_token.reveal() if settings.metrics_token else None
    metrics = (
        MetricsServer(args.metrics_host, args.metrics_port, token=token)
        if args.metrics_port
        else None
    )
    try:
        await runtime.check_schema()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if metrics is not None:
            metrics.start()
        await runtime.start()
        settle_heap()
        log.info(
            "dispatching from %s%s",
            runtime.engines.dialect,
            f"; /metrics on {args.metrics_host}:{metrics.port}" if metrics else "",
        )
        await stop.wait()
        log.info("stopping: finishing the sends in flight")
    finally:
        if metrics is not None:
            metrics.stop()
        await runtime.aclose()
    return 0


def _serve(settings: Settings, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.workers > 1:
        return _serve_workers(settings, args, environ)
    import uvicorn

    runtime = build_runtime(settings, dispatch=False if args.no_dispatch else None)
    banner = asyncio.run(_prepare(runtime, args))
    if banner:
        print(banner, flush=True)  # noqa: T201 - dev mode's welcome, with the demo token
    uvicorn.run(
        build_app(runtime, settle=True, serve_metrics=True),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=_http_protocol(settings),
        access_log=False,  # uvicorn's access log writes query strings: tokens and codes
        log_level="warning",
        **forwarding(settings),
        limit_concurrency=settings.max_connections,
    )
    return 0


def _serve_workers(settings: Settings, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """
    `serve --workers N`: N API processes on one socket (uvicorn's supervisor), each building
    its own Runtime from the environment, with a dispatcher unless --no-dispatch. The schema
    check and dev mode's demo account happen once, here, before they start.
    """
    import uvicorn

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"--workers {args.workers} needs PostgreSQL (QUICKOTP_DATABASE_URL=postgresql://...):"
            " processes sharing one SQLite file queue on its single writer and serve no more"
            " than one process does"
        )
    runtime = build_runtime(settings, dispatch=False, admit=False)
    banner = asyncio.run(_prepare(runtime, args))
    if banner:
        print(banner, flush=True)  # noqa: T201 - dev mode's welcome, with the demo token
    # The workers are new interpreters: they read their settings from the environment.
    if environ is not os.environ:
        os.environ.update(environ)
    if settings.dev:
        os.environ["QUICKOTP_DEV"] = "1"
    if args.no_dispatch:
        os.environ["QUICKOTP_NO_DISPATCH"] = "1"
    uvicorn.run(
        "quickotp.bootstrap:app_from_environment",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=_http_protocol(settings),
        access_log=False,  # uvicorn's access log writes query strings: tokens and codes
        log_level="warning",
        log_config=logs.dict_config(
            environ.get("QUICKOTP_LOG_FORMAT", "plain").strip().lower(),
            _log_level(environ, "INFO"),
        ),
        **forwarding(settings),
        limit_concurrency=settings.max_connections,
    )
    return 0


def _log_level(environ: Mapping[str, str], default: str) -> str:
    """QUICKOTP_LOG_LEVEL, QuickOTP's own loggers' level, when it names one."""
    level = environ.get("QUICKOTP_LOG_LEVEL", default).upper()
    return level if level in {"DEBUG", "INFO", "WARNING", "ERROR"} else default


def _http_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The HTTP protocol `serve` runs: uvicorn's httptools with our writes, deadlines and cap."""
    from quickotp.web.connections import ConnectionLimits, limited_protocol

    return limited_protocol(
        ConnectionLimits(
            head_seconds=settings.header_timeout.total_seconds(),
            body_seconds=settings.body_timeout.total_seconds(),
            per_address=settings.max_connections_per_address,
        )
    )


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= count <= 256:
        raise argparse.ArgumentTypeError("from 1 to 256 processes")
    return count


def forwarding(settings: Settings) -> dict[str, Any]:
    """
    uvicorn's proxy-header options: X-Forwarded-For (and -Proto) believed only from the
    proxies in QUICKOTP_FORWARDED_ALLOW_IPS, and from no one when it is empty (the default).
    uvicorn itself would believe 127.0.0.1 (its FORWARDED_ALLOW_IPS default), so that any
    local process could claim any address past token IP allow-lists and per-address limits.
    """
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.forwarded_allow_ips)}


async def _prepare(runtime: Runtime, args: argparse.Namespace) -> str:
    """Check (or, in dev mode, bring up) the schema; in dev mode make the demo account."""
    try:
        if runtime.settings.dev:
            await runtime.migrate()
        else:
            await runtime.check_schema()
        return await _demo(runtime, args) if runtime.settings.dev else ""
    finally:
        await runtime.engines.dispose()


async def _demo(runtime: Runtime, args: argparse.Namespace) -> str:
    admin = runtime.admin
    account = next((a for a in await admin.list_accounts() if a.name == DEMO_ACCOUNT), None)
    if account is None:
        account = await admin.create_account(
            name=DEMO_ACCOUNT, credit=10_000_000, sender="10001234"
        )
        pattern = await admin.create_pattern(account_id=account.id, text=DEMO_PATTERN, otp=True)
        await admin.approve_pattern(pattern.id)
    issued = await admin.issue_token(account_id=account.id, label="dev")
    base = f"http://{args.host}:{args.port}"
    # Fresh passwords at every start: dev mode prints them, so they must not outlive it.
    people = []
    for email, role, account_id in (
        (DEMO_OPERATOR, Role.OPERATOR, None),
        (DEMO_USER, Role.USER, account.id),
    ):
        password = secrets.token_urlsafe(12)
        await runtime.users.ensure_user(
            email=email, password=password, role=role, account_id=account_id
        )
        people.append(f"  {role.value:<9} {email}  password {password}")
    return "\n".join(
        [
            "QuickOTP dev mode: SQLite at "
            f"{runtime.settings.database_url}, SMS printed as JSON lines "
            f"({runtime.settings.sink_file or 'stdout'}).",
            f"Demo account {account.id} ({account.name!r}), approved OTP pattern, a new token:",
            f"  {issued.secret}",
            "Try:",
            f"  curl -X POST {base}/rest/SendQuickOTP -H 'Authorization: {issued.secret}' "
            "-d Mobile=09120000000 -d CodeLength=6 -d OptionalCode=",
            f"The panel: {base}/panel/ (sign in as either):",
            *people,
        ]
    )


# retention and backups ------------------------------------------------------------------


async def _prune(runtime: Runtime, args: argparse.Namespace) -> int:
    older_than: timedelta | None = args.older_than
    if older_than is None:
        if not runtime.settings.retention_days:
            raise InvalidInput(
                "QUICKOTP_RETENTION_DAYS is 0 (no pruning by itself): give --older-than, as in 90d"
            )
        older_than = timedelta(days=runtime.settings.retention_days)
    archive = JsonLinesArchive.create(Path(args.archive)) if args.archive else None
    try:
        pruned = await runtime.pruning.prune(older_than, archive=archive, dry_run=args.dry_run)
    except BaseException:
        if archive is not None and archive.path.stat().st_size == 0:
            archive.path.unlink()  # nothing archived: the same name can be given again
        raise
    finally:
        if archive is not None:
            archive.close()
    counts = pruned.counts
    _emit(
        args,
        {"dry_run": pruned.dry_run, "before": pruned.before, **dataclasses.asdict(counts)},
        f"{'would remove' if pruned.dry_run else 'removed'} {counts.messages} message(s),"
        f" {counts.verifications} verification(s), {counts.webhook_deliveries} webhook"
        f" delivery(ies) and {counts.orphan_reports} parked report(s) from before"
        f" {pruned.before.isoformat()}" + (f"; archived to {args.archive}" if args.archive else ""),
    )
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    source = sqlite_path(settings.database_url)
    if source is None:
        print(  # noqa: T201 - the CLI's answer: nothing was done
            "quickotp: backup copies SQLite databases only; back up PostgreSQL with pg_dump,"
            " or with base backups and WAL archiving (point-in-time recovery)",
            file=sys.stderr,
        )
        return 1
    made = backup_sqlite(source, Path(args.file))
    _emit(
        args,
        {"path": str(made.path), "pages": made.pages, "bytes": made.bytes},
        f"backed up {source} to {made.path} ({made.bytes:,} bytes)",
    )
    return 0


def _age(text: str) -> timedelta:
    try:
        return age(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# operator commands ----------------------------------------------------------------------


async def _operators_create(runtime: Runtime, args: argparse.Namespace) -> int:
    password = _read_password(stdin=args.password_stdin)
    user = await runtime.users.create_operator(email=args.email, password=password)
    await runtime.desk.note_cli("operator.create", f"user:{user.id}", user.email)
    _emit(args, user, f"operator {user.id} ({user.email}) created: sign in at /panel/")
    return 0


def _read_password(*, stdin: bool) -> str:
    """A new password: one line of stdin, or asked for twice at the terminal."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password for the new operator: ")
        if getpass.getpass("The same again: ") != password:
            raise InvalidInput("the two passwords differ")
    if text_problem(password):
        raise InvalidInput("a password holds no control characters or undecodable bytes")
    return password


async def _run_command(settings: Settings, args: argparse.Namespace) -> int:
    runtime = build_runtime(settings, dispatch=False)
    try:
        if args.command == "migrate":
            await runtime.migrate()
            _emit(args, {"migrated": True}, "the schema is current")
            return 0
        await runtime.check_schema()
        action: Callable[[Runtime, argparse.Namespace], Awaitable[int]] = args.action
        return await action(runtime, args)
    finally:
        await runtime.engines.dispose()


async def _accounts_create(runtime: Runtime, args: argparse.Namespace) -> int:
    account = await runtime.admin.create_account(
        name=args.name, credit=args.credit, unlimited=args.unlimited, sender=args.sender
    )
    _emit(args, account, f"account {account.id} created")
    return 0


async def _accounts_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.list_accounts()
    _emit(
        args,
        found,
        "\n".join(
            f"{a.id}\t{a.name}\t{'unlimited' if a.unlimited else a.credit}\t{a.sender}"
            f"\t{'active' if a.active else 'disabled'}"
            for a in found
        ),
    )
    return 0


async def _accounts_set(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.free_text is None:
        raise InvalidInput("nothing to set: give --free-text on|off")
    account = await runtime.admin.set_free_text(args.id, args.free_text)
    _emit(
        args,
        account,
        f"account {account.id} may {'now' if account.free_text else 'no longer'} send free text",
    )
    return 0


async def _lines_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.account_lines(args.account)
    _emit(args, {"account": args.account, "lines": found}, "\n".join(found))
    return 0


async def _lines_add(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.add_line(args.account, args.line)
    _emit(
        args,
        {"account": args.account, "lines": found},
        f"account {args.account} lines: " + ", ".join(found),
    )
    return 0


async def _lines_remove(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.remove_line(args.account, args.line)
    _emit(
        args,
        {"account": args.account, "lines": found},
        f"account {args.account} lines: " + ", ".join(found),
    )
    return 0


async def _tokens_create(runtime: Runtime, args: argparse.Namespace) -> int:
    issued = await runtime.admin.issue_token(
        account_id=args.account,
        label=args.label,
        expires_at=args.expires,
        allowed_ips=args.allow_ip,
        allowed_methods=args.allow_method,
    )
    _emit(
        args,
        {"token": issued.secret, **_plain(issued.token)},
        f"token {issued.token.id} for account {args.account} (shown once):\n{issued.secret}",
    )
    return 0


async def _tokens_disable(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.store.set_token_active(args.id, False)
    _emit(args, {"id": args.id, "active": False}, f"token {args.id} disabled")
    return 0


async def _patterns_create(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.admin.create_pattern(
        account_id=args.account, text=args.text, otp=args.otp
    )
    _emit(args, pattern, f"pattern {pattern.id} created, pending approval")
    return 0


async def _patterns_approve(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.admin.approve_pattern(args.id)
    _emit(args, pattern, f"pattern {pattern.id} approved")
    return 0


async def _patterns_reject(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.admin.reject_pattern(args.id, args.reason)
    _emit(args, pattern, f"pattern {pattern.id} rejected")
    return 0


async def _patterns_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.store.list_patterns(args.account)
    lines = [
        f"{p.id}\taccount {p.account_id}\t{p.state}{' otp' if p.is_otp else ''}\t{p.text!r}"
        + (f"\t({p.reason})" if p.state is PatternState.REJECTED else "")
        for p in found
    ]
    _emit(args, found, "\n".join(lines))
    return 0


async def _credit_add(runtime: Runtime, args: argparse.Namespace) -> int:
    account = await runtime.admin.add_credit(args.account, args.amount, args.reason)
    _emit(args, account, f"account {account.id} credit is now {account.credit} rial")
    return 0


async def _messages_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.list_messages(args.account, args.limit)
    lines = [
        f"{m.id}\t{m.created_at:%Y-%m-%d %H:%M:%S}\taccount {m.account_id}\t...{m.mobile[-4:]}"
        f"\t{m.status}\t{m.parts} part(s)\t{m.cost} rial"
        for m in found
    ]
    _emit(args, [_message_view(m) for m in found], "\n".join(lines))
    return 0


async def _messages_scheduled(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.scheduled(args.account, args.limit)
    lines = [
        f"{m.id}\tsend at {m.not_before:%Y-%m-%d %H:%M:%S}Z\taccount {m.account_id}"
        f"\t...{m.mobile[-4:]}\tline {m.sender}\t{m.parts} part(s)\t{m.cost} rial"
        for m in found
        if m.not_before is not None
    ]
    _emit(args, [_message_view(m) for m in found], "\n".join(lines) or "nothing scheduled")
    return 0


async def _messages_cancel(runtime: Runtime, args: argparse.Namespace) -> int:
    message = await runtime.admin.cancel_message(args.id)
    await runtime.desk.note_cli("message.cancel", f"message:{message.id}")
    _emit(args, _message_view(message), f"message {message.id} canceled; its charge returned")
    return 0


async def _routes_add(runtime: Runtime, args: argparse.Namespace) -> int:
    url = sys.stdin.readline().strip() if args.url == "-" else args.url.strip()
    if text_problem(url):
        raise InvalidInput("a route URL holds no control characters or undecodable bytes")
    kind, shown = check_url(url)
    for account_id in args.account:
        await runtime.store.get_account(account_id)  # NotFound for an unknown account
    route = checked_route(
        name=args.name,
        kind=kind,
        url=url,
        shown=shown,
        prefixes=args.prefix,
        accounts=args.account,
        priority=args.priority,
        lines=args.line,
    )
    await runtime.route_book.add(route, runtime.admin.clock())
    _emit(args, _route_view(route), f"route {route.name} added ({shown}); dispatchers use it soon")
    return 0


async def _routes_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.route_book.listing()
    lines = [
        f"{r.name}\t{r.kind}\tpriority {r.priority}"
        f"\t{' '.join(r.prefixes) or 'any number'}"
        f"\t{'accounts ' + ' '.join(map(str, r.accounts)) if r.accounts else 'every account'}"
        f"\t{'lines ' + ' '.join(r.lines) if r.lines else 'any line'}"
        f"\t{r.shown}" + ("" if r.enabled else "\tswitched off")
        for r in found
    ]
    _emit(args, [_route_view(r) for r in found], "\n".join(lines) or "no routes: the log sink")
    return 0


async def _routes_remove(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.route_book.remove(args.name)
    _emit(args, {"name": args.name, "removed": True}, f"route {args.name} removed")
    return 0


def _route_view(route: Route) -> dict[str, Any]:
    """A route as the CLI shows it: its URL with the credential blanked, never in full."""
    return {
        "name": route.name,
        "kind": route.kind,
        "url": route.shown,
        "prefixes": list(route.prefixes),
        "accounts": list(route.accounts),
        "priority": route.priority,
        "lines": list(route.lines),
        "enabled": route.enabled,
    }


def _message_view(message: Any) -> dict[str, Any]:
    """A message as the CLI shows it: the number shortened, the text as stored (masked)."""
    view: dict[str, Any] = _plain(message)
    view["mobile"] = "..." + message.mobile[-4:]
    return view


# output ----------------------------------------------------------------------------------


def _emit(args: argparse.Namespace, value: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(_plain(value), default=_default).decode() + "\n")
    elif text:
        sys.stdout.write(text + "\n")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    raise TypeError(type(value).__name__)


def _iso_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2027-01-01T00:00:00+03:30")
    return moment


MAX_ID = 2**63 - 1  # the database's integer


def _text(text: str) -> str:
    """An argument stored as typed (a name, an email): no control characters, valid UTF-8."""
    if problem := text_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text


def _whole(text: str, low: int, high: int, what: str) -> int:
    """A whole number in low..high, of ASCII digits (and a sign) only."""
    digits = text.removeprefix("-").removeprefix("+") if low < 0 else text
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} is from {low:,} to {high:,}")
    return value


def _id(text: str) -> int:
    """An account, token, pattern or message id: 1 .. 2^63-1."""
    return _whole(text, 1, MAX_ID, "an id")


def _credit(text: str) -> int:
    """A starting credit in rial: 0 .. MAX_CREDIT."""
    return _whole(text, 0, MAX_CREDIT, "a credit")


def _amount(text: str) -> int:
    """A credit change in rial: within ±MAX_CREDIT."""
    return _whole(text, -MAX_CREDIT, MAX_CREDIT, "an amount")


def _on_off(text: str) -> bool:
    if text.strip().lower() in {"on", "yes", "true", "1"}:
        return True
    if text.strip().lower() in {"off", "no", "false", "0"}:
        return False
    raise argparse.ArgumentTypeError(f"on or off, not {text[:20]!r}")


def _port(text: str) -> int:
    return _whole(text, 1, 65535, "a port")


def _host(text: str) -> str:
    """An address to listen on: an IP address or a name IDNA encodes."""
    if problem := host_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser = argparse.ArgumentParser(prog="quickotp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the gateway")
    serve.add_argument("--host", type=_host, default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--dev", action="store_true", help="dev mode: demo account, own key")
    serve.add_argument(
        "--no-dispatch", action="store_true", help="accept only; a `dispatch` process delivers"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="API processes on one port (PostgreSQL only); each dispatches unless --no-dispatch",
    )

    commands.add_parser("migrate", parents=[common], help="bring the schema up to date")
    dispatch = commands.add_parser(
        "dispatch", parents=[common], help="deliver accepted messages (no API; run any number)"
    )
    dispatch.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus's /metrics on this port (none without it)",
    )
    dispatch.add_argument(
        "--metrics-host", type=_host, default="127.0.0.1", help="the address for /metrics"
    )
    prune = commands.add_parser(
        "prune", parents=[common], help="remove finished messages older than an age"
    )
    prune.set_defaults(action=_prune)
    prune.add_argument(
        "--older-than",
        type=_age,
        metavar="DAYS",
        help="whole days, as in 30d (default: QUICKOTP_RETENTION_DAYS)",
    )
    what = prune.add_mutually_exclusive_group()
    what.add_argument(
        "--archive", metavar="FILE.jsonl.gz", help="write what is removed here first (a new file)"
    )
    what.add_argument("--dry-run", action="store_true", help="count only; remove nothing")
    backup = commands.add_parser(
        "backup", parents=[common], help="copy the SQLite database while the gateway runs"
    )
    backup.add_argument("file", help="the copy: a new file")

    def group(name: str, help_text: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        sub = commands.add_parser(name, help=help_text).add_subparsers(dest="sub", required=True)
        return sub

    def command(
        sub: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        action: Callable[[Runtime, argparse.Namespace], Awaitable[int]],
        help_text: str,
    ) -> argparse.ArgumentParser:
        found = sub.add_parser(name, parents=[common], help=help_text)
        found.set_defaults(action=action)
        return found

    accounts = group("accounts", "accounts that send")
    create = command(accounts, "create", _accounts_create, "create an account")
    create.add_argument("--name", type=_text, required=True)
    money = create.add_mutually_exclusive_group()
    money.add_argument("--credit", type=_credit, default=0, metavar="RIAL")
    money.add_argument("--unlimited", action="store_true")
    create.add_argument("--sender", type=_text, default="10001", help="the SMS source address")
    command(accounts, "list", _accounts_list, "list accounts")
    change = command(accounts, "set", _accounts_set, "change an account's permissions")
    change.add_argument("id", type=_id)
    change.add_argument(
        "--free-text",
        type=_on_off,
        metavar="on|off",
        help="may it send text of its own (SendSimple, SendOTP), or only its patterns",
    )

    lines = group("lines", "an account's sender lines (LineNumber)")
    listing = command(lines, "list", _lines_list, "list an account's lines, its default first")
    listing.add_argument("--account", type=_id, required=True, metavar="ID")
    add = command(lines, "add", _lines_add, "give an account another line")
    add.add_argument("--account", type=_id, required=True, metavar="ID")
    add.add_argument("--line", type=_text, required=True)
    remove = command(lines, "remove", _lines_remove, "take a line from an account")
    remove.add_argument("--account", type=_id, required=True, metavar="ID")
    remove.add_argument("--line", type=_text, required=True)

    tokens = group("tokens", "API tokens")
    create = command(tokens, "create", _tokens_create, "issue a token (shown once)")
    create.add_argument("--account", type=_id, required=True, metavar="ID")
    create.add_argument("--label", type=_text, default="")
    create.add_argument("--expires", type=_iso_datetime, metavar="ISO")
    create.add_argument("--allow-ip", action="append", default=[], metavar="CIDR")
    create.add_argument("--allow-method", action="append", default=[], metavar="METHOD")
    disable = command(tokens, "disable", _tokens_disable, "switch a token off")
    disable.add_argument("id", type=_id)

    patterns = group("patterns", "message patterns")
    create = command(patterns, "create", _patterns_create, "create a pattern (pending)")
    create.add_argument("--account", type=_id, required=True, metavar="ID")
    create.add_argument("--text", required=True)
    create.add_argument("--otp", action="store_true", help="an OTP pattern: holds %%code%%")
    approve = command(patterns, "approve", _patterns_approve, "approve a pattern")
    approve.add_argument("id", type=_id)
    reject = command(patterns, "reject", _patterns_reject, "reject a pattern")
    reject.add_argument("id", type=_id)
    reject.add_argument("--reason", type=_text, required=True)
    listing = command(patterns, "list", _patterns_list, "list patterns")
    listing.add_argument("--account", type=_id, metavar="ID")

    credit = group("credit", "account credit")
    add = command(credit, "add", _credit_add, "add (or, negative, take) credit")
    add.add_argument("--account", type=_id, required=True, metavar="ID")
    add.add_argument("--amount", type=_amount, required=True, metavar="RIAL")
    add.add_argument("--reason", type=_text, default="top-up")

    operators = group("operators", "the people who run the gateway (the panel's operators)")
    create = command(operators, "create", _operators_create, "create an operator")
    create.add_argument("--email", type=_text, required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, not a prompt"
    )

    routes = group("routes", "where messages go: SMPP, Amoot, Kavenegar")
    add = command(routes, "add", _routes_add, "add a route")
    add.add_argument("name", help="1-40 letters, digits, '.', '_', '-'")
    add.add_argument(
        "--url",
        required=True,
        help="smpp://SYSTEM_ID:PASSWORD@HOST:PORT?..., amoot://TOKEN@HOST, "
        "kavenegar://APIKEY@HOST?template=NAME; '-' reads it from stdin",
    )
    add.add_argument(
        "--prefix", action="append", default=[], help="destination prefix, e.g. 98912 (repeat)"
    )
    add.add_argument(
        "--account", action="append", type=_id, default=[], metavar="ID", help="(repeat)"
    )
    add.add_argument(
        "--priority",
        type=lambda text: _whole(text, -1_000_000, 1_000_000, "a priority"),
        default=DEFAULT_PRIORITY,
        help="lower is tried first",
    )
    add.add_argument(
        "--line", action="append", default=[], help="carry only this sender line (repeat)"
    )
    command(routes, "list", _routes_list, "list routes (credentials blanked)")
    remove = command(routes, "remove", _routes_remove, "remove a route")
    remove.add_argument("name")

    messages = group("messages", "sent messages")
    listing = command(messages, "list", _messages_list, "list recent messages")
    listing.add_argument("--account", type=_id, metavar="ID")
    listing.add_argument(
        "--limit", type=lambda text: _whole(text, 1, 10_000, "a limit"), default=50
    )
    scheduled = command(
        messages, "scheduled", _messages_scheduled, "list messages waiting for their send time"
    )
    scheduled.add_argument("--account", type=_id, metavar="ID")
    scheduled.add_argument(
        "--limit", type=lambda text: _whole(text, 1, 10_000, "a limit"), default=100
    )
    cancel = command(messages, "cancel", _messages_cancel, "cancel a message not yet sent")
    cancel.add_argument("id", type=_id)

    client_cli.add_commands(commands, common)
    return parser
