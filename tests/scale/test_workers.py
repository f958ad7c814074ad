"""
`quickotp serve --workers N`: N API processes on one port over PostgreSQL, each with its
own dispatcher; refused on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from quickotp.cli import main
from tests.conftest import OTP_PATTERN, POSTGRES_URL, TEST_SECRET, service_missing
from tests.e2e.server import free_port

pytestmark = pytest.mark.slow

UNLIMITED = {
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}


def test_several_workers_on_sqlite_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite has one writer: --workers 2 stops at once with a configuration error (78)."""
    env = {
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
    }

    code = main(["serve", "--workers", "2"], env)

    assert code == 78
    assert "needs PostgreSQL" in capsys.readouterr().err


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def database() -> str:
    if not POSTGRES_URL:
        service_missing("postgres")
    from tests.conftest import _fresh_postgres_database

    return asyncio.run(_fresh_postgres_database(POSTGRES_URL))


@pytest.fixture
def served(database: str, tmp_path: Path) -> Iterator[tuple[str, str, Path, int]]:
    """`serve --workers 2` on a seeded database: its URL, a token, its sink, its pid."""
    sink = tmp_path / "sms.jsonl"
    env = {
        **os.environ,
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": database,
        "QUICKOTP_SINK_FILE": str(sink),
        **UNLIMITED,
    }

    def cli(*args: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "quickotp", *args, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found: dict[str, object] = json.loads(done.stdout)
        return found

    cli("migrate")
    account = cli("accounts", "create", "--name", "shop", "--unlimited")
    pattern = cli(
        "patterns", "create", "--account", str(account["id"]), "--otp", "--text", OTP_PATTERN
    )
    cli("patterns", "approve", str(pattern["id"]))
    token = str(cli("tokens", "create", "--account", str(account["id"]))["token"])
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "quickotp", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        yield url, token, sink, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@pytest.mark.postgres
def test_two_workers_answer_and_each_message_is_delivered_once(
    served: tuple[str, str, Path, int],
) -> None:
    """Two uvicorn workers share the port; their two dispatchers deliver each message once."""
    url, token, sink, pid = served

    async def send_all() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:

            async def one(i: int) -> int:
                response = await http.post(
                    "/rest/SendQuickOTP",
                    headers={"Authorization": token},
                    data={"Mobile": f"0912{i:07d}", "CodeLength": "6"},
                )
                body = response.json()
                assert body["Status"] == "Success", body
                return int(body["Data"]["MessageID"])

            return await asyncio.gather(*(one(i) for i in range(100)))

    ids = asyncio.run(send_all())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = sink.read_text().splitlines() if sink.exists() else []
        if len(lines) >= len(ids):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # anything sent twice would show now

    delivered = Counter(json.loads(line)["message_id"] for line in sink.read_text().splitlines())
    workers = [child for child in children(pid) if "spawn_main" in cmdline(child)]
    assert delivered == Counter(ids)
    assert len(workers) == 2
