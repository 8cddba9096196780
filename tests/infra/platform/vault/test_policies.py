"""Vault policies, roles and the configure script: least privilege, and idempotent when run."""

from __future__ import annotations

import os
import re
import stat
import subprocess

import pytest

from infra.foundation.service_accounts import SERVING
from infra.platform.namespaces import NAMESPACES
from infra.platform.vault.policies import (
    CONFIGURER,
    ROLES,
    build_configure_script,
    build_policies,
    build_read_policy,
    build_role_parameters,
)

WORKLOADS = {"mlflow", "training", "serving", "airflow", "grafana"}


def test_every_workload_has_a_role_in_a_namespace_that_exists():
    assert set(ROLES) >= WORKLOADS
    for role in ROLES.values():
        assert role.namespace in NAMESPACES
        assert role.service_account.startswith("vault-")
    assert ROLES["serving"].namespace == SERVING.namespace


def test_workload_policies_only_read_their_own_prefix():
    policies = build_policies()
    for name, role in ROLES.items():
        paths = re.findall(r'path "([^"]+)"', policies[name])
        assert paths == [f"mlsys/data/{role.kv_prefix}/*", f"mlsys/metadata/{role.kv_prefix}/*"]
        assert "update" not in policies[name] and "delete" not in policies[name]
    assert len(set(policies.values())) == len(policies)  # no two roles share one


def test_the_configurer_cannot_read_secret_data():
    policy = build_policies()[CONFIGURER]
    assert "mlsys/data" not in policy and "sys/policies/acl/*" in policy
    assert '["create", "update", "sudo", "read"]' in policy


def test_roles_bind_one_account_with_short_audience_bound_tokens():
    params = dict(p.split("=", 1) for p in build_role_parameters("serving", ROLES["serving"]))
    assert params["bound_service_account_names"] == "vault-serving"
    assert params["bound_service_account_namespaces"] == "serving"
    assert params["audience"] == "vault" and params["token_policies"] == "serving"
    assert params["token_max_ttl"] == "1h"


def test_read_policy_is_balanced_hcl():
    hcl = build_read_policy("x")
    assert hcl.count("{") == hcl.count("}") == 2


FAKE_VAULT = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$1 $2" in
  "auth list") [ -f "$STATE/auth" ] && echo '{"kubernetes/": {}}' || echo '{}' ;;
  "auth enable") touch "$STATE/auth" ;;
  "secrets list") [ -f "$STATE/kv" ] && echo '{"mlsys/": {}}' || echo '{}' ;;
  "secrets enable") touch "$STATE/kv" ;;
  "policy write") cat > "$STATE/policy-$3" ;;
  "write auth/kubernetes/login") echo short-lived-token ;;
esac
"""


@pytest.fixture
def fake_vault(tmp_path):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    tool = bin_dir / "vault"
    tool.write_text(FAKE_VAULT)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    script = tmp_path / "configure.sh"
    script.write_text(build_configure_script())
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "STATE": str(state),
        "SA_TOKEN_FILE": "/nonexistent",
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
    }

    def run(**extra: str) -> list[str]:
        (tmp_path / "calls").write_text("")
        subprocess.run(["sh", str(script)], env={**env, **extra}, check=True, timeout=20)
        return (tmp_path / "calls").read_text().splitlines()

    return run, state


def test_script_logs_in_enables_once_and_rewrites_everything(fake_vault):
    run, state = fake_vault
    first = run()
    assert first[0].startswith("write -field=token auth/kubernetes/login role=configurer")
    assert "auth enable -path=kubernetes kubernetes" in first
    assert "secrets enable -path=mlsys -version=2 kv" in first
    second = run()
    # The second run enables nothing again, and writes the same policies and roles.
    assert not [c for c in second if " enable " in f" {c} "]
    assert [c for c in first if "enable" not in c] == second
    written = {p.name.removeprefix("policy-") for p in state.glob("policy-*")}
    assert written == set(build_policies())
    assert (state / "policy-serving").read_text() == build_policies()["serving"]
    roles = {c.split()[1] for c in second if c.startswith("write auth/kubernetes/role/")}
    assert roles == {f"auth/kubernetes/role/{r}" for r in {*ROLES, CONFIGURER}}


def test_script_with_a_root_token_skips_the_login(fake_vault):
    run, _ = fake_vault
    calls = run(VAULT_TOKEN="root")  # the init runbook's first, by-hand run
    assert not [c for c in calls if "login" in c]
    assert "auth enable -path=kubernetes kubernetes" in calls


def test_script_stops_at_the_first_failure(fake_vault, tmp_path):
    run, _ = fake_vault
    failing = tmp_path / "bin" / "vault"
    failing.write_text(FAKE_VAULT.replace('echo "$*" >> "$CALLS"', 'echo "$*" >> "$CALLS"; exit 2'))
    with pytest.raises(subprocess.CalledProcessError):
        run(VAULT_TOKEN="root")
    # A failed listing falls through to the enable, which fails too: nothing after runs.
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["auth list -format=json", "auth enable -path=kubernetes kubernetes"]
