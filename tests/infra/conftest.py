"""Offline plans of every stack, each run at most once per test session."""

from __future__ import annotations

import pytest

from infra.offline.plan import Plan, run_plan
from infra.stack_file import STACKS


class LazyPlans(dict[str, Plan]):
    """Runs a stack's program on first use, so a file that needs only prod runs only prod."""

    def __missing__(self, stack: str) -> Plan:
        if stack not in STACKS:
            raise KeyError(stack)
        self[stack] = plan = run_plan(stack)
        return plan


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return LazyPlans()
