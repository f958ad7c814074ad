"""
The database's upkeep: `quickotp migrate` (the schema brought up to date), `quickotp prune`
(finished messages older than an age removed, optionally archived first) and `quickotp
backup` (a copy of the SQLite database while the gateway runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import timedelta
from pathlib import Path

from quickotp.adapters.archive import JsonLinesArchive
from quickotp.adapters.store.backup import backup_sqlite, sqlite_path
from quickotp.bootstrap import Runtime
from quickotp.cli import args as types
from quickotp.cli.console import console
from quickotp.cli.output import emit
from quickotp.domain.errors import InvalidInput, Subject
from quickotp.settings import Settings


def add_migrate(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    commands.add_parser("migrate", parents=[common], help="bring the schema up to date")


def add_prune(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "prune", parents=[common], help="remove finished messages older than an age"
    )
    parser.set_defaults(action=prune)
    parser.add_argument(
        "--older-than",
        type=types.age,
        metavar="DAYS",
        help="whole days, as in 30d (default: QUICKOTP_RETENTION_DAYS)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--archive", metavar="FILE.jsonl.gz", help="write what is removed here first (a new file)"
    )
    what.add_argument("--dry-run", action="store_true", help="count only; remove nothing")


def add_backup(commands: types.Commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "backup", parents=[common], help="copy the SQLite database while the gateway runs"
    )
    parser.add_argument("file", help="the copy: a new file")


async def prune(runtime: Runtime, args: argparse.Namespace) -> int:
    older_than: timedelta | None = args.older_than
    if older_than is None:
        if not runtime.settings.retention_days:
            raise InvalidInput(
                "QUICKOTP_RETENTION_DAYS is 0 (no pruning by itself): give --older-than, as in 90d",
                subject=Subject.AGE,
            )
        older_than = timedelta(days=runtime.settings.retention_days)
    archive = JsonLinesArchive.create(Path(args.archive)) if args.archive else None
    try:
        pruned = await runtime.desk.prune(
            console(), older_than, archive=archive, dry_run=args.dry_run
        )
    except BaseException:
        if archive is not None and archive.path.stat().st_size == 0:
            archive.path.unlink()  # nothing archived: the same name can be given again
        raise
    finally:
        if archive is not None:
            archive.close()
    counts = pruned.counts
    emit(
        args,
        {"dry_run": pruned.dry_run, "before": pruned.before, **dataclasses.asdict(counts)},
        f"{'would remove' if pruned.dry_run else 'removed'} {counts.messages} message(s),"
        f" {counts.verifications} verification(s), {counts.webhook_deliveries} webhook"
        f" delivery(ies), {counts.orphan_reports} parked report(s),"
        f" {counts.event_deliveries} webhook event(s) and {counts.route_alarm_notices}"
        f" alarm notice(s) from before"
        f" {pruned.before.isoformat()}" + (f"; archived to {args.archive}" if args.archive else ""),
    )
    return 0


def backup(settings: Settings, args: argparse.Namespace) -> int:
    source = sqlite_path(settings.database_url)
    if source is None:
        print(  # noqa: T201 - the CLI's answer: nothing was done
            "quickotp: backup copies SQLite databases only; back up PostgreSQL with pg_dump,"
            " or with base backups and WAL archiving (point-in-time recovery)",
            file=sys.stderr,
        )
        return 1
    made = backup_sqlite(source, Path(args.file))
    emit(
        args,
        {"path": str(made.path), "pages": made.pages, "bytes": made.bytes},
        f"backed up {source} to {made.path} ({made.bytes:,} bytes)",
    )
    return 0
