"""
`quickotp send` and `quickotp verify` as a person uses them, against a real server process:
readable lines, one-line errors on stderr, an exit code per family of failure, no token
printed, and no database or secret key needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quickotp.cli import client as client_cli
from quickotp.cli import main
from tests.e2e.server import free_port
from tests.sdk.conftest import Served

pytestmark = pytest.mark.slow


def run(
    capsys: pytest.CaptureFixture[str], served: Served, *args: str, token: str | None = None
) -> tuple[int, str, str]:
    """`quickotp <args>` in process, configured from the environment; (exit code, out, err)."""
    env = {"QUICKOTP_URL": served.url, "QUICKOTP_TOKEN": token or served.token}
    code = main(list(args), env=env)
    out, err = capsys.readouterr()
    return code, out, err


def test_send_prints_the_code_and_message(
    capsys: pytest.CaptureFixture[str], served: Served
) -> None:
    """`send` prints one line: the code, the number and the message id."""
    code, out, err = run(capsys, served, "send", "09121119001", "--code", "4711")

    assert (code, err) == (0, "")
    assert out.startswith("sent code 4711 to 9121119001 (message ")


def test_send_then_verify(capsys: pytest.CaptureFixture[str], served: Served) -> None:
    """The code `send --json` gave is accepted by `verify`."""
    code, out, _ = run(capsys, served, "send", "09121119002", "--code-length", "4", "--json")
    sent = json.loads(out)

    status, verified, _ = run(capsys, served, "verify", "09121119002", sent["code"])

    assert (code, len(sent["code"]), sent["mobile"]) == (0, 4, "9121119002")
    assert (status, verified) == (
        0,
        f"code accepted for 9121119002 (message {sent['message_id']})\n",
    )


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (
            ("send", "12"),
            client_cli.EXIT_BAD_INPUT,
            "quickotp: Mobile_Invalid: not a mobile number",
        ),
        (
            ("send", "09121119003", "--code-length", "3"),
            client_cli.EXIT_BAD_INPUT,
            "quickotp: Length_Invalid",
        ),
        (
            ("verify", "09121119004", "1234"),
            client_cli.EXIT_CODE_NOT_ACCEPTED,
            "quickotp: Code_NotFound",
        ),
    ],
    ids=["bad number", "bad length", "nothing sent"],
)
def test_refusals_are_one_line_with_their_exit_code(
    capsys: pytest.CaptureFixture[str],
    served: Served,
    args: tuple[str, ...],
    exit_code: int,
    message: str,
) -> None:
    """Each refusal is one line on stderr, nothing on stdout, and its family's exit code."""
    code, out, err = run(capsys, served, *args)

    assert (code, out) == (exit_code, "")
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_a_wrong_code(capsys: pytest.CaptureFixture[str], served: Served) -> None:
    """A wrong code exits 5 and says so."""
    run(capsys, served, "send", "09121119005", "--code", "1234")

    code, _, err = run(capsys, served, "verify", "09121119005", "4321")

    assert (code, err) == (5, "quickotp: Code_Invalid: the code is wrong; attempts remain\n")


def test_a_bad_token_is_never_printed(capsys: pytest.CaptureFixture[str], served: Served) -> None:
    """An unknown token exits 3, and the token appears nowhere in the output."""
    token = "not-a-real-token-4f2a9c"

    code, out, err = run(capsys, served, "send", "09121119006", token=token)

    assert (code, out) == (client_cli.EXIT_AUTH, "")
    assert err == "quickotp: Token_NotExists: the token is not known\n"
    assert token not in out + err


def test_command_line_options_win_over_the_environment(
    capsys: pytest.CaptureFixture[str], served: Served
) -> None:
    """--url and --token are used over QUICKOTP_URL and QUICKOTP_TOKEN."""
    env = {"QUICKOTP_URL": "http://127.0.0.1:1", "QUICKOTP_TOKEN": "wrong"}

    # --token=T: a token may start with "-", which argparse would take for an option
    code = main(["send", "09121119007", "--url", served.url, f"--token={served.token}"], env=env)

    assert code == 0
    assert capsys.readouterr().out.startswith("sent code ")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QUICKOTP_TOKEN": "t"}, "quickotp: no gateway URL: set QUICKOTP_URL or pass --url\n"),
        (
            {"QUICKOTP_URL": "http://127.0.0.1:1"},
            "quickotp: no token: set QUICKOTP_TOKEN or pass --token\n",
        ),
        (
            {"QUICKOTP_URL": "localhost:8000", "QUICKOTP_TOKEN": "t"},
            "quickotp: the base URL is not an http(s) URL: 'localhost:8000'\n",
        ),
        (
            {"QUICKOTP_URL": "http://127.0.0.1:1", "QUICKOTP_TOKEN": "tök"},
            "quickotp: the token must be printable ASCII: it travels in a header\n",
        ),
    ],
    ids=["no URL", "no token", "not a URL", "not a token"],
)
def test_missing_settings_exit_78(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], message: str
) -> None:
    """Without a usable URL or a token, nothing is sent: EX_CONFIG and what to set."""
    code = main(["send", "09121119008"], env=env)

    assert (code, capsys.readouterr().err) == (client_cli.EXIT_CONFIG, message)


def test_an_unreachable_gateway_exits_69(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening at the URL: EX_UNAVAILABLE, one line."""
    env = {"QUICKOTP_URL": f"http://127.0.0.1:{free_port()}", "QUICKOTP_TOKEN": "t"}

    code = main(["verify", "09121119009", "1234"], env=env)

    assert (code, capsys.readouterr().err.startswith("quickotp: cannot connect")) == (69, True)


def test_without_the_client_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If quickotp-client is not installed, the commands say to install it and exit 78."""
    monkeypatch.setitem(sys.modules, "quickotp_client", None)  # makes the import fail

    code = main(["send", "09121119010"], env={"QUICKOTP_URL": "http://x", "QUICKOTP_TOKEN": "t"})

    assert code == client_cli.EXIT_CONFIG
    assert "install quickotp-client" in capsys.readouterr().err


def test_needs_no_database_and_no_secret_key(served: Served, tmp_path: Path) -> None:
    """A real `quickotp send`, with neither QUICKOTP_SECRET_KEY nor a database, works."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUICKOTP_")}
    env |= {"QUICKOTP_URL": served.url, "QUICKOTP_TOKEN": served.token}

    done = subprocess.run(
        [sys.executable, "-m", "quickotp", "send", "09121119011"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("sent code ")
    assert list(tmp_path.iterdir()) == []
