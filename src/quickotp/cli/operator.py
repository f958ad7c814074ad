"""
The operator's commands on accounts and people: `accounts`, `lines`, `tokens`, `patterns`,
`credit`, `operators` and `users`. Each change goes through the operator's use cases
(services/desk.py), which the panel calls too, and is written to the audit log as
`cli:<login>`.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from quickotp.bootstrap import Runtime
from quickotp.cli import args as types
from quickotp.cli.args import group, subcommand
from quickotp.cli.console import console
from quickotp.cli.output import emit, plain
from quickotp.domain.errors import InvalidInput, Subject
from quickotp.domain.models import PatternState
from quickotp.domain.text import text_problem


def add_commands(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    """Add the account families to the `quickotp` command's subcommands."""
    accounts = group(commands, "accounts", "accounts that send")
    create = subcommand(accounts, common, "create", _accounts_create, "create an account")
    create.add_argument("--name", type=types.text, required=True)
    money = create.add_mutually_exclusive_group()
    money.add_argument("--credit", type=types.credit, default=0, metavar="RIAL")
    money.add_argument("--unlimited", action="store_true")
    create.add_argument("--sender", type=types.text, default="10001", help="the SMS source address")
    subcommand(accounts, common, "list", _accounts_list, "list accounts")
    change = subcommand(accounts, common, "set", _accounts_set, "change an account's permissions")
    change.add_argument("id", type=types.record_id)
    change.add_argument(
        "--free-text",
        type=types.on_off,
        metavar="on|off",
        help="may it send text of its own (SendSimple, SendOTP), or only its patterns",
    )

    lines = group(commands, "lines", "an account's sender lines (LineNumber)")
    listing = subcommand(
        lines, common, "list", _lines_list, "list an account's lines, its default first"
    )
    listing.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    add = subcommand(lines, common, "add", _lines_add, "give an account another line")
    add.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    add.add_argument("--line", type=types.text, required=True)
    remove = subcommand(lines, common, "remove", _lines_remove, "take a line from an account")
    remove.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    remove.add_argument("--line", type=types.text, required=True)

    tokens = group(commands, "tokens", "API tokens")
    create = subcommand(tokens, common, "create", _tokens_create, "issue a token (shown once)")
    create.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    create.add_argument("--label", type=types.text, default="")
    create.add_argument("--expires", type=types.iso_datetime, metavar="ISO")
    create.add_argument("--allow-ip", action="append", default=[], metavar="CIDR")
    create.add_argument("--allow-method", action="append", default=[], metavar="METHOD")
    disable = subcommand(tokens, common, "disable", _tokens_disable, "switch a token off")
    disable.add_argument("id", type=types.record_id)

    patterns = group(commands, "patterns", "message patterns")
    create = subcommand(patterns, common, "create", _patterns_create, "create a pattern (pending)")
    create.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    create.add_argument("--text", required=True)
    create.add_argument("--otp", action="store_true", help="an OTP pattern: holds %%code%%")
    approve = subcommand(patterns, common, "approve", _patterns_approve, "approve a pattern")
    approve.add_argument("id", type=types.record_id)
    reject = subcommand(patterns, common, "reject", _patterns_reject, "reject a pattern")
    reject.add_argument("id", type=types.record_id)
    reject.add_argument("--reason", type=types.text, required=True)
    live = subcommand(
        patterns,
        common,
        "make-live",
        _patterns_make_live,
        "send its account's codes with this approved OTP pattern (the panel's Make live)",
    )
    live.add_argument("id", type=types.record_id)
    listing = subcommand(patterns, common, "list", _patterns_list, "list patterns")
    listing.add_argument("--account", type=types.record_id, metavar="ID")

    credit = group(commands, "credit", "account credit")
    add = subcommand(credit, common, "add", _credit_add, "add (or, negative, take) credit")
    add.add_argument("--account", type=types.record_id, required=True, metavar="ID")
    add.add_argument("--amount", type=types.amount, required=True, metavar="RIAL")
    add.add_argument("--reason", type=types.text, default="top-up")

    operators = group(
        commands, "operators", "the people who run the gateway (the panel's operators)"
    )
    create = subcommand(operators, common, "create", _operators_create, "create an operator")
    create.add_argument("--email", type=types.text, required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, not a prompt"
    )

    users = group(commands, "users", "the panel's people: operators and account users")
    off = subcommand(
        users,
        common,
        "two-step-off",
        _users_two_step_off,
        "turn two-step sign-in off for someone who lost their app and recovery codes",
    )
    off.add_argument("email", type=types.text)


# accounts and their lines ------------------------------------------------------------------


async def _accounts_create(runtime: Runtime, args: argparse.Namespace) -> int:
    account = await runtime.desk.create_account(
        console(), name=args.name, credit=args.credit, unlimited=args.unlimited, sender=args.sender
    )
    emit(args, account, f"account {account.id} created")
    return 0


async def _accounts_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.list_accounts()
    emit(
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
        raise InvalidInput(
            "nothing to set: give --free-text on|off", subject=Subject.NOTHING_TO_SET
        )
    account = await runtime.desk.set_free_text(console(), args.id, args.free_text)
    emit(
        args,
        account,
        f"account {account.id} may {'now' if account.free_text else 'no longer'} send free text",
    )
    return 0


async def _lines_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.account_lines(args.account)
    emit(args, {"account": args.account, "lines": found}, "\n".join(found))
    return 0


async def _lines_add(runtime: Runtime, args: argparse.Namespace) -> int:
    _emit_lines(args, await runtime.desk.add_line(console(), args.account, args.line))
    return 0


async def _lines_remove(runtime: Runtime, args: argparse.Namespace) -> int:
    _emit_lines(args, await runtime.desk.remove_line(console(), args.account, args.line))
    return 0


def _emit_lines(args: argparse.Namespace, found: list[str]) -> None:
    """The account's lines once a line was added or taken away."""
    text = f"account {args.account} lines: " + ", ".join(found)
    emit(args, {"account": args.account, "lines": found}, text)


# tokens, patterns and credit ---------------------------------------------------------------


async def _tokens_create(runtime: Runtime, args: argparse.Namespace) -> int:
    issued = await runtime.desk.issue_token(
        console(),
        args.account,
        label=args.label,
        expires_at=args.expires,
        allowed_ips=args.allow_ip,
        allowed_methods=args.allow_method,
    )
    emit(
        args,
        {"token": issued.secret, **plain(issued.token)},
        f"token {issued.token.id} for account {args.account} (shown once):\n{issued.secret}",
    )
    return 0


async def _tokens_disable(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.desk.disable_token(console(), args.id)
    emit(args, {"id": args.id, "active": False}, f"token {args.id} disabled")
    return 0


async def _patterns_create(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.desk.create_pattern(
        console(), args.account, text=args.text, otp=args.otp
    )
    emit(args, pattern, f"pattern {pattern.id} created, pending approval")
    return 0


async def _patterns_approve(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.desk.approve_pattern(console(), args.id)
    emit(args, pattern, f"pattern {pattern.id} approved")
    return 0


async def _patterns_reject(runtime: Runtime, args: argparse.Namespace) -> int:
    pattern = await runtime.desk.reject_pattern(console(), args.id, args.reason)
    emit(args, pattern, f"pattern {pattern.id} rejected")
    return 0


async def _patterns_make_live(runtime: Runtime, args: argparse.Namespace) -> int:
    account_id = (await runtime.store.get_pattern(args.id)).account_id
    pattern = await runtime.desk.choose_otp_pattern(console(), account_id, args.id)
    emit(
        args, pattern, f"pattern {pattern.id} is live: account {account_id} sends its codes with it"
    )
    return 0


async def _patterns_list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.store.list_patterns(args.account)
    lines = [
        f"{p.id}\taccount {p.account_id}\t{p.state}{' otp' if p.is_otp else ''}\t{p.text!r}"
        + (f"\t({p.reason})" if p.state is PatternState.REJECTED else "")
        for p in found
    ]
    emit(args, found, "\n".join(lines))
    return 0


async def _credit_add(runtime: Runtime, args: argparse.Namespace) -> int:
    account, _ = await runtime.desk.add_credit(console(), args.account, args.amount, args.reason)
    emit(args, account, f"account {account.id} credit is now {account.credit} rial")
    return 0


# operators ---------------------------------------------------------------------------------


async def _operators_create(runtime: Runtime, args: argparse.Namespace) -> int:
    password = _read_password(stdin=args.password_stdin)
    user = await runtime.desk.create_operator(console(), email=args.email, password=password)
    emit(args, user, f"operator {user.id} ({user.email}) created: sign in at /panel/")
    return 0


async def _users_two_step_off(runtime: Runtime, args: argparse.Namespace) -> int:
    user = await runtime.desk.turn_off_two_factor_by_email(console(), args.email)
    emit(
        args,
        user,
        f"two-step sign-in is off for user {user.id} ({user.email}):"
        " they sign in with their password alone, and may turn it on again in Settings",
    )
    return 0


def _read_password(*, stdin: bool) -> str:
    """A new password: one line of stdin, or asked for twice at the terminal."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password for the new operator: ")
        if getpass.getpass("The same again: ") != password:
            raise InvalidInput("the two passwords differ", subject=Subject.PASSWORDS_DIFFER)
    if text_problem(password):
        raise InvalidInput(
            "a password holds no control characters or undecodable bytes",
            subject=Subject.CONTROL_CHARACTERS,
        )
    return password
