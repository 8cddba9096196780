"""kube-prometheus-stack values, per stack, from the platform config."""

from __future__ import annotations

from typing import Any

from infra.platform_config import PlatformConfig

NAMESPACE = "monitoring"
# Names of Secrets Vault Secrets Operator delivers, not their contents.
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105
RECEIVERS_SECRET = "alertmanager-receivers"  # noqa: S105
DASHBOARD_LABEL = "grafana_dashboard"
GRAFANA_SERVICE = "kube-prometheus-stack-grafana"  # <release>-grafana
PROMETHEUS_SERVICE = "kube-prometheus-stack-prometheus"  # <release>-prometheus, port 9090


def _volume(size_gb: int) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": "gp3",
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gb}Gi"}},
            }
        }
    }


def _webhook(receiver: str) -> dict[str, Any]:
    # url_file: the URL stays in the Vault-delivered Secret, never in the chart values.
    path = f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}/{receiver}-url"
    return {"name": receiver, "webhook_configs": [{"url_file": path, "send_resolved": True}]}


def build_alertmanager_config() -> dict[str, Any]:
    """Pages go to the on-call receiver, tickets to the queue; pages mute their tickets."""
    return {
        "route": {
            "receiver": "ticket",
            "group_by": ["alertname", "slo"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"receiver": "page", "matchers": ['severity="page"'], "repeat_interval": "1h"},
                {"receiver": "ticket", "matchers": ['severity="ticket"']},
            ],
        },
        "receivers": [_webhook("page"), _webhook("ticket")],
        "inhibit_rules": [
            {
                "source_matchers": ['severity="page"'],
                "target_matchers": ['severity="ticket"'],
                "equal": ["alertname", "slo"],
            }
        ],
    }


def build_kube_prometheus_stack_values(platform: PlatformConfig) -> dict[str, Any]:
    """Values for kube-prometheus-stack 79.5.0 (keys from that version's values.yaml)."""
    prometheus_spec: dict[str, Any] = {
        "replicas": platform.prometheus_replicas,
        "retention": f"{platform.prometheus_retention_days}d",
        # Pick up every PrometheusRule and ServiceMonitor, not only the chart's own.
        "ruleSelectorNilUsesHelmValues": False,
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    alertmanager_spec: dict[str, Any] = {
        "replicas": platform.alertmanager_replicas,
        "secrets": [RECEIVERS_SECRET],
    }
    if platform.prometheus_volume_gb:
        prometheus_spec["storageSpec"] = _volume(platform.prometheus_volume_gb)
        alertmanager_spec["storage"] = _volume(5)
    grafana: dict[str, Any] = {
        "admin": {
            "existingSecret": GRAFANA_ADMIN_SECRET,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        "grafana.ini": {
            "server": {"root_url": f"https://{platform.hosts['grafana']}"},
            "users": {"allow_sign_up": False},
            "auth.anonymous": {"enabled": False},
        },
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": DASHBOARD_LABEL,
                "labelValue": "1",
                "searchNamespace": NAMESPACE,
            }
        },
        "persistence": {
            "enabled": platform.grafana_volume_gb is not None,
            "storageClassName": "gp3",
            "size": f"{platform.grafana_volume_gb or 10}Gi",
        },
    }
    return {
        "defaultRules": {"create": True},
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {
            "alertmanagerSpec": alertmanager_spec,
            "config": build_alertmanager_config(),
        },
        "grafana": grafana,
    }
