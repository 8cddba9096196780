"""Vault's TLS chain, VSO's auth and static secrets, and the configure Job, as pure objects."""

from __future__ import annotations

from infra.platform.logging.values import WRITER_SECRET
from infra.platform.monitoring.values import GRAFANA_ADMIN_SECRET, RECEIVERS_SECRET
from infra.platform.vault import objects as obj
from infra.platform.vault.policies import ROLES, build_configure_script

IMAGE = "public.ecr.aws/hashicorp/vault:1.20.4@sha256:" + "ab" * 32


def test_server_certificate_names_every_peer_and_is_signed_by_the_internal_ca():
    cert = obj.build_server_certificate(3)["spec"]
    assert cert["secretName"] == "vault-tls"
    assert {"vault-active.vault.svc", "vault-2.vault-internal", "vault"} <= set(cert["dnsNames"])
    assert "vault-3.vault-internal" not in cert["dnsNames"]
    assert cert["issuerRef"] == {"kind": "Issuer", "name": "vault-ca"}
    chain = obj.build_ca_objects()
    assert [o["kind"] for o in chain] == ["Issuer", "Certificate", "Issuer"]
    assert chain[1]["spec"]["isCA"] is True
    assert chain[2]["spec"]["ca"]["secretName"] == chain[1]["spec"]["secretName"]


def test_each_workload_gets_what_it_needs_in_its_own_namespace():
    delivered = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in _secrets()}
    assert delivered == {
        ("mlflow", "mlflow-database"),
        ("airflow", "airflow-database"),
        ("serving", "api-key-hashes"),
        ("monitoring", GRAFANA_ADMIN_SECRET),
        ("monitoring", RECEIVERS_SECRET),
        ("logging", WRITER_SECRET),
    }


def test_static_secrets_read_kv_v2_under_their_roles_prefix_with_their_roles_auth():
    for secret in _secrets():
        spec = secret["spec"]
        role = ROLES[spec["vaultAuthRef"]]
        assert role.namespace == secret["metadata"]["namespace"]
        assert spec["type"] == "kv-v2" and spec["mount"] == "mlsys"
        assert spec["path"].startswith(f"{role.kv_prefix}/")
        destination = {"name": secret["metadata"]["name"], "create": True}
        assert spec["destination"].items() >= destination.items()
        assert set(spec["destination"]) <= {"name", "create", "type"}


def test_grafana_restarts_when_its_admin_password_changes():
    grafana = next(s for s in _secrets() if s["metadata"]["name"] == GRAFANA_ADMIN_SECRET)
    targets = grafana["spec"]["rolloutRestartTargets"]
    assert targets == [{"kind": "Deployment", "name": "kube-prometheus-stack-grafana"}]


def test_vault_auth_uses_the_role_bound_account_and_audience():
    auth = obj.build_vault_auth("mlflow")
    assert auth["metadata"] == {"name": "mlflow", "namespace": "mlflow"}
    kube = auth["spec"]["kubernetes"]
    assert kube == {"role": "mlflow", "serviceAccount": "vault-mlflow", "audiences": ["vault"]}


def test_configure_job_is_restricted_pinned_and_sees_only_the_ca():
    job = obj.build_configure_job(IMAGE)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == IMAGE
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    tls = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    token = next(v for v in pod["volumes"] if v["name"] == "token")
    source = token["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == "vault" and source["expirationSeconds"] <= 3600
    assert job["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_the_job_runs_the_script_in_its_config_map_and_is_renamed_when_it_changes():
    config_map = obj.build_configure_script_map()
    assert config_map["data"]["configure.sh"] == build_configure_script()
    name = obj.configure_job_name(build_configure_script())
    assert name.startswith("vault-configure-") and len(name) <= 63
    assert obj.configure_job_name(build_configure_script() + "#\n") != name
    assert obj.build_configure_job(IMAGE)["metadata"]["name"] == name


def _secrets():
    return [obj.build_static_secret(d) for d in obj.DELIVERIES]
