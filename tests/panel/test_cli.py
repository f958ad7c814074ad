"""The first operator comes from the command line: `quickotp operators create`."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from quickotp.bootstrap import build_runtime
from quickotp.cli import main
from quickotp.settings import Settings
from tests.conftest import TEST_SECRET


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
