"""Offline plans of every stack, run once per test session."""

from __future__ import annotations

import pytest

from infra.offline.plan import Plan, run_plan
from infra.stack_file import STACKS


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return {stack: run_plan(stack) for stack in STACKS}
