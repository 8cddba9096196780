"""Vault and Vault Secrets Operator values: HA raft, TLS, KMS seal, injector off."""

from __future__ import annotations

import re

from infra.foundation.service_accounts import VAULT
from infra.platform.vault.values import (
    CA_FILE,
    build_secrets_operator_values,
    build_server_config,
    build_vault_values,
)

KEY = "arn:aws:kms:eu-west-1:111122223333:key/abc"


def _values(replicas: int = 3):
    return build_vault_values(replicas=replicas, volume_gb=10, region="eu-west-1", kms_key_id=KEY)


def test_values_set_only_keys_the_pinned_charts_document():
    # vault 0.31.0 and vault-secrets-operator 0.10.0 keys used here.
    values = _values()
    assert set(values) == {"global", "injector", "server", "ui"}
    assert set(values["server"]) == {
        "standalone",
        "ha",
        "dataStorage",
        "serviceAccount",
        "extraEnvironmentVars",
        "volumes",
        "volumeMounts",
        "readinessProbe",
        "statefulSet",
        "resources",
    }
    operator = build_secrets_operator_values(replicas=1)
    assert set(operator) == {"controller", "defaultVaultConnection"}
    assert set(operator["controller"]) == {"replicas", "podSecurityContext", "securityContext"}


def test_ha_raft_with_tls_and_the_injector_off():
    values = _values()
    assert values["global"]["tlsDisable"] is False
    assert values["injector"]["enabled"] is False
    ha = values["server"]["ha"]
    assert ha["enabled"] and ha["raft"]["enabled"] and ha["replicas"] == 3
    assert values["server"]["standalone"]["enabled"] is False
    assert values["server"]["dataStorage"]["storageClass"] == "gp3"


def test_the_seal_is_kms_through_the_pod_identity_service_account():
    values = _values()
    env = values["server"]["extraEnvironmentVars"]
    assert env["VAULT_AWSKMS_SEAL_KEY_ID"] == KEY and env["AWS_REGION"] == "eu-west-1"
    assert values["server"]["serviceAccount"]["name"] == VAULT.service_account
    config = values["server"]["ha"]["raft"]["config"]
    assert 'seal "awskms" {}' in config
    # No static AWS credentials anywhere: Pod Identity supplies them.
    assert "access_key" not in config and "AWS_ACCESS_KEY_ID" not in env


def test_listener_serves_tls_and_raft_peers_verify_it():
    config = build_server_config(replicas=3)
    assert (
        "tls_disable" not in config and 'tls_cert_file = "/vault/userconfig/tls/tls.crt"' in config
    )
    joins = re.findall(r'leader_api_addr = "(https://[^"]+)"', config)
    assert joins == [f"https://vault-{i}.vault-internal:8200" for i in range(3)]
    assert config.count(f'leader_ca_cert_file = "{CA_FILE}"') == 3
    assert config.count("{") == config.count("}")


def test_dev_runs_one_node():
    assert _values(1)["server"]["ha"]["replicas"] == 1
    assert build_server_config(replicas=1).count("retry_join") == 1


def test_pods_meet_pod_security_restricted():
    values = _values()
    security = values["server"]["statefulSet"]["securityContext"]
    assert security["pod"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["pod"]["fsGroup"] == 1000  # the raft volume stays writable
    assert security["container"]["capabilities"] == {"drop": ["ALL"]}
    controller = build_secrets_operator_values(replicas=2)["controller"]
    assert controller["replicas"] == 2
    assert controller["securityContext"]["allowPrivilegeEscalation"] is False


def test_operator_connects_to_the_active_node_over_verified_tls():
    connection = build_secrets_operator_values(replicas=1)["defaultVaultConnection"]
    assert connection["address"] == "https://vault-active.vault.svc:8200"
    assert connection["caCertSecret"] == "vault-tls" and connection["skipTLSVerify"] is False
