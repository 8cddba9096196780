"""kube-prometheus-stack values differ per stack only where config says so."""

from __future__ import annotations

import json

from infra.platform.monitoring.dashboards import build_dashboard_config_map, dashboard_files
from infra.platform.monitoring.values import (
    build_alertmanager_config,
    build_kube_prometheus_stack_values,
)
from infra.platform_config import parse_platform

RAW = {
    "acmeIssuer": "letsencrypt-prod",
    "apiRateLimitPerSecond": 10,
    "apiRateLimitBurst": 20,
    "apiLatencyP99Ms": 250,
    "driftPsiThreshold": "0.2",
    "trainingStaleDays": 7,
    "prometheusRetentionDays": 30,
    "vaultImage": "public.ecr.aws/hashicorp/vault:1.20.4@sha256:" + "ab" * 32,
    "backupRetentionDays": 30,
    "logIndexRetentionDays": 30,
}


def _values(environment):
    return build_kube_prometheus_stack_values(parse_platform(RAW, environment, "api.example.com"))


def test_prod_gets_replicas_and_gp3_volumes_dev_does_not():
    prod = _values("prod")["prometheus"]["prometheusSpec"]
    dev = _values("dev")["prometheus"]["prometheusSpec"]
    assert prod["replicas"] == 2 and dev["replicas"] == 1
    claim = prod["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert "storageSpec" not in dev
    assert prod["retention"] == "30d"
    assert _values("prod")["alertmanager"]["alertmanagerSpec"]["replicas"] == 3


def test_grafana_admin_and_receivers_come_from_secrets_not_values():
    values = _values("prod")
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    text = json.dumps(values)
    assert 'password": "' not in text and "adminPassword" not in text
    for receiver in build_alertmanager_config()["receivers"]:
        assert receiver["webhook_configs"][0]["url_file"].startswith("/etc/alertmanager/secrets/")


def test_pages_and_tickets_route_to_their_own_receivers():
    routes = build_alertmanager_config()["route"]["routes"]
    assert [(r["receiver"], r["matchers"]) for r in routes] == [
        ("page", ['severity="page"']),
        ("ticket", ['severity="ticket"']),
    ]


def test_every_dashboard_is_valid_json_in_a_labelled_config_map():
    names = {p.stem for p in dashboard_files()}
    assert names == {
        "api-golden-signals",
        "model",
        "training-pipeline",
        "mlflow",
        "cluster-overview",
    }
    for path in dashboard_files():
        config_map = build_dashboard_config_map(path)
        assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
        assert json.loads(config_map["data"][path.name])["panels"]
