"""Pure builders for the Elasticsearch cluster, Kibana, and the index lifecycle Job."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from infra.platform.logging.values import (
    CA_DIR,
    CLUSTER,
    ES_CA_SECRET,
    ES_URL,
    ES_USER_SECRET,
    INDEX_PREFIX,
    NAMESPACE,
    WRITER_ROLE,
    WRITER_SECRET,
)

STACK_VERSION = "8.19.0"  # Elasticsearch and Kibana move together
ILM_POLICY = f"{INDEX_PREFIX}-logs"
RUN_AS = 10001


def build_elasticsearch(*, nodes: int, volume_gb: int) -> dict[str, Any]:
    """One node set; every node master-eligible and data, each on its own gp3 volume."""
    return {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1",
        "kind": "Elasticsearch",
        "metadata": {"name": CLUSTER, "namespace": NAMESPACE},
        "spec": {
            "version": STACK_VERSION,
            # Fluent Bit's writer: a file realm user from the Vault-delivered Secret.
            "auth": {"fileRealm": [{"secretName": WRITER_SECRET}]},
            "nodeSets": [
                {
                    "name": "default",
                    "count": nodes,
                    # No mmap: then nodes need no privileged sysctl init container.
                    "config": {"node.store.allow_mmap": False},
                    "podTemplate": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "elasticsearch",
                                    "resources": {
                                        "requests": {"cpu": "500m", "memory": "4Gi"},
                                        "limits": {"memory": "4Gi"},
                                    },
                                }
                            ]
                        }
                    },
                    "volumeClaimTemplates": [
                        {
                            "metadata": {"name": "elasticsearch-data"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "storageClassName": "gp3",
                                "resources": {"requests": {"storage": f"{volume_gb}Gi"}},
                            },
                        }
                    ],
                }
            ],
        },
    }


def build_kibana(*, replicas: int, host: str) -> dict[str, Any]:
    """Kibana serves plain HTTP inside the cluster: TLS ends at the gateway's listener."""
    return {
        "apiVersion": "kibana.k8s.elastic.co/v1",
        "kind": "Kibana",
        "metadata": {"name": CLUSTER, "namespace": NAMESPACE},
        "spec": {
            "version": STACK_VERSION,
            "count": replicas,
            "elasticsearchRef": {"name": CLUSTER},
            "config": {"server.publicBaseUrl": f"https://{host}"},
            "http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
        },
    }


def build_ilm_policy(retention_days: int) -> dict[str, Any]:
    """Roll nothing over (daily indices already are the unit); delete after retention."""
    return {
        "policy": {
            "phases": {
                "hot": {"min_age": "0ms", "actions": {"set_priority": {"priority": 100}}},
                "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
            }
        }
    }


def build_index_template(replicas: int) -> dict[str, Any]:
    """Every daily log index gets the policy, and a replica wherever there is a second node."""
    return {
        "index_patterns": [f"{INDEX_PREFIX}-*"],
        "priority": 200,
        "template": {
            "settings": {
                "index.lifecycle.name": ILM_POLICY,
                "index.number_of_replicas": replicas,
            }
        },
    }


def build_writer_role() -> dict[str, Any]:
    """What Fluent Bit needs and no more: append documents to, and create, its daily indices.
    No cluster privilege: the template and ILM policy are this Job's, applied as elastic."""
    return {
        "cluster": [],
        "indices": [{"names": [f"{INDEX_PREFIX}-*"], "privileges": ["create_doc", "create_index"]}],
    }


def lifecycle_script(*, retention_days: int, index_replicas: int) -> str:
    """Idempotent: PUTs of the full desired state; curl retries until Elasticsearch is up.

    The writer role is a native role (the role API), so no Secret holds its definition; the
    file realm user in the Vault-delivered Secret names it."""
    curl = (
        'curl -fsS --retry 60 --retry-all-errors --retry-delay 10 --cacert "$CA" '
        '-u "elastic:$(cat /es-user/elastic)" -H "Content-Type: application/json" -X PUT'
    )
    policy = json.dumps(build_ilm_policy(retention_days), sort_keys=True)
    template = json.dumps(build_index_template(index_replicas), sort_keys=True)
    role = json.dumps(build_writer_role(), sort_keys=True)
    return (
        "set -eu\n"
        f"CA={CA_DIR}/ca.crt\n"
        f"{curl} {ES_URL}/_ilm/policy/{ILM_POLICY} -d '{policy}'\n"
        f"{curl} {ES_URL}/_index_template/{ILM_POLICY} -d '{template}'\n"
        f"{curl} {ES_URL}/_security/role/{WRITER_ROLE} -d '{role}'\n"
    )


def build_lifecycle_job(image: str, *, retention_days: int, index_replicas: int) -> dict[str, Any]:
    """A restricted-PSS Job; renamed when the script changes so a new retention applies."""
    script = lifecycle_script(retention_days=retention_days, index_replicas=index_replicas)
    name = f"index-lifecycle-{hashlib.sha256(script.encode()).hexdigest()[:10]}"
    container = {
        "name": "apply",
        "image": image,
        "command": ["sh", "-ec", script],
        "volumeMounts": [
            {"name": "ca", "mountPath": CA_DIR, "readOnly": True},
            {"name": "user", "mountPath": "/es-user", "readOnly": True},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            # Elasticsearch takes minutes on a first deploy; curl waits, Pulumi need not.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "index-lifecycle"}},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "ca", "secret": {"secretName": ES_CA_SECRET}},
                        {"name": "user", "secret": {"secretName": ES_USER_SECRET}},
                    ],
                },
            },
        },
    }
