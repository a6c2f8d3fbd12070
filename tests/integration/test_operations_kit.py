"""The operations kit in deploy/: Prometheus alerting rules and the Grafana dashboard.

promtool (Debian's prometheus package, scripts/ensure-debian-packages) checks the rules and
runs their unit tests (deploy/prometheus/smbridge-alerts.test.yml). Every PromQL expression
of the rules and the dashboard may name only series smbridge exports, collected here from
the code (the process registry and the database collector), so a renamed metric fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

import smbridge.entrypoints.assembly_app
import smbridge.entrypoints.hook_app
import smbridge.notifications.dispatcher  # noqa: F401  (defines the delivery histogram)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.metrics.prometheus import DatabaseCollector

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "smbridge-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "smbridge-alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "smbridge.json"

#: Prometheus' own series the expressions may use besides smbridge's.
PROMETHEUS_SERIES = frozenset({"up"})
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})


# --- promtool ------------------------------------------------------------------------------


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: run scripts/ensure-debian-packages (Debian: prometheus)")
    return subprocess.run(
        [tool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_alerting_rules() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_fire_on_what_deserves_them_and_stay_silent_otherwise() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    alerts = {rule["alert"] for rule in _rules()}
    firing: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - silent == set(), "alerts never tested silent"


def test_every_alert_has_a_severity_and_english_summary_and_description() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        for field in ("summary", "description"):
            text = rule["annotations"][field]
            assert text.strip(), (rule["alert"], field)
            assert text.isascii(), (rule["alert"], field)  # English, for the on-call tooling


# --- the dashboard -------------------------------------------------------------------------


def test_the_dashboard_is_a_grafana_dashboard_model() -> None:
    model = json.loads(DASHBOARD.read_text())
    assert isinstance(model["schemaVersion"], int)
    assert model["schemaVersion"] >= 36  # Grafana 9+: timeseries panels, datasource refs by uid
    assert model["uid"]
    assert model["title"]
    panels = list(_panels(model))
    ids = [panel["id"] for panel in panels]
    assert all(isinstance(i, int) for i in ids)
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys(), panel["title"]
        assert all(isinstance(grid[k], int) and grid[k] >= 0 for k in "hwxy"), panel["title"]
        assert grid["w"] >= 1
        assert grid["h"] >= 1
        assert grid["x"] + grid["w"] <= 24, panel["title"]  # Grafana's grid is 24 wide
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"panel {panel['title']!r} overlaps another"
        taken |= cells
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(target["refId"] and target["expr"] for target in panel["targets"])
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_the_dashboard_shows_every_series_the_alerts_watch() -> None:
    alerted = set().union(*(series_names(rule["expr"]) for rule in _rules()))
    shown = set().union(*(series_names(expr) for expr in _dashboard_exprs()))
    assert alerted - shown == set()


# --- metric names --------------------------------------------------------------------------


@pytest.fixture
def exported(db: Database) -> frozenset[str]:
    """Every series name a scrape of smbridge can hold (without the ``_created`` samples,
    which multiprocess mode, the production one, leaves out)."""
    families = [f for f in REGISTRY.collect() if f.name.startswith("smbridge_")]
    families += DatabaseCollector(db).collect()
    names = frozenset(_sample_names(families))
    # Not vacuous: the HTTP metrics, the queue gauges and the delivery histogram are there.
    assert {
        "smbridge_http_requests_total",
        "smbridge_sm_notifications",
        "smbridge_sm_notification_delivery_seconds_bucket",
    } <= names
    return names


def test_the_rules_name_only_series_smbridge_exports(exported: frozenset[str]) -> None:
    for rule in _rules():
        names = series_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported | PROMETHEUS_SERIES, (rule["alert"], names - exported)


def test_the_dashboard_names_only_series_smbridge_exports(exported: frozenset[str]) -> None:
    model = json.loads(DASHBOARD.read_text())
    exprs = list(_dashboard_exprs())
    assert len(exprs) >= len([p for p in _panels(model) if p["type"] != "row"])
    for expr in exprs:
        names = series_names(expr)
        assert names, expr
        assert names <= exported | PROMETHEUS_SERIES, (expr, names - exported)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (service, le) (rate(a_bucket{job="$job", x=~"b|c"}[$__rate_interval]))',
            {"a_bucket"},
        ),
        ("time() - min without (instance, job) (b_seconds) > 300", {"b_seconds"}),
        ("histogram_quantile(0.95, c[5m]) > 1e3 and on (x) d offset 5m", {"c", "d"}),
        (
            'up{job=~"smbridge.*"} == bool 0 or label_replace(e, "dst", "$1", "src", "(.*)")',
            {"up", "e"},
        ),
    ],
)
def test_series_names_are_found_in_promql(expr: str, names: set[str]) -> None:
    assert series_names(expr) == names


def series_names(expr: str) -> set[str]:
    """The series an expression selects: names not called as a function, outside label
    matchers, ranges, strings and grouping clauses."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    found = re.findall(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {name for name in found if name.lower() not in _KEYWORDS}


def _sample_names(families: list[Metric]) -> Iterator[str]:
    for family in families:
        for suffix in _SUFFIXES[family.type]:
            yield family.name + suffix


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def _dashboard_exprs() -> Iterator[str]:
    model = json.loads(DASHBOARD.read_text())
    for panel in _panels(model):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":
            yield re.sub(r"^label_values\((\w+),.*\)$", r"\1", variable["definition"])
