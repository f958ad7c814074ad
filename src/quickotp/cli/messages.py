"""
`quickotp messages`: sent and scheduled messages, and canceling one not yet sent (through the
operator's use cases and the audit log). Numbers are shown by their last four digits.
"""

from __future__ import annotations

import argparse
from typing import Any

from quickotp.bootstrap import Runtime
from quickotp.cli import args as types
from quickotp.cli.args import group, subcommand
from quickotp.cli.console import console
from quickotp.cli.output import emit, plain


def add_commands(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    """Add `messages` to the `quickotp` command's subcommands."""
    messages = group(commands, "messages", "sent messages")
    listing = subcommand(messages, common, "list", _list, "list recent messages")
    listing.add_argument("--account", type=types.record_id, metavar="ID")
    listing.add_argument("--limit", type=types.limit, default=50)
    scheduled = subcommand(
        messages, common, "scheduled", _scheduled, "list messages waiting for their send time"
    )
    scheduled.add_argument("--account", type=types.record_id, metavar="ID")
    scheduled.add_argument("--limit", type=types.limit, default=100)
    cancel = subcommand(messages, common, "cancel", _cancel, "cancel a message not yet sent")
    cancel.add_argument("id", type=types.record_id)


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.list_messages(args.account, args.limit)
    lines = [
        f"{m.id}\t{m.created_at:%Y-%m-%d %H:%M:%S}\taccount {m.account_id}\t...{m.mobile[-4:]}"
        f"\t{m.status}\t{m.parts} part(s)\t{m.cost} rial"
        for m in found
    ]
    emit(args, [_view(m) for m in found], "\n".join(lines))
    return 0


async def _scheduled(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.admin.scheduled(args.account, args.limit)
    lines = [
        f"{m.id}\tsend at {m.not_before:%Y-%m-%d %H:%M:%S}Z\taccount {m.account_id}"
        f"\t...{m.mobile[-4:]}\tline {m.sender}\t{m.parts} part(s)\t{m.cost} rial"
        for m in found
        if m.not_before is not None
    ]
    emit(args, [_view(m) for m in found], "\n".join(lines) or "nothing scheduled")
    return 0


async def _cancel(runtime: Runtime, args: argparse.Namespace) -> int:
    message = await runtime.desk.cancel_message(console(), args.id)
    emit(args, _view(message), f"message {message.id} canceled; its charge returned")
    return 0


def _view(message: Any) -> dict[str, Any]:
    """A message as the CLI shows it: the number shortened, the text as stored (masked)."""
    view: dict[str, Any] = plain(message)
    view["mobile"] = "..." + message.mobile[-4:]
    return view
