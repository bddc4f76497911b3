"""deploy/grafana/orderly.json and deploy/prometheus/alerts.yaml ask only for metrics, and
labels, that Orderly's /metrics exposes: a metric renamed in the code fails here rather than
leaving a panel empty or an alert that can never fire."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import orderly.entrypoints.web  # noqa: F401  (every module that declares a metric)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "orderly.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"

# a metric name, and the label matchers of its selector if it has one
SELECTOR = re.compile(r"\b(orderly_[a-z0-9_]+)\b\s*(?:\{([^}]*)\})?")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# Orderly's metrics the dashboard leaves out: a process's own costs, for benchmarks and
# profiling rather than for watching a deployment
NOT_ON_DASHBOARD = {
    "orderly_database_round_trips",
    "orderly_relay_batch_seconds",
    "orderly_fallback_checks",
    "orderly_bff_calls",
}


def exposed() -> dict[str, set[str]]:
    """Every sample name Orderly exposes (`_total`, `_bucket`, ... included), with its labels.
    A labelled metric shows no sample before its first use, so the names are read from the
    registry's declarations rather than from a scrape."""
    names: dict[str, set[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        if name.startswith("orderly_"):
            labels = set(getattr(collector, "_labelnames", ()))
            names[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return names


def families() -> set[str]:
    return {f.name for f in REGISTRY.collect() if f.name.startswith("orderly_")}


def dashboard_exprs() -> list[tuple[str, str]]:
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return [
        (panel["title"], target["expr"])
        for panel in panels
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def unknown(expr: str, names: dict[str, set[str]]) -> list[str]:
    """What `expr` asks for that Orderly does not expose: metric names, the labels its
    selectors match on and the labels it groups by."""
    missing: list[str] = []
    used: set[str] = set()
    for name, matchers in SELECTOR.findall(expr):
        if name not in names:
            missing.append(name)
            continue
        used |= names[name]
        missing += [
            f"{name}{{{label}}}" for label in MATCHER.findall(matchers) if label not in names[name]
        ]
    for grouped in GROUPING.findall(expr):
        labels = {label.strip() for label in grouped.split(",") if label.strip()}
        missing += [f"by ({label})" for label in sorted(labels - used)]
    return missing


def test_every_panel_asks_for_metrics_and_labels_orderly_exposes() -> None:
    names = exposed()
    exprs = dashboard_exprs()
    assert exprs
    for title, expr in exprs:
        assert SELECTOR.search(expr), f"{title}: no Orderly metric in {expr}"
        assert unknown(expr, names) == [], f"panel {title!r}: {expr}"


def test_every_alert_asks_for_metrics_and_labels_orderly_exposes() -> None:
    names = exposed()
    rules = alert_rules()
    assert rules
    for rule in rules:
        assert rule["alert"].startswith("Orderly")
        assert rule["labels"]["severity"] in {"page", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert SELECTOR.search(rule["expr"]), rule["alert"]
        assert unknown(rule["expr"], names) == [], f"alert {rule['alert']}: {rule['expr']}"


def test_the_dashboard_shows_every_metric_but_those_left_out_on_purpose() -> None:
    shown = " ".join(expr for _, expr in dashboard_exprs())
    missing = {f for f in families() - NOT_ON_DASHBOARD if not re.search(rf"\b{f}(_|\b)", shown)}
    assert missing == set()
    assert families() >= NOT_ON_DASHBOARD


@pytest.mark.parametrize(
    ("expr", "wrong"),
    [
        pytest.param("rate(orderly_no_such_total[5m])", ["orderly_no_such_total"], id="name"),
        pytest.param(
            'orderly_outbox_pending{consumer="x"}', ["orderly_outbox_pending{consumer}"], id="label"
        ),
        pytest.param("sum by (route) (orderly_outbox_pending)", ["by (route)"], id="grouping"),
    ],
)
def test_a_name_or_label_orderly_does_not_expose_is_found(expr: str, wrong: list[str]) -> None:
    assert unknown(expr, exposed()) == wrong
