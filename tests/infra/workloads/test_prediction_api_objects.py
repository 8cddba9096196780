"""The prediction API's objects: backends, route weights, scaling, probes, policy, scrape."""

from __future__ import annotations

import re

import pytest

from app.routes.health import router as health_router
from app.wiring.settings import ApiSettings as AppSettings
from infra.platform.gateway_objects import API_ROUTE, HOST_NAMESPACES
from infra.release.canary_checks import Selectors
from infra.workloads import prediction_api_objects as api

IMAGE = "repo/app@sha256:" + "1" * 64
SETTINGS = api.ApiSettings(
    region="eu-west-1",
    host="api.example.com",
    aws_cli_image="aws-cli@sha256:" + "2" * 64,
    signing_key_arn="arn:aws:kms:eu-west-1:111122223333:key/abc",
)


def _pod(track: api.Track = "stable") -> dict:
    return api.build_deployment(track, IMAGE, SETTINGS)["spec"]["template"]["spec"]


def test_names_and_labels_match_what_the_platform_and_release_tools_expect():
    assert api.NAME == API_ROUTE and HOST_NAMESPACES["api"] == api.NAMESPACE
    selectors = Selectors()
    pod_name = re.compile(re.search(r'pod=~"([^"]+)"', selectors.canary_pods)[1])
    assert pod_name.fullmatch(f"{api.deployment_name('canary')}-7d9f8-abcde")
    assert not pod_name.fullmatch(f"{api.deployment_name('stable')}-7d9f8-abcde")
    for track in ("stable", "canary"):
        deployment = api.build_deployment(track, IMAGE, SETTINGS)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert f'track="{labels["track"]}"' == getattr(selectors, track)
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert api.build_service(track)["spec"]["selector"].items() <= labels.items()


def test_the_route_sends_the_canary_its_weight_and_weight_zero_removes_it():
    only_stable = api.build_route("api.example.com", 0)["spec"]["rules"][0]["backendRefs"]
    assert only_stable == [{"name": "prediction-api", "port": 8000, "weight": 100}]
    split = api.build_route("api.example.com", 10)["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in split] == [
        ("prediction-api", 90),
        ("prediction-api-canary", 10),
    ]
    parent = api.build_route("api.example.com", 0)["spec"]["parentRefs"][0]
    assert parent["sectionName"] == "https-api"  # the TLS listener only


def test_probes_use_the_apps_own_endpoints_and_ports():
    container = _pod()["containers"][0]
    paths = {route.path for route in health_router.routes}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] in paths
        assert container[probe]["httpGet"]["port"] == "http"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000, "metrics": 9090}


def test_the_env_is_a_valid_app_configuration(monkeypatch):
    for item in _pod()["containers"][0]["env"]:
        monkeypatch.setenv(item["name"], item.get("value", "from-a-secret"))
    settings = AppSettings()
    assert settings.port == api.HTTP_PORT and settings.metrics_port == api.METRICS_PORT
    assert settings.auth_enabled and str(settings.api_keys_file).startswith(api.KEYS_DIR)
    assert str(settings.signing_public_key_path) == api.SIGNING_KEY_FILE
    assert settings.registry_uri == api.MLFLOW_URI


def test_the_key_file_is_mounted_read_only_from_the_vault_delivered_secret():
    pod = _pod()
    volume = next(v for v in pod["volumes"] if v["name"] == "api-keys")
    assert volume["secret"]["secretName"] == "api-key-hashes"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "api-keys")
    assert mount["readOnly"] is True and "subPath" not in mount


@pytest.mark.parametrize("track", ["stable", "canary"])
def test_every_container_is_restricted_with_requests_and_limits(track):
    pod = _pod(track)
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "prediction-api"
    for container in pod["containers"] + pod["initContainers"]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"] and container["resources"]["requests"]


def test_the_hpa_scales_on_cpu_memory_and_in_flight_within_the_configured_bounds():
    hpa = api.build_hpa("stable", 3, 20)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    resources = {m["resource"]["name"] for m in hpa["metrics"] if m["type"] == "Resource"}
    assert resources == {"cpu", "memory"}
    assert [m["pods"]["metric"]["name"] for m in hpa["metrics"] if m["type"] == "Pods"] == [
        "mlsys_http_requests_in_flight"
    ]
    assert hpa["scaleTargetRef"]["name"] == "prediction-api"
    assert api.canary_min_replicas(10, 3) == 1 and api.canary_min_replicas(50, 3) == 2


def test_network_policy_admits_the_gateway_and_prometheus_and_reaches_mlflow():
    spec = api.build_network_policy()["spec"]
    ingress = {
        (
            r["ports"][0]["port"],
            next(iter(r["from"][0]["namespaceSelector"]["matchLabels"].values())),
        )
        for r in spec["ingress"]
    }
    assert ingress == {(8000, "gateway"), (9090, "monitoring")}
    targets = [r.get("to", [{}])[0] for r in spec["egress"]]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mlflow"}}
    } in targets
    assert {r["ports"][0]["port"] for r in spec["egress"]} == {53, 5000, 443, 80}


def test_the_service_monitor_scrapes_the_metrics_port_and_keeps_the_track():
    spec = api.build_service_monitor()["spec"]
    endpoint = spec["endpoints"][0]
    assert endpoint["port"] == "metrics"
    assert {"action": "replace", "targetLabel": "job", "replacement": "prediction-api"} in endpoint[
        "relabelings"
    ]
    track = [r for r in endpoint["relabelings"] if r.get("targetLabel") == "track"]
    assert track[0]["sourceLabels"] == ["__meta_kubernetes_pod_label_track"]
    assert (
        spec["selector"]["matchLabels"].items()
        <= api.build_service("canary")["metadata"]["labels"].items()
    )
