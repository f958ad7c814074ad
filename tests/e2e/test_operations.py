"""Operating a gateway with real processes: a backup under load and its restore, run as
docs/operations.md shows it; `prune` and `backup` at the command line; and the schema checks
that keep `serve` and `dispatch` off a database they do not match."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from quickotp.adapters.store.retention import PRUNE_LOCK
from tests.conftest import POSTGRES_URL, _fresh_postgres_database, service_missing
from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
SENDERS = 4
MAX_SENDS = 3000  # bounded: the load stops by itself, whatever happens to the test
MAX_SECONDS = 60
# One test client is all the traffic: the guard's request rates and pumping rule off.
UNTHROTTLED = {
    "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "0",
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}


def doc_commands(heading: str) -> list[str]:
    """The `$ ` command lines of the console blocks under `heading` in operations.md."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```console\n(.*?)```", section, re.DOTALL)
    return [
        line[2:].split("  #", 1)[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


def run_commands(gateway: Gateway, commands: list[str]) -> None:
    """Run documented commands in the gateway's directory, with its settings, as a shell would."""
    env = {
        **gateway.env,
        "QUICKOTP_DATABASE_URL": "sqlite:///quickotp.db",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for command in commands:
        done = subprocess.run(
            ["/bin/sh", "-ec", command],
            cwd=gateway.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)


class Load:
    """Sends from a few threads, each answer kept with the moment it came back."""

    def __init__(self, gateway: Gateway, token: str) -> None:
        self.gateway = gateway
        self.token = token
        self.answered: list[tuple[float, int]] = []  # (monotonic time, message id)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, args=(n,)) for n in range(SENDERS)]

    def send(self, n: int) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        with httpx.Client(base_url=self.gateway.url, timeout=10) as http:
            for i in range(MAX_SENDS // SENDERS):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                answer = http.post(
                    "/rest/SendQuickOTP",
                    headers={"Authorization": self.token},
                    data={"Mobile": f"0912{n}{i:06d}", "CodeLength": "6", "OptionalCode": ""},
                ).json()
                if answer["Status"] == "Success":
                    self.answered.append((time.monotonic(), answer["Data"]["MessageID"]))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(MAX_SECONDS + 10)

    def wait_for(self, count: int, *, after: float = 0.0) -> None:
        """Until `count` sends were answered after `after` (bounded: the load ends by itself)."""
        while len([t for t, _ in self.answered if t > after]) < count:
            assert any(thread.is_alive() for thread in self.threads), "the load ended first"
            time.sleep(0.05)


def test_a_backup_under_load_restores_every_answered_send(tmp_path: Path) -> None:
    """Sends run while `quickotp backup` copies; restored, each send answered before it is there."""
    gateway = Gateway(tmp_path, UNTHROTTLED)
    token = gateway.setup_account()
    gateway.start()
    try:
        with Load(gateway, token) as load:
            load.wait_for(200)  # under way before the backup begins
            began = time.monotonic()
            run_commands(gateway, doc_commands("Backup"))
            ended = time.monotonic()
            load.wait_for(50, after=ended)  # and after it
    finally:
        gateway.stop()
    before = {message_id for t, message_id in load.answered if t < began}
    during = [t for t, _ in load.answered if began <= t <= ended]

    backup = tmp_path / "backup.db"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    run_commands(gateway, doc_commands("Restore"))
    gateway.start()
    try:
        restored = {m["id"] for m in gateway.cli_json("messages", "list", "--limit", "10000")}
        sent = httpx.post(
            f"{gateway.url}/rest/SendQuickOTP",
            headers={"Authorization": token},
            data={"Mobile": "09129999999", "CodeLength": "6", "OptionalCode": ""},
        ).json()
        checked = httpx.post(
            f"{gateway.url}/rest/VerifyQuickOTP",
            headers={"Authorization": token},
            data={"Mobile": "09129999999", "Code": sent["Data"]["Code"]},
        ).json()
    finally:
        gateway.stop()

    assert during, "no send was answered while the backup ran"
    assert len(before) >= 200
    assert before <= restored
    assert (sent["Status"], checked["Status"]) == ("Success", "Success")
    assert sent["Data"]["MessageID"] > max(restored)


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    """An existing file is refused with exit code 4 and left as it was."""
    gateway = Gateway(tmp_path)
    assert gateway.cli("migrate").returncode == 0
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")

    done = gateway.cli("backup", str(taken))

    assert (done.returncode, taken.read_bytes()) == (4, b"keep me")
    assert "exists already" in done.stderr


def test_a_backup_on_postgresql_points_at_pg_dump_and_does_nothing(tmp_path: Path) -> None:
    """PostgreSQL is backed up with its own tools: the command says so and exits non-zero."""
    if not POSTGRES_URL:
        service_missing("postgres")
    gateway = Gateway(tmp_path, {"QUICKOTP_DATABASE_URL": POSTGRES_URL})

    done = gateway.cli("backup", str(tmp_path / "copy.db"))

    assert done.returncode == 1
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "copy.db").exists()


def test_prune_at_the_command_line(tmp_path: Path) -> None:
    """`prune` counts with --dry-run, prunes, and writes its archive; bad ages are usage errors."""
    gateway = Gateway(tmp_path)
    gateway.setup_account()

    dry = gateway.cli_json("prune", "--dry-run")
    done = gateway.cli_json("prune", "--older-than", "30d", "--archive", str(tmp_path / "a.gz"))
    again = gateway.cli("prune", "--older-than", "30d", "--archive", str(tmp_path / "a.gz"))
    no_age = gateway.cli("prune", "--older-than", "0d")
    hours = gateway.cli("prune", "--older-than", "12h")
    off = Gateway(tmp_path, {"QUICKOTP_RETENTION_DAYS": "0"}).cli("prune")

    assert (dry["dry_run"], dry["messages"]) == (True, 0)
    assert (done["dry_run"], done["messages"], done["orphan_reports"]) == (False, 0, 0)
    assert stat.S_IMODE((tmp_path / "a.gz").stat().st_mode) == 0o600
    assert (again.returncode, "exists already" in again.stderr) == (4, True)
    assert (no_age.returncode, "from 1d" in no_age.stderr) == (2, True)
    assert (hours.returncode, "whole days" in hours.stderr) == (2, True)
    assert (off.returncode, "--older-than" in off.stderr) == (2, True)


NEWER = "the database's schema is newer than this QuickOTP: upgrade QuickOTP, or restore a backup"


def _stamp(gateway: Gateway, revision: str) -> None:
    with sqlite3.connect(gateway.root / "quickotp.db") as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))


@pytest.mark.parametrize("command", ["serve", "dispatch", "migrate", "accounts list"])
def test_a_schema_newer_than_the_code_is_refused_with_its_own_message(
    tmp_path: Path, command: str
) -> None:
    """A revision this QuickOTP does not know: exit 78, upgrade or restore, and nothing changes."""
    gateway = Gateway(tmp_path)
    assert gateway.cli("migrate").returncode == 0
    _stamp(gateway, "9999")

    done = gateway.cli(*command.split())

    assert done.returncode == 78
    assert done.stderr.strip().splitlines()[-1] == f"quickotp: {NEWER}"
    with sqlite3.connect(gateway.root / "quickotp.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999",)]


@pytest.mark.parametrize("command", ["serve", "dispatch"])
def test_a_schema_behind_the_code_asks_for_migrate(tmp_path: Path, command: str) -> None:
    """The previous release's schema: exit 78 and `run quickotp migrate`, not the newer message."""
    gateway = Gateway(tmp_path)
    assert gateway.cli("migrate").returncode == 0
    _stamp(gateway, "0001")

    done = gateway.cli(command)

    assert done.returncode == 78
    assert done.stderr.strip().splitlines()[-1] == (
        "quickotp: the database schema is not current: run `quickotp migrate`"
    )


@pytest.mark.anyio
@pytest.mark.postgres
async def test_prune_while_another_process_prunes_exits_4_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    """On PostgreSQL the advisory lock held elsewhere: exit 4, nothing removed, no archive left."""
    if not POSTGRES_URL:
        service_missing("postgres")
    url = await _fresh_postgres_database(POSTGRES_URL)
    gateway = Gateway(tmp_path, {"QUICKOTP_DATABASE_URL": url})
    assert gateway.cli("migrate").returncode == 0
    parsed = make_url(url)
    holder = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", PRUNE_LOCK)
        archive = tmp_path / "a.jsonl.gz"

        done = await anyio.to_thread.run_sync(
            lambda: gateway.cli("prune", "--older-than", "30d", "--archive", str(archive))
        )
    finally:
        await holder.close()

    assert done.returncode == 4
    assert "another process is pruning" in done.stderr
    assert not archive.exists()
