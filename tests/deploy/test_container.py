"""
deploy/compose.yaml and deploy/Containerfile: the commands the services start are ones the
CLI parses, the settings they pass are ones the code reads, and the images are built on the
mmdebstrap base. (The images themselves are built and run by hand: docs/operations.md.)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from quickotp import cli

from .units import DEPLOY

SRC = Path(__file__).resolve().parents[2] / "src" / "quickotp"


def compose() -> dict[str, dict[str, dict[str, object]]]:
    loaded: dict[str, dict[str, dict[str, object]]] = yaml.safe_load(
        (DEPLOY / "compose.yaml").read_text()
    )
    return loaded


def test_the_services_start_commands_the_cli_parses() -> None:
    """migrate, serve (two workers, no dispatch) and dispatch with its /metrics port."""
    services = compose()["services"]
    parsed = {}
    for name in ("migrate", "api", "dispatch"):
        command = services[name]["command"]
        assert isinstance(command, list)
        parsed[name] = cli._parser().parse_args([str(arg) for arg in command])
    assert parsed["migrate"].command == "migrate"
    assert (parsed["api"].command, parsed["api"].workers, parsed["api"].no_dispatch) == (
        "serve",
        2,
        True,
    )
    assert (parsed["dispatch"].command, parsed["dispatch"].metrics_port) == ("dispatch", 9101)
    for name in ("migrate", "api", "dispatch"):
        assert services[name]["image"] == "localhost/quickotp:0.1.0"


def test_the_services_pass_settings_the_code_reads() -> None:
    """Every QUICKOTP_ variable in compose.yaml's environment is read by QuickOTP."""
    source = "\n".join(path.read_text() for path in SRC.rglob("*.py"))
    environment = compose()["services"]["api"]["environment"]
    assert isinstance(environment, dict)
    for name in environment:
        assert re.search(rf"\b{name}\b", source), name


def test_every_image_is_built_on_the_mmdebstrap_base() -> None:
    """The app, PostgreSQL and Redis images start FROM the base made from Debian's packages."""
    files = [DEPLOY / "Containerfile", *sorted((DEPLOY / "container").glob("Containerfile.*"))]
    assert len(files) == 3
    for path in files:
        text = path.read_text()
        assert "ARG BASE=localhost/quickotp-base:bookworm\nFROM ${BASE}\n" in text, path.name
