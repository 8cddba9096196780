"""Helm values for the ECK operator and Fluent Bit."""

from __future__ import annotations

from typing import Any

NAMESPACE = "logging"
CLUSTER = "logs"  # the Elasticsearch and Kibana objects' name; ECK derives Services from it
ES_SERVICE = f"{CLUSTER}-es-http"  # <name>-es-http, TLS with ECK's own CA
ES_URL = f"https://{ES_SERVICE}.{NAMESPACE}.svc:9200"
ES_CA_SECRET = f"{CLUSTER}-es-http-certs-public"
ES_USER_SECRET = f"{CLUSTER}-es-elastic-user"
# Fluent Bit's own login: a file realm user ECK reads from this basic-auth Secret, which
# Vault Secrets Operator delivers (docs/runbooks/vault.md), with only WRITER_ROLE.
WRITER_SECRET = "fluent-bit-es-user"  # noqa: S105 - a Secret's name
WRITER_ROLE = "fluent-bit-writer"
INDEX_PREFIX = "kube"  # daily indices kube-YYYY.MM.DD; clear of the built-in logs-*-* streams
CA_DIR = "/es-ca"


def build_eck_operator_values(*, replicas: int) -> dict[str, Any]:
    """Values for eck-operator 3.1.0 (keys from that version's values.yaml)."""
    return {
        "installCRDs": True,
        "replicaCount": replicas,
        # Watch only the logging namespace: the operator needs no cluster-wide reach.
        "managedNamespaces": [NAMESPACE],
        "resources": {
            "requests": {"cpu": "100m", "memory": "150Mi"},
            "limits": {"memory": "1Gi"},
        },
    }


def build_fluent_bit_config() -> dict[str, str]:
    """Tail container logs, lift JSON app logs into fields, ship to Elasticsearch."""
    return {
        "service": (
            "[SERVICE]\n"
            "    Daemon Off\n"
            "    Flush 5\n"
            "    Log_Level info\n"
            "    Parsers_File /fluent-bit/etc/parsers.conf\n"
            "    HTTP_Server On\n"
            "    HTTP_Listen 0.0.0.0\n"
            "    HTTP_Port 2020\n"
            "    Health_Check On\n"
        ),
        "inputs": (
            "[INPUT]\n"
            "    Name tail\n"
            "    Path /var/log/containers/*.log\n"
            # containerd writes the CRI format; the JSON body is the app's own line.
            "    multiline.parser cri\n"
            "    Tag kube.*\n"
            "    Mem_Buf_Limit 50MB\n"
            "    Skip_Long_Lines On\n"
        ),
        "filters": (
            "[FILTER]\n"
            "    Name kubernetes\n"
            "    Match kube.*\n"
            # Merge_Log parses a JSON log line into top-level fields (level, request_id...).
            "    Merge_Log On\n"
            "    Keep_Log Off\n"
            "    K8S-Logging.Parser On\n"
            "    K8S-Logging.Exclude On\n"
        ),
        "outputs": (
            "[OUTPUT]\n"
            "    Name es\n"
            "    Match kube.*\n"
            f"    Host {ES_SERVICE}.{NAMESPACE}.svc\n"
            "    Port 9200\n"
            "    HTTP_User ${ES_USER}\n"
            "    HTTP_Passwd ${ES_PASSWORD}\n"
            # Append only: the writer role grants create_doc, never index (overwrite).
            "    Write_Operation create\n"
            "    tls On\n"
            "    tls.verify On\n"
            f"    tls.ca_file {CA_DIR}/ca.crt\n"
            "    Logstash_Format On\n"
            f"    Logstash_Prefix {INDEX_PREFIX}\n"
            "    Suppress_Type_Name On\n"
            "    Replace_Dots On\n"
            "    Trace_Error On\n"
            "    Retry_Limit 10\n"
        ),
    }


def build_fluent_bit_values() -> dict[str, Any]:
    """Values for fluent-bit 0.50.0 (keys from that version's values.yaml)."""
    return {
        "kind": "DaemonSet",
        # Every node, tainted or not: a node without a shipper loses its logs.
        "tolerations": [{"operator": "Exists"}],
        "env": [
            {
                "name": env,
                "valueFrom": {"secretKeyRef": {"name": WRITER_SECRET, "key": key}},
            }
            for env, key in (("ES_USER", "username"), ("ES_PASSWORD", "password"))
        ],
        "extraVolumes": [{"name": "es-ca", "secret": {"secretName": ES_CA_SECRET}}],
        "extraVolumeMounts": [{"name": "es-ca", "mountPath": CA_DIR, "readOnly": True}],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": "256Mi"},
        },
        "config": build_fluent_bit_config(),
    }
