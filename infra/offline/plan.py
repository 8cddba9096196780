"""Runs the real program under mocks for one stack and records what it would create."""

from __future__ import annotations

import runpy
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.config import PROJECT
from infra.offline.mocks import PlanMocks
from infra.stack_file import REPO_ROOT, read_stack_file

PROGRAM = REPO_ROOT / "infra" / "__main__.py"
SECRET = "[secret]"


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:") and "providers" not in self.type


@dataclass
class Plan:
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)


def mask(value: Any) -> Any:
    """Secret values become '[secret]' wherever they sit; the plan never holds one."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, plus the parent of each resource and the stack's outputs."""

    def __init__(self, mocks: PlanMocks, plan: Plan) -> None:
        super().__init__(mocks)
        self.plan = plan

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            self.plan.resources.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent or None,
                    provider=request.provider or None,
                    inputs=mask(inputs),
                )
            )
        return response


def run_plan(stack: str, root: Path = REPO_ROOT) -> Plan:
    """Execute infra/__main__.py exactly as `pulumi up -s <stack>` would, against mocks."""
    config = read_stack_file(stack, root)
    plan = Plan(stack=stack)
    mocks = PlanMocks(region=config["aws:region"])
    pulumi.runtime.set_all_config(config)
    # A fresh root stack per run, so several stacks can be planned in one process.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks, plan)
    )
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    try:

        def program() -> None:
            runpy.run_path(str(PROGRAM), run_name="__main__")

        _sync_await(run_pulumi_func(program))
        # set_mocks made the root stack; its exports resolve once every resource has.
        stack_resource = pulumi.runtime.settings.get_root_resource()
        exported = dict(getattr(stack_resource, "outputs", {}) or {})
        names = list(exported)
        values = _sync_await(_resolve([exported[n] for n in names]))
        plan.outputs = {
            n: (SECRET if secret else mask(v)) for n, (v, secret) in zip(names, values, strict=True)
        }
    finally:
        pulumi.runtime.set_all_config({})
    return plan


async def _resolve(outputs: list[Any]) -> list[tuple[Any, bool]]:
    resolved = []
    for output in outputs:
        out = pulumi.Output.from_input(output)
        resolved.append((await out.future(), await out.is_secret()))
    return resolved


def to_json(plan: Plan) -> dict[str, Any]:
    return {
        "stack": plan.stack,
        "outputs": plan.outputs,
        "resources": [
            {"type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs}
            for r in plan.resources
        ],
    }
