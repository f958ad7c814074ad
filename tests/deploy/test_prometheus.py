"""
deploy/prometheus/alerts.yml passes `promtool check rules`, and its rule unit tests
(alerts.test.yml: each alert firing and not firing) pass `promtool test rules`. promtool comes
from Debian's prometheus package (.ci/install-promtool); without it these tests skip, and
fail in CI (QUICKOTP_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REQUIRE_SERVICES

from .units import DEPLOY

PROMTOOL = Path("/usr/bin/promtool")
RULES = DEPLOY / "prometheus"


def promtool(*args: str, cwd: Path = RULES) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        message = f"{PROMTOOL} not found (Debian's prometheus package: .ci/install-promtool)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_alert_rules_check() -> None:
    """promtool parses every rule and finds no problem."""
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


def test_the_alert_rule_unit_tests_pass() -> None:
    """Each alert fires where alerts.test.yml expects it, and nowhere else."""
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    """alerts.test.yml expects each alert of alerts.yml both to fire and to stay quiet."""
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((RULES / "alerts.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert (firing, quiet) == (alerts, alerts)


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    """The unit tests can fail: with the queue alert's threshold moved, promtool says so."""
    for name in ("alerts.yml", "alerts.test.yml"):
        (tmp_path / name).write_text((RULES / name).read_text())
    rules = tmp_path / "alerts.yml"
    threshold = "(0.5 * max(quickotp_otp_validity_seconds))"
    assert threshold in rules.read_text()
    rules.write_text(rules.read_text().replace(threshold, threshold.replace("0.5", "0.7")))
    done = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert done.returncode != 0
    assert "QuickOTPQueueNearCodeValidity" in done.stdout + done.stderr


def test_the_example_configuration_checks() -> None:
    """prometheus.yml, with alerts.yml as its rule file, passes `promtool check config`."""
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout
