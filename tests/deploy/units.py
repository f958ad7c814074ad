"""
Reading the systemd units and the environment file example of deploy/systemd, as systemd
reads them: `Key=value` lines in sections, a key given twice kept twice, `#` comments.
"""

from __future__ import annotations

from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = ("quickotp.service", "quickotp-dispatch@.service")


def directives(path: Path) -> dict[str, dict[str, list[str]]]:
    """Every section's keys, each with its values in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise ValueError(f"{path.name}: not a directive: {raw!r}")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The example's settings: (set, commented out), each name with its value."""
    set_: dict[str, str] = {}
    commented: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        target = commented if line.startswith("#QUICKOTP_") else set_
        if line.startswith("#QUICKOTP_"):
            line = line[1:]
        if not line.startswith("QUICKOTP_"):
            continue
        name, _, value = line.partition("=")
        target[name] = value
    return set_, commented
