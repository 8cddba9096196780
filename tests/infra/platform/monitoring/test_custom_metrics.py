"""In-flight requests for the HPA: the series the API writes, the adapter's query, the HPA."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from app.metrics import ApiMetrics
from infra.platform.charts import CHARTS, build_release_args
from infra.platform.monitoring import custom_metrics as cm
from infra.platform.monitoring.values import NAMESPACE, PROMETHEUS_SERVICE
from infra.workloads import prediction_api_objects as api


def test_the_adapter_reads_a_series_the_api_really_writes():
    metrics = ApiMetrics()
    metrics.latency.labels(route="/v1/predict", method="POST").observe(0.25)
    text = generate_latest(metrics.registry).decode()
    assert f'{cm.LATENCY_SUM_SERIES}{{method="POST",route="/v1/predict"}} 0.25' in text


def test_the_hpa_asks_for_the_metric_the_adapter_serves():
    rule = cm.in_flight_rule()
    (pods,) = [m for m in api.build_hpa("stable", 3, 20)["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods["pods"]["metric"]["name"] == rule["name"]["as"] == cm.IN_FLIGHT_METRIC
    assert pods["pods"]["target"] == {"type": "AverageValue", "averageValue": "4"}
    canary = api.build_hpa("canary", 1, 5)["spec"]["metrics"]
    assert any(
        m.get("pods", {}).get("metric", {}).get("name") == cm.IN_FLIGHT_METRIC for m in canary
    )


def test_the_adapter_serves_only_this_metric_and_finds_prometheus():
    values = cm.build_prometheus_adapter_values(replicas=2)
    assert values["rules"] == {"default": False, "custom": [cm.in_flight_rule()], "external": []}
    assert "resource" not in values["rules"]  # metrics.k8s.io stays metrics-server's
    stack_release = build_release_args("kube-prometheus-stack", NAMESPACE, {})["name"]
    assert f"{stack_release}-prometheus" == PROMETHEUS_SERVICE
    assert values["prometheus"] == {
        "url": f"http://{PROMETHEUS_SERVICE}.monitoring.svc",
        "port": 9090,
    }
    assert values["podDisruptionBudget"]["enabled"] is True
    assert cm.build_prometheus_adapter_values(replicas=1)["podDisruptionBudget"]["enabled"] is False
    assert CHARTS["prometheus-adapter"].version == "5.3.0"


def _adapter_query(rule: dict, matchers: str, group_by: str) -> str:
    """The query the adapter sends, with its template filled as it fills it."""
    return (
        rule["metricsQuery"]
        .replace("<<.Series>>", cm.LATENCY_SUM_SERIES)
        .replace("<<.LabelMatchers>>", matchers)
        .replace("<<.GroupBy>>", group_by)
    )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_the_adapter_query_is_the_mean_number_of_requests_in_flight(tmp_path: Path):
    # Pod a spends 60 s answering every 15 s (4 requests in flight on average), pod b 15 s
    # (1); pod c is in another namespace and must not count.
    series = f'{cm.LATENCY_SUM_SERIES}{{namespace="%s",pod="%s",route="/v1/predict"}}'
    query = _adapter_query(cm.in_flight_rule(), 'namespace="serving",pod=~"a|b"', "pod")
    test = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    {"series": series % ("serving", "a"), "values": "0+60x40"},
                    {"series": series % ("serving", "b"), "values": "0+15x40"},
                    {"series": series % ("other", "c"), "values": "0+600x40"},
                ],
                "promql_expr_test": [
                    {
                        "expr": query,
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{pod="a"}', "value": 4},
                            {"labels": '{pod="b"}', "value": 1},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "in_flight.test.yaml"
    path.write_text(yaml.safe_dump(test))
    done = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
