"""ECK, Elasticsearch, Kibana, Fluent Bit and the index lifecycle, as values and objects."""

from __future__ import annotations

import json
import re
import subprocess

from infra.platform.gateway_objects import HOST_NAMESPACES
from infra.platform.logging import objects as obj
from infra.platform.logging.values import (
    ES_CA_SECRET,
    INDEX_PREFIX,
    NAMESPACE,
    WRITER_ROLE,
    WRITER_SECRET,
    build_eck_operator_values,
    build_fluent_bit_config,
    build_fluent_bit_values,
)

IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.0@sha256:" + "ab" * 32


def test_values_set_only_keys_the_pinned_charts_document():
    # eck-operator 3.1.0 and fluent-bit 0.50.0 keys used here.
    assert set(build_eck_operator_values(replicas=1)) == {
        "installCRDs",
        "replicaCount",
        "managedNamespaces",
        "resources",
    }
    assert set(build_fluent_bit_values()) == {
        "kind",
        "tolerations",
        "env",
        "extraVolumes",
        "extraVolumeMounts",
        "resources",
        "config",
    }
    assert set(build_fluent_bit_config()) == {"service", "inputs", "filters", "outputs"}


def test_the_operator_watches_only_the_logging_namespace_kibana_is_routed_to():
    assert build_eck_operator_values(replicas=1)["managedNamespaces"] == [NAMESPACE]
    assert HOST_NAMESPACES["kibana"] == NAMESPACE


def test_fluent_bit_parses_json_container_logs_and_ships_over_verified_tls():
    config = build_fluent_bit_config()
    assert "Path /var/log/containers/*.log" in config["inputs"]
    assert "multiline.parser cri" in config["inputs"]
    assert "Merge_Log On" in config["filters"]
    out = config["outputs"]
    assert "Name es" in out and "tls.verify On" in out
    assert f"Logstash_Prefix {INDEX_PREFIX}" in out
    # The login comes from the Vault-delivered Secret through the environment.
    assert "HTTP_User ${ES_USER}" in out and "HTTP_Passwd ${ES_PASSWORD}" in out
    values = build_fluent_bit_values()
    assert values["extraVolumes"][0]["secret"]["secretName"] == ES_CA_SECRET
    assert values["tolerations"] == [{"operator": "Exists"}]


def test_prod_runs_three_nodes_on_volumes_dev_one():
    prod = obj.build_elasticsearch(nodes=3, volume_gb=100)["spec"]["nodeSets"][0]
    dev = obj.build_elasticsearch(nodes=1, volume_gb=20)["spec"]["nodeSets"][0]
    assert (prod["count"], dev["count"]) == (3, 1)
    claim = prod["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"]["requests"]["storage"] == "100Gi"
    assert prod["config"] == {"node.store.allow_mmap": False}


def test_kibana_serves_http_behind_the_gateway_at_its_public_host():
    kibana = obj.build_kibana(replicas=2, host="kibana.example.com")["spec"]
    assert kibana["http"]["tls"]["selfSignedCertificate"]["disabled"] is True
    assert kibana["config"]["server.publicBaseUrl"] == "https://kibana.example.com"
    assert kibana["elasticsearchRef"] == {"name": "logs"}
    assert kibana["version"] == obj.build_elasticsearch(nodes=1, volume_gb=1)["spec"]["version"]


def test_lifecycle_policy_deletes_after_the_configured_days():
    policy = obj.build_ilm_policy(14)["policy"]["phases"]
    assert policy["delete"] == {"min_age": "14d", "actions": {"delete": {}}}
    template = obj.build_index_template(1)
    assert template["index_patterns"] == [f"{INDEX_PREFIX}-*"]
    assert template["template"]["settings"]["index.lifecycle.name"] == obj.ILM_POLICY


def test_lifecycle_job_puts_both_documents_and_changes_name_with_retention():
    job = obj.build_lifecycle_job(IMAGE, retention_days=30, index_replicas=1)
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    bodies = [json.loads(b) for b in re.findall(r"-d '([^']+)'", script)]
    assert bodies == [
        obj.build_ilm_policy(30),
        obj.build_index_template(1),
        obj.build_writer_role(),
    ]
    assert "--cacert" in script and "-k " not in script
    other = obj.build_lifecycle_job(IMAGE, retention_days=7, index_replicas=1)
    assert other["metadata"]["name"] != job["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False


def test_lifecycle_script_sends_each_body_intact_to_elasticsearch(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_curl = bin_dir / "curl"
    # Records the URL and the -d body of each call, one JSON line per call.
    fake_curl.write_text(
        "#!/bin/sh\n"
        'url=""; body=""\n'
        'while [ $# -gt 0 ]; do case "$1" in -d) body="$2"; shift;; https://*) url="$1";; esac;'
        " shift; done\n"
        'printf "%s %s\\n" "$url" "$body" >> "$CALLS"\n'
    )
    fake_curl.chmod(0o755)
    script = obj.lifecycle_script(retention_days=9, index_replicas=0)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls")}
    subprocess.run(["sh", "-ec", script], env=env, check=True, timeout=20)
    calls = [line.split(" ", 1) for line in (tmp_path / "calls").read_text().splitlines()]
    assert [url.rsplit("/", 2)[-2] for url, _ in calls] == ["policy", "_index_template", "role"]
    assert json.loads(calls[0][1]) == obj.build_ilm_policy(9)
    assert json.loads(calls[1][1]) == obj.build_index_template(0)
    assert calls[2][0].endswith(f"/_security/role/{WRITER_ROLE}")
    assert json.loads(calls[2][1]) == obj.build_writer_role()


def test_fluent_bit_signs_in_as_its_writer_never_as_elastic():
    values = build_fluent_bit_values()
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in values["env"]}
    assert refs == {
        "ES_USER": {"name": WRITER_SECRET, "key": "username"},
        "ES_PASSWORD": {"name": WRITER_SECRET, "key": "password"},
    }
    assert "elastic" not in json.dumps(values["env"])
    assert "HTTP_User elastic" not in build_fluent_bit_config()["outputs"]
    assert "Write_Operation create" in build_fluent_bit_config()["outputs"]


def test_the_writer_may_only_create_its_own_indices_and_documents():
    role = obj.build_writer_role()
    assert role["cluster"] == []
    (indices,) = role["indices"]
    assert indices["names"] == [f"{INDEX_PREFIX}-*"]
    assert set(indices["privileges"]) == {"create_doc", "create_index"}
    spec = obj.build_elasticsearch(nodes=1, volume_gb=10)["spec"]
    assert spec["auth"] == {"fileRealm": [{"secretName": WRITER_SECRET}]}


def test_vault_delivers_the_writer_as_a_basic_auth_secret_that_restarts_fluent_bit():
    from infra.platform.vault.objects import DELIVERIES, build_static_secret
    from infra.platform.vault.policies import ROLES

    (delivery,) = [d for d in DELIVERIES if d.secret == WRITER_SECRET]
    secret = build_static_secret(delivery)
    assert secret["metadata"]["namespace"] == NAMESPACE == ROLES[delivery.role].namespace
    assert secret["spec"]["destination"]["type"] == "kubernetes.io/basic-auth"
    assert secret["spec"]["rolloutRestartTargets"] == [{"kind": "DaemonSet", "name": "fluent-bit"}]
