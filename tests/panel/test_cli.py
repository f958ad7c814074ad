"""The first operator comes from the command line; dev mode prints demo panel users."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from quickotp.bootstrap import build_runtime
from quickotp.cli import main
from quickotp.settings import Settings
from tests.conftest import TEST_SECRET
from tests.e2e.server import free_port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database for the CLI."""
    values = {
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    assert main(["migrate"], values) == 0
    return values


def _create(env: dict[str, str], email: str, password: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["operators", "create", "--email", email, "--password-stdin"], env)


def test_an_operator_made_at_the_command_line_can_sign_in(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The password read from stdin signs in; the action is in the audit log as the CLI's."""
    code = _create(env, "Ops@Gateway.test", "a long enough password", monkeypatch)

    async def check() -> tuple[str, list[tuple[str, str]]]:
        runtime = build_runtime(Settings.from_env(env), dispatch=False)
        try:
            signed = await runtime.users.sign_in(
                email="ops@gateway.test", password="a long enough password", ip=None
            )
            audit = await runtime.users.store.list_audit(before=None, limit=5)
        finally:
            await runtime.engines.dispose()
        return signed.user.role, [(e.actor, e.action) for e in audit]

    role, audit = asyncio.run(check())
    assert code == 0
    assert "operator 1 (ops@gateway.test) created" in capsys.readouterr().out
    assert role == "operator"
    assert audit == [("cli", "operator.create")]


def test_a_taken_email_or_a_short_password_is_refused(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Conflict exits 4, a rejected password 2, each with one line on stderr and no secret."""
    _create(env, "ops@gateway.test", "a long enough password", monkeypatch)

    taken = _create(env, "ops@gateway.test", "another long password", monkeypatch)
    short = _create(env, "two@gateway.test", "tiny-pw", monkeypatch)

    err = capsys.readouterr().err
    assert (taken, short) == (4, 2)
    assert "another long password" not in err
    assert "tiny-pw" not in err


@pytest.mark.slow
def test_dev_mode_prints_panel_credentials_that_sign_in(tmp_path: Path) -> None:
    """`serve --dev` prints a demo operator and user; the printed operator's password works."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
        "QUICKOTP_DEV_KEY_FILE": str(tmp_path / "dev.key"),
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "quickotp", "serve", "--dev", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        banner = _wait_for_banner(log, server, f"http://127.0.0.1:{port}")
        found = re.search(r"operator\s+(\S+@\S+)\s+password (\S+)", banner)
        assert found is not None, banner
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            form = browser.get("/panel/sign-in").text
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
            assert csrf is not None
            signed = browser.post(
                "/panel/sign-in",
                data={"csrf": csrf.group(1), "email": found.group(1), "password": found.group(2)},
            )
    finally:
        server.terminate()
        server.wait(15)

    assert "user      user@demo.quickotp.local  password " in banner
    assert signed.headers["location"] == "/panel/operator"


def _wait_for_banner(log: Path, server: subprocess.Popen[bytes], url: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"the dev server did not come up:\n{log.read_text()}")
