"""
Before `serve` starts: the schema checked (in dev mode, brought up to date) and, in dev mode,
a demo account with an approved OTP pattern, a fresh token and the panel's demo people, made
through the operator's use cases as the command line; the banner that says how to try them.
"""

from __future__ import annotations

import argparse
import secrets

from quickotp.bootstrap import Runtime
from quickotp.cli.console import console
from quickotp.domain.models import Role

DEMO_ACCOUNT = "demo"
DEMO_PATTERN = "کد ورود شما: %code%\nQuickOTP"
DEMO_OPERATOR = "operator@demo.quickotp.local"
DEMO_USER = "user@demo.quickotp.local"


async def prepare(runtime: Runtime, args: argparse.Namespace) -> str:
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
    desk, who = runtime.desk, console()
    found = await runtime.admin.list_accounts()
    account = next((a for a in found if a.name == DEMO_ACCOUNT), None)
    if account is None:
        account = await desk.create_account(
            who, name=DEMO_ACCOUNT, credit=10_000_000, sender="10001234"
        )
        pattern = await desk.create_pattern(who, account.id, text=DEMO_PATTERN, otp=True)
        await desk.approve_pattern(who, pattern.id)
    issued = await desk.issue_token(who, account.id, label="dev")
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
