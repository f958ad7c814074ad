"""
deploy/systemd: both units pass `systemd-analyze verify` (with no warning at all: systemd only
warns about a value it cannot parse, and ignores it), carry the sandbox and restart policy
they promise, start the commands and flags the CLI really has, and the environment file
example names every production setting with its real default.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from quickotp import cli
from quickotp.adapters.transports.http.upstream import parse_route_url
from quickotp.adapters.transports.smpp.config import SmppConfig
from quickotp.services.guard import Policy, policy_from_env
from quickotp.settings import Settings
from tests.conftest import REQUIRE_SERVICES

from .units import SYSTEMD, UNITS, directives, environment

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
BINARY = "/opt/quickotp/bin/quickotp"
SRC = Path(__file__).resolve().parents[2] / "src" / "quickotp"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "PrivateUsers": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": "~@privileged @resources",  # after @system-service: see below
    "SystemCallErrorNumber": "EPERM",
    "StateDirectory": "quickotp",
    "User": "quickotp",
    "EnvironmentFile": "/etc/quickotp/quickotp.env",
    "Restart": "on-failure",
    "RestartPreventExitStatus": "78",
    "KillMode": "mixed",
}
# Not production settings: dev mode and its key file, the dev log sink's file, and the
# client commands' gateway URL and token.
NOT_FOR_PRODUCTION = {
    "QUICKOTP_DEV",
    "QUICKOTP_DEV_KEY_FILE",
    "QUICKOTP_SINK_FILE",
    "QUICKOTP_URL",
    "QUICKOTP_TOKEN",
}


def verify(root: Path, units: list[str]) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of units installed under `root`, as systemd would load them."""
    if not Path(SYSTEMD_ANALYZE).exists():
        message = f"{SYSTEMD_ANALYZE} not found (Debian's systemd package)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", f"--root={root}", *units],
        cwd=root / "etc/systemd/system",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """
    A filesystem root holding the units, the binary they start (verify insists that it is
    executable) and the system's own units (for the targets they are ordered against).
    """
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    binary = tmp_path / BINARY.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(SYSTEMD / name, units / name)
    return tmp_path


def test_the_units_verify_cleanly(root: Path) -> None:
    """Both units (the template as an instance) load with no error and no warning."""
    done = verify(root, ["quickotp.service", "quickotp-dispatch@9101.service"])
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.parametrize(
    ("unit", "old", "new"),
    [
        ("quickotp.service", "ProtectSystem=strict", "ProtectSystem=strictly"),
        ("quickotp.service", "Restart=on-failure", "Restart=sometimes"),
        ("quickotp-dispatch@.service", "SystemCallFilter=@system-service", "SystemCallFilter=@x"),
        ("quickotp-dispatch@.service", BINARY, "/opt/elsewhere/quickotp"),
    ],
)
def test_a_broken_unit_fails_the_check(root: Path, unit: str, old: str, new: str) -> None:
    """The check catches a value systemd would ignore and a command that is not there."""
    path = root / "etc/systemd/system" / unit
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    done = verify(root, ["quickotp.service", "quickotp-dispatch@9101.service"])
    assert done.returncode != 0 or done.stdout + done.stderr != ""


@pytest.mark.parametrize("unit", UNITS)
def test_each_unit_is_sandboxed_and_restarts_on_failure(unit: str) -> None:
    """The hardening directives are all there, with the values that make them mean it."""
    service = directives(SYSTEMD / unit)["Service"]
    found = {key: service.get(key, ["(missing)"])[-1] for key in HARDENING}
    assert found == HARDENING
    assert service["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert 1 <= _seconds(service["RestartSec"][-1]) <= 30


@pytest.mark.parametrize("unit", UNITS)
def test_the_stop_timeout_covers_the_drain(unit: str) -> None:
    """TimeoutStopSec outlasts the dispatcher's lease plus a send's default timeout."""
    service = directives(SYSTEMD / unit)["Service"]
    settings = Settings.from_env({"QUICKOTP_SECRET_KEY": "x" * 40})
    smpp = SmppConfig.from_url("smpp://quickotp:secret@127.0.0.1:2775")
    http, _ = parse_route_url(
        "amoot://token@127.0.0.1", kind="amoot", default_host="127.0.0.1", options=frozenset()
    )
    send_timeout = max(smpp.timeout, http.timeout)
    drain = settings.dispatch_lease.total_seconds() + send_timeout
    assert _seconds(service["TimeoutStopSec"][-1]) > drain


@pytest.mark.parametrize(
    ("unit", "command", "flags"),
    [
        ("quickotp.service", "serve", {"host": "127.0.0.1", "port": 8000, "dev": False}),
        ("quickotp-dispatch@.service", "dispatch", {"metrics_port": 9101}),
    ],
)
def test_the_units_start_real_commands(unit: str, command: str, flags: dict[str, object]) -> None:
    """ExecStart is the installed binary with a command and flags the CLI parses."""
    [line] = directives(SYSTEMD / unit)["Service"]["ExecStart"]
    binary, *argv = shlex.split(line.replace("%i", "9101"))
    assert binary == BINARY
    args = cli._parser().parse_args(argv)
    assert args.command == command
    assert {name: getattr(args, name) for name in flags} == flags


def test_the_environment_example_names_every_production_setting() -> None:
    """Every QUICKOTP_ variable the code reads, and every guard limit, is in the example."""
    set_, commented = environment(SYSTEMD / "quickotp.env.example")
    named = set(set_) | set(commented)
    read = set(re.findall(r"QUICKOTP_[A-Z_]*[A-Z]", _source())) - {"QUICKOTP_GUARD"}
    guard = {f"QUICKOTP_GUARD_{f.name.upper()}" for f in dataclasses.fields(Policy)}
    assert (read | guard) - NOT_FOR_PRODUCTION - named == set()
    assert named - (read | guard) == set()  # nothing made up


def test_the_environment_example_shows_the_real_defaults() -> None:
    """Each commented setting is the default, and the example starts once a key is added."""
    set_, commented = environment(SYSTEMD / "quickotp.env.example")
    assert set_["QUICKOTP_SECRET_KEY"] == ""  # the operator must make one
    key = {"QUICKOTP_SECRET_KEY": "k" * 48}
    examples = {"QUICKOTP_REDIS_URL"}  # no default: the line is an example
    defaults = Settings.from_env(key)
    uncommented = Settings.from_env({k: v for k, v in commented.items() if k not in examples} | key)
    same_key = dataclasses.replace(uncommented, secret_key=defaults.secret_key, guard={})
    assert same_key == defaults
    base = Policy(
        validity_seconds=int(defaults.otp_ttl.total_seconds()),
        attempts=defaults.verify_attempts,
        countries=defaults.regions,
    )
    assert policy_from_env(uncommented.guard, base) == base
    production = Settings.from_env(set_ | key)
    assert production.database_url == "sqlite:////var/lib/quickotp/quickotp.db"
    assert not production.dev


def _source() -> str:
    return "\n".join(path.read_text() for path in sorted(SRC.rglob("*.py")))


def _seconds(value: str) -> float:
    """A systemd time span of the forms these units use: 5s, 60, 1min."""
    match = re.fullmatch(r"(\d+)\s*(s|sec|min)?", value)
    assert match is not None, value
    return float(match[1]) * (60 if match[2] == "min" else 1)


def test_the_admin_wrapper_runs_the_cli_as_the_units_do() -> None:
    """quickotp-admin: valid sh, the units' user, state directory, environment and binary."""
    wrapper = SYSTEMD / "quickotp-admin"
    assert subprocess.run(["/bin/sh", "-n", str(wrapper)], check=False).returncode == 0
    text = wrapper.read_text()
    given = dict(re.findall(r"--property=(\w+)=(\S+)", text))
    service = directives(SYSTEMD / "quickotp.service")["Service"]
    for key in ("User", "Group", "StateDirectory", "StateDirectoryMode", "WorkingDirectory"):
        assert given[key] == service[key][-1], key
    assert given["EnvironmentFile"] == service["EnvironmentFile"][-1]
    assert f'{BINARY} "$@"' in text
