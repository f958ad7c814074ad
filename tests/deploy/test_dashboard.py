"""
deploy/grafana/quickotp.json: a dashboard whose panels each read the data source variable,
cover what the issue asks for, and query only metrics the app exports (compared with a real
scrape of /metrics after one send), in PromQL that promtool parses. The alert rules' queries
are held to the same names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Scrape
from .promql import metric_names
from .test_prometheus import promtool
from .units import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "quickotp.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The issue's list: sends, refusals by Status, delivery rate and latency, queue depth and age
# per route, bind state, webhook backlog, guard refusals.
PANELS = {
    "Sends accepted",
    "Refusals by Status",
    "Delivery rate",
    "Accept to upstream latency",
    "Queue depth per route",
    "Queue age per route",
    "Route up",
    "SMPP binds",
    "Webhook backlog",
    "Guard refusals",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def variable_metrics() -> set[str]:
    """The metrics the template variables' label_values() queries read."""
    found = set()
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            found |= set(re.findall(r"label_values\(\s*(\w+)", variable["query"]["query"]))
    return found


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_every_panel_reads_the_data_source_variable() -> None:
    """The data source is chosen on import ($datasource), never a fixed uid."""
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_the_panels_fit_the_grid_and_cover_the_issue() -> None:
    """Unique ids, 24 columns, no overlaps; the panels the issue names are all there."""
    every = dashboard()["panels"]
    assert len({p["id"] for p in every}) == len(every)
    cells: set[tuple[int, int]] = set()
    for panel in every:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area
    assert {p["title"] for p in panels()} >= PANELS


@pytest.mark.anyio
async def test_every_query_names_only_exported_metrics(scrape: Scrape) -> None:
    """Each metric a panel, a variable or an alert reads is on /metrics after one send."""
    exported = scrape.names()
    read = {name for expr in dashboard_queries() + alert_queries() for name in metric_names(expr)}
    read |= variable_metrics()

    assert read - exported == set()
    assert len(read) >= 25  # the extraction found the queries' names, not nothing


@pytest.mark.anyio
async def test_the_name_check_catches_a_metric_the_app_lacks(scrape: Scrape) -> None:
    """A query with a misspelt metric is caught, inside a function, a sum and a ratio."""
    expr = (
        'sum by (route) (rate(quickotp_messages_submited_total{job=~"$job"}[5m]))'
        " / on (route) group_left () max by (route) (quickotp_route_up)"
    )
    assert metric_names(expr) - scrape.names() == {"quickotp_messages_submited_total"}


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    """Each panel's query, with Grafana's variables filled in, is valid PromQL."""
    rules = [
        {
            "record": f"quickotp:dashboard_query:{n}",
            "expr": expr.replace("$__rate_interval", "5m").replace("$job", ".+"),
        }
        for n, expr in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    done = promtool("check", "rules", path.name, cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("max(quickotp_webhook_backlog) > 1000", {"quickotp_webhook_backlog"}),
        ('a{x="b{c}"} offset 5m and bool b unless c or histogram_quantile(0.9, d)', set("abcd")),
        ("sum(rate(x_total[5m])) without (instance) * on (job) group_right () y", {"x_total", "y"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    """Functions, keywords, label matchers, ranges and label lists are not metric names."""
    assert metric_names(expr) == names
