"""Schema checks of every stack's manifests, run once per session and summed up at its end."""

from __future__ import annotations

import pytest

from infra.offline.manifest_schemas import Check, check_manifests, summary
from infra.offline.manifests import to_manifest
from infra.offline.plan import Plan
from infra.stack_file import STACKS, read_stack_file

CHECKS = pytest.StashKey["StackChecks"]()


def cluster_version(stack: str) -> str:
    return read_stack_file(stack)["mlsys:clusterVersion"]


class StackChecks(dict[str, list[Check]]):
    """Checks each stack's manifests on first use, against the cluster version it configures."""

    def __init__(self, plans: dict[str, Plan]) -> None:
        super().__init__()
        self.plans = plans

    def __missing__(self, stack: str) -> list[Check]:
        if stack not in STACKS:
            raise KeyError(stack)
        version = cluster_version(stack)
        manifests = [to_manifest(r) for r in self.plans[stack].resources if r.is_kubernetes]
        self[stack] = checks = check_manifests(manifests, version)
        return checks


@pytest.fixture(scope="session")
def manifest_checks(plans, request) -> StackChecks:
    checks = StackChecks(plans)
    request.config.stash[CHECKS] = checks
    return checks


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Printed whenever the stack-wide checks ran, so an unchecked kind is never silent."""
    checks: StackChecks | None = config.stash.get(CHECKS, None)
    if not checks:
        return
    terminalreporter.section("manifest schemas")
    for line in summary(checks, {stack: cluster_version(stack) for stack in checks}):
        loud = line.startswith("WARNING")
        terminalreporter.write_line(line, yellow=loud, bold=loud)
