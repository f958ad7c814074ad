"""
`quickotp routes`: where messages go (SMPP, Amoot, Kavenegar). Adding and removing go through
the operator's use cases and the audit log; a route's URL is never printed in full.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from quickotp.bootstrap import Runtime
from quickotp.cli import args as types
from quickotp.cli.args import group, subcommand
from quickotp.cli.console import console
from quickotp.cli.output import emit
from quickotp.domain.routing import DEFAULT_PRIORITY, Route
from quickotp.services.routes import RouteForm


def add_commands(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    """Add `routes` to the `quickotp` command's subcommands."""
    routes = group(commands, "routes", "where messages go: SMPP, Amoot, Kavenegar")
    add = subcommand(routes, common, "add", _add, "add a route")
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
        "--account",
        action="append",
        type=types.record_id,
        default=[],
        metavar="ID",
        help="(repeat)",
    )
    add.add_argument(
        "--priority", type=types.priority, default=DEFAULT_PRIORITY, help="lower is tried first"
    )
    add.add_argument(
        "--line", action="append", default=[], help="carry only this sender line (repeat)"
    )
    subcommand(routes, common, "list", _list, "list routes (credentials blanked)")
    remove = subcommand(routes, common, "remove", _remove, "remove a route")
    remove.add_argument("name")


async def _add(runtime: Runtime, args: argparse.Namespace) -> int:
    url = sys.stdin.readline().strip() if args.url == "-" else args.url.strip()
    for account in args.account:  # exit 3 for an account that does not exist, as elsewhere
        await runtime.store.get_account(account)
    form = RouteForm(
        url=url,
        prefixes=args.prefix,
        accounts=[str(account) for account in args.account],
        priority=args.priority,
        lines=args.line,
    )
    route = await runtime.route_desk.add(console(), args.name, form)
    emit(
        args,
        _view(route),
        f"route {route.name} added ({route.shown}); dispatchers use it soon",
    )
    return 0


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    found = await runtime.route_book.listing()
    lines = [
        f"{r.name}\t{r.kind}\tpriority {r.priority}"
        f"\t{' '.join(r.prefixes) or 'any number'}"
        f"\t{'accounts ' + ' '.join(map(str, r.accounts)) if r.accounts else 'every account'}"
        f"\t{'lines ' + ' '.join(r.lines) if r.lines else 'any line'}"
        f"\t{r.shown}" + ("" if r.enabled else "\tswitched off")
        for r in found
    ]
    emit(args, [_view(r) for r in found], "\n".join(lines) or "no routes: the log sink")
    return 0


async def _remove(runtime: Runtime, args: argparse.Namespace) -> int:
    await runtime.route_desk.remove(console(), args.name)
    emit(args, {"name": args.name, "removed": True}, f"route {args.name} removed")
    return 0


def _view(route: Route) -> dict[str, Any]:
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
