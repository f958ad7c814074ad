"""The first operator comes from the command line; dev mode prints demo panel users."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
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
    """The password read from stdin signs in; the audit log names the CLI and its login."""
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
    assert audit == [(f"cli:{getpass.getuser()}", "operator.create")]


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


# input the CLI refuses with one line, never a traceback ----------------------------------


@pytest.mark.parametrize("timeout", ["nan", "-1", "0", "inf", "1e308"])
def test_send_refuses_a_timeout_that_is_no_finite_positive_number(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--timeout is checked by argparse: a usage error (exit 2), not ValueError/OverflowError."""
    with pytest.raises(SystemExit) as exited:
        main(["send", "09120000000", "--timeout", timeout], {"QUICKOTP_TOKEN": "t"})
    assert exited.value.code == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["send", "09120000000", "--url", "http://a..b"],
        ["send", "0912\udcff"],
        ["verify", "09120000000", "12\udcff34"],
    ],
)
def test_send_and_verify_fail_in_one_line_on_unusable_input(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A host IDNA refuses, a surrogate-escaped byte: `quickotp: ...`, a non-zero exit."""
    env = {"QUICKOTP_URL": "http://127.0.0.1:9", "QUICKOTP_TOKEN": "t"}
    code = main(argv, env)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("quickotp: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["tokens", "disable", str(2**63)],
        ["patterns", "approve", "0"],
        ["patterns", "list", "--account", str(2**64)],
        ["credit", "add", "--account", str(2**63), "--amount", "5"],
        ["messages", "list", "--account", "²"],
        ["routes", "add", "x", "--url", "amoot://T@h", "--account", str(2**63)],
        ["accounts", "create", "--name", "a", "--credit", str(2**63)],
        ["credit", "add", "--account", "1", "--amount", "9223372036854775807"],
        ["serve", "--port", "99999"],
        ["serve", "--host", "a..b"],
        ["accounts", "create", "--name", "n\x1b[31m"],
        ["accounts", "create", "--name", "\udcff"],
        ["operators", "create", "--email", "a@b.cd\x1b[31m", "--password-stdin"],
    ],
)
def test_out_of_range_ids_amounts_ports_and_control_characters_are_usage_errors(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse refuses them (exit 2) before SQLite overflows, uvicorn wraps or text is stored."""
    with pytest.raises(SystemExit) as exited:
        main(argv, env)
    assert exited.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_credit_past_the_bound_is_refused_and_the_balance_stays_exact(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding to 10^15 rial is InvalidInput (exit 2); the balance stays an exact integer."""
    assert main(["accounts", "create", "--name", "a", "--credit", str(10**15)], env) == 0
    refused = main(["credit", "add", "--account", "1", "--amount", "1"], env)
    assert main(["accounts", "list", "--json"], env) == 0
    out = capsys.readouterr()
    assert refused == 2
    assert "at most 1,000,000,000,000,000 rial" in out.err
    assert '"credit":1000000000000000,' in out.out


@pytest.mark.parametrize("expires", ["0001-01-01T00:00:00-12:00", "9999-06-01T00:00:00+00:00"])
def test_a_token_expiry_outside_1971_to_2999_is_refused(
    expires: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Years the panel's calendar cannot show are InvalidInput (exit 2), nothing issued."""
    assert main(["accounts", "create", "--name", "a"], env) == 0
    code = main(["tokens", "create", "--account", "1", "--expires", expires], env)
    assert code == 2
    assert "1971 to 2999" in capsys.readouterr().err


@pytest.mark.parametrize("password", ["a long \udcff password", "a long \x1b[31m password"])
def test_a_password_with_control_characters_or_bad_bytes_is_refused(
    password: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One line, exit 2, the password not echoed; not UnicodeEncodeError."""
    code = _create(env, "ops@gateway.test", password, monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("quickotp: a password")
    assert password not in err


@pytest.mark.parametrize(
    "url", ["amoot://T@ä..b", "kavenegar://K@-a-?template=x", "smpp://x:y@[::1"]
)
def test_a_route_with_a_bad_host_is_not_added(
    url: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused when added (exit 2, one line), so no send meets httpx.InvalidURL later."""
    code = main(["routes", "add", "x", "--url", url], env)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("quickotp: ")
    assert err.count("\n") == 1
