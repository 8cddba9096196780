"""The custom metrics API (prometheus-adapter): in-flight requests per API pod, for the HPA.

In-flight requests are not sampled from a gauge, whose value at a scrape every 30 s says
little about the 30 s between. They are computed by Little's law from the API's latency
histogram: the seconds spent answering, per second of wall time, is the mean number of
requests in flight over the window. A pod whose model is slow, or which queues because
its CPU is spent, shows a rising value before its CPU average says so.
"""

from __future__ import annotations

from typing import Any

from infra.platform.monitoring.values import NAMESPACE, PROMETHEUS_SERVICE

# What the HPA asks the custom metrics API for (pods/<name>), per pod of a Deployment.
IN_FLIGHT_METRIC = "mlsys_http_requests_in_flight"
# Written by the API (app/metrics.py, mlsys_http_request_duration_seconds): seconds spent
# answering, summed over requests; its rate is the mean concurrency.
LATENCY_SUM_SERIES = "mlsys_http_request_duration_seconds_sum"
WINDOW = "1m"  # two scrapes at the stack's 30 s interval


def in_flight_rule() -> dict[str, Any]:
    """One adapter rule: the API's latency sum, per pod, as ``IN_FLIGHT_METRIC``."""
    return {
        # Only series Prometheus attached to a pod (ServiceMonitor targets always are).
        "seriesQuery": f'{LATENCY_SUM_SERIES}{{namespace!="",pod!=""}}',
        "resources": {
            "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        },
        "name": {"matches": f"^{LATENCY_SUM_SERIES}$", "as": IN_FLIGHT_METRIC},
        "metricsQuery": (
            f"sum by (<<.GroupBy>>) (rate(<<.Series>>{{<<.LabelMatchers>>}}[{WINDOW}]))"
        ),
    }


def build_prometheus_adapter_values(replicas: int) -> dict[str, Any]:
    """Values for prometheus-adapter 5.3.0 (keys from that version's values.yaml).

    Only custom.metrics.k8s.io is served: no default rules (hundreds of series nobody
    scales on), no resource rules (metrics-server keeps metrics.k8s.io), no external rules.
    """
    return {
        "prometheus": {
            "url": f"http://{PROMETHEUS_SERVICE}.{NAMESPACE}.svc",
            "port": 9090,
        },
        "replicas": replicas,
        "rules": {"default": False, "custom": [in_flight_rule()], "external": []},
        "metricsRelistInterval": WINDOW,
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "podDisruptionBudget": {
            "enabled": replicas > 1,
            "minAvailable": None,
            "maxUnavailable": 1,
        },
    }
