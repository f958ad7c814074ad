"""The `quickotp` command as an operator uses it: real processes, a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.server import Gateway

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    installed = Gateway(tmp_path)
    assert installed.cli("migrate").returncode == 0
    return installed


def test_the_operator_flow_in_text(gateway: Gateway) -> None:
    """Accounts, patterns, tokens and credit answer in readable text."""
    created = gateway.cli("accounts", "create", "--name", "shop", "--credit", "5000")
    pattern = gateway.cli("patterns", "create", "--account", "1", "--text", "code %code%", "--otp")
    approved = gateway.cli("patterns", "approve", "1")
    token = gateway.cli("tokens", "create", "--account", "1", "--allow-ip", "10.0.0.0/8")
    credit = gateway.cli("credit", "add", "--account", "1", "--amount", "1000")

    assert created.stdout == "account 1 created\n"
    assert pattern.stdout == "pattern 1 created, pending approval\n"
    assert approved.stdout == "pattern 1 approved\n"
    assert token.stdout.startswith("token 1 for account 1 (shown once):\n")
    secret = token.stdout.splitlines()[1]
    assert secret.startswith("qotp_")
    assert len(secret) == 45
    assert secret[5] != "-"
    assert credit.stdout == "account 1 credit is now 6000 rial\n"


def test_json_output(gateway: Gateway) -> None:
    """--json prints one JSON document per command."""
    account = gateway.cli_json("accounts", "create", "--name", "shop", "--unlimited")
    listed = gateway.cli_json("accounts", "list")

    assert (account["name"], account["unlimited"], account["credit"]) == ("shop", True, 0)
    assert [a["id"] for a in listed] == [account["id"]]


def test_a_token_is_stored_only_as_a_hash(gateway: Gateway) -> None:
    """The token shown once is nowhere in the database file."""
    gateway.cli_json("accounts", "create", "--name", "shop")
    token = gateway.cli_json("tokens", "create", "--account", "1")["token"]

    database = b"".join(p.read_bytes() for p in gateway.root.glob("quickotp.db*"))

    assert token.encode() not in database


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    """One gateway for the refusals below (none of them changes it): account 1, pattern 1."""
    installed = Gateway(tmp_path_factory.mktemp("refusing"))
    assert installed.cli("migrate").returncode == 0
    installed.cli_json("accounts", "create", "--name", "shop")
    installed.cli_json("patterns", "create", "--account", "1", "--text", "c %code%", "--otp")
    return installed


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("patterns", "approve", "99"), 3, "no pattern 99"),
        (("credit", "add", "--account", "7", "--amount", "5"), 3, "no account 7"),
        (("tokens", "create", "--account", "1", "--allow-ip", "nonsense"), 2, "not an IP network"),
        (
            ("tokens", "create", "--account", "1", "--allow-method", "Everything"),
            2,
            "unknown method",
        ),
        (("patterns", "create", "--account", "1", "--text", "hello", "--otp"), 2, "%variable%"),
        (("patterns", "reject", "1", "--reason", " "), 2, "needs a reason"),
        (("accounts", "create", "--name", "shop"), 4, "exists already"),
    ],
)
def test_errors_are_one_line_and_an_exit_code(
    refusing: Gateway, args: tuple[str, ...], code: int, message: str
) -> None:
    """Each refusal is one line on stderr, no traceback, and its own exit code."""
    done = refusing.cli(*args)

    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_commands_refuse_an_old_schema(tmp_path: Path) -> None:
    """Before `migrate`, commands say so instead of failing on missing tables."""
    done = Gateway(tmp_path).cli("accounts", "list")

    assert done.returncode == 78
    assert "quickotp migrate" in done.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    """Outside dev mode a missing QUICKOTP_SECRET_KEY stops the command at once."""
    gateway = Gateway(tmp_path, {"QUICKOTP_SECRET_KEY": ""})

    done = gateway.cli("serve")

    assert done.returncode == 78
    assert "QUICKOTP_SECRET_KEY is required" in done.stderr
