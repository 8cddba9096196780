"""The shared hardening every workload pod gets."""

from __future__ import annotations

from infra.workloads import hardening as hard


def test_a_container_is_restricted_and_writes_only_its_scratch_folder():
    spec = hard.container(name="c", image="repo/app@sha256:" + "0" * 64, resources=hard.SMALL)
    security = spec["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["volumeMounts"] == [{"name": "scratch", "mountPath": "/tmp"}]
    assert spec["imagePullPolicy"] == "IfNotPresent"
    assert set(spec["resources"]) == {"requests", "limits"}
    assert (
        hard.container(name="c", image="repo/app:dev", resources=hard.SMALL)["imagePullPolicy"]
        == "Always"
    )


def test_a_pod_has_no_token_runs_as_a_fixed_user_and_spreads_over_zones():
    match = hard.selector("x")
    pod = hard.pod_spec(service_account="x", containers=[], match=match)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == hard.RUN_AS
    keys = [c["topologyKey"] for c in pod["topologySpreadConstraints"]]
    assert keys == [hard.ZONE_KEY, "kubernetes.io/hostname"]
    assert all(c["labelSelector"]["matchLabels"] == match for c in pod["topologySpreadConstraints"])


def test_selectors_are_a_subset_of_labels():
    labels = hard.labels("x", "serving", track="stable")
    assert hard.selector("x", track="stable").items() <= labels.items()


def test_probes_give_startup_its_own_budget():
    probes = hard.http_probes(port="http", live="/healthz", ready="/readyz", startup_seconds=60)
    assert (
        probes["startupProbe"]["failureThreshold"] * probes["startupProbe"]["periodSeconds"] == 60
    )
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_rollouts_never_go_below_the_current_count_and_the_pdb_allows_drains():
    deployment = hard.rolling_deployment(
        name="x", namespace="n", labels_={"a": "b"}, match={"a": "b"}, pod={}, replicas=None
    )
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in deployment["spec"]  # the HPA owns it
    assert hard.build_pdb(name="x", namespace="n", match={"a": "b"})["spec"]["maxUnavailable"] == 1
