"""The Gateway, its redirect, routes and the API rate limit, as pure objects."""

from __future__ import annotations

from infra.platform.gateway_objects import (
    API_ROUTE,
    build_api_rate_limit,
    build_gateway,
    build_gateway_fabric_values,
    build_https_redirect,
    build_route,
)
from infra.platform.tls_objects import (
    ACME_SERVERS,
    build_cert_manager_values,
    build_certificate,
    build_cluster_issuer,
)

HOSTS = {"api": "api.example.com", "grafana": "grafana.example.com"}


def test_one_https_listener_per_host_and_http_only_for_the_gateway_namespace():
    listeners = {item["name"]: item for item in build_gateway(HOSTS)["spec"]["listeners"]}
    assert set(listeners) == {"http", "https-api", "https-grafana"}
    assert listeners["http"]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    api = listeners["https-api"]
    assert (api["port"], api["protocol"], api["hostname"]) == (443, "HTTPS", "api.example.com")
    assert api["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "api-tls"}]
    selector = api["allowedRoutes"]["namespaces"]["selector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "serving"}


def test_the_gateway_asks_for_an_nlb():
    annotations = build_gateway(HOSTS)["spec"]["infrastructure"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"


def test_http_only_redirects_to_https():
    spec = build_https_redirect(HOSTS)["spec"]
    assert spec["parentRefs"] == [{"name": "public", "sectionName": "http"}]
    (rule,) = spec["rules"]
    assert "backendRefs" not in rule
    assert rule["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}


def test_rate_limit_targets_the_api_route_with_config_values():
    policy = build_api_rate_limit(per_second=50, burst=100)
    assert policy["metadata"]["namespace"] == "serving"
    assert policy["spec"]["targetRefs"][0]["name"] == API_ROUTE
    (rule,) = policy["spec"]["rateLimit"]["local"]["rules"]
    assert (rule["rate"], rule["burst"]) == ("50r/s", 100)


def test_routes_bind_to_their_own_listener():
    route = build_route(
        name="grafana",
        namespace="monitoring",
        purpose="grafana",
        host="g.example.com",
        service="svc",
        port=80,
    )
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https-grafana"


def test_values_set_only_keys_the_pinned_charts_document():
    # nginx-gateway-fabric 2.4.0 and cert-manager v1.19.1 top-level keys used here.
    assert set(build_gateway_fabric_values(replicas=3)) == {"nginxGateway", "nginx"}
    assert build_gateway_fabric_values(replicas=3)["nginx"]["replicas"] == 3
    values = build_cert_manager_values(replicas=2)
    assert set(values) == {
        "crds",
        "replicaCount",
        "podDisruptionBudget",
        "webhook",
        "cainjector",
        "config",
    }
    assert values["crds"] == {"enabled": True, "keep": True}
    assert values["config"]["enableGatewayAPI"] is True


def test_issuers_solve_http01_through_the_gateway_and_certificates_name_theirs():
    for name, server in ACME_SERVERS.items():
        acme = build_cluster_issuer(name, "ops@example.com")["spec"]["acme"]
        assert acme["server"] == server
        ref = acme["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]
        assert (ref["name"], ref["sectionName"]) == ("public", "http")
    cert = build_certificate("api", "api.example.com", "letsencrypt-prod")
    assert cert["spec"]["secretName"] == "api-tls"
    assert cert["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "letsencrypt-prod"}


def test_dns01_issuers_use_route53_with_ambient_credentials_only():
    issuer = build_cluster_issuer("letsencrypt-prod", "ops@example.com", ("eu-west-1", "Z123"))
    (solver,) = issuer["spec"]["acme"]["solvers"]
    assert solver == {"dns01": {"route53": {"region": "eu-west-1", "hostedZoneID": "Z123"}}}
    (http,) = build_cluster_issuer("letsencrypt-prod", "ops@example.com")["spec"]["acme"]["solvers"]
    assert set(http) == {"http01"}
