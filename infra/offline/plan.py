"""Runs the real program under mocks for one stack and records what it would create."""

from __future__ import annotations

import asyncio
import runpy
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

# No public API decodes a registration's properties with their secret markers, and
# Mocks.new_resource sees neither the parent nor the URN: so the recording monitor and
# mask() use the SDK's own decoder, exactly as the stock MockMonitor does.
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import Stack

from infra.config import PROJECT
from infra.offline.mocks import PlanMocks, restore_integers
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
    # Neither is in resources.json: the provider SDKs add aliases of their own to many
    # types, and dependencies are URNs, which the tests read.
    aliases: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    # What the mocks answered (id, ARN, names): lets the Terraform-shaped export turn an
    # input that holds another resource's id or ARN into a reference to that resource.
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    # Input name -> URNs of the resources its value came from (as CrossGuard sees them).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_kubernetes(self) -> bool:
        """An object the API server receives (not a provider, Helm release or YAML file)."""
        return self.type.startswith("kubernetes:") and not self.type.startswith(
            ("kubernetes:providers", "kubernetes:helm.sh/", "kubernetes:yaml/")
        )

    @property
    def is_helm_release(self) -> bool:
        return self.type == "kubernetes:helm.sh/v3:Release"


@dataclass
class Plan:
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Resource:
        """The only resource of ``typ``; an error names every match if there is not one."""
        found = self.of_type(typ)
        if len(found) != 1:
            raise LookupError(f"expected one {typ}, found {[r.name for r in found]}")
        return found[0]

    def named(self, name: str) -> Resource:
        """The resource with logical name ``name`` (unique within this program)."""
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one resource named {name}, found {len(found)}")
        return found[0]

    def dependency_names(self, name: str) -> set[str]:
        """Logical names of the resources ``name`` explicitly waits for or reads outputs of."""
        names = {r.urn: r.name for r in self.resources}
        return {names[urn] for urn in self.named(name).dependencies}

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


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, plus the parent, inputs and aliases of each resource."""

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
                    inputs=restore_integers(mask(inputs)),
                    aliases=[_alias(a) for a in request.aliases],
                    dependencies=list(request.dependencies),
                    id=str(getattr(response, "id", "") or ""),
                    outputs=restore_integers(
                        mask(rpc.deserialize_properties(response.object))
                        if response.HasField("object")
                        else {}
                    ),
                    property_dependencies={
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                )
            )
        return response


def _alias(alias: Any) -> str:
    """An alias as one line: the former URN, or the parts of it that changed."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    parts = {"type": spec.type, "name": spec.name, "parent": spec.parentUrn}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def run_plan(stack: str, root: Path = REPO_ROOT, mocks: PlanMocks | None = None) -> Plan:
    """Execute infra/__main__.py exactly as `pulumi up -s <stack>` would, against mocks.

    By default the mocks answer with the account the stack names, as its own credentials
    would; pass ``mocks`` to play other credentials.
    """
    config = read_stack_file(stack, root)
    plan = Plan(stack=stack)
    mocks = mocks or PlanMocks(region=config["aws:region"], account_id=config["mlsys:accountId"])
    pulumi.runtime.set_all_config(config)
    # Pulumi's runtime schedules on the thread's current event loop; a caller that used
    # asyncio.run (a web test in the same process, say) leaves none, so each plan gets its own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # A fresh root stack per run, so several stacks can be planned in one process.
    pulumi.runtime.reset_options(project=PROJECT, stack=stack)
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks, plan)
    )

    # pulumi.runtime.test runs the function the way the language host runs a program:
    # it waits for every registration and for the Output the function returns.
    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> pulumi.Output[int]:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        return pulumi.Output.from_input(_record_outputs(plan))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
        asyncio.set_event_loop(None)
        loop.close()
    return plan


async def _record_outputs(plan: Plan) -> int:
    """The stack's exports, resolved, with secret ones masked whole; returns their count."""
    root = pulumi.runtime.get_root_resource()
    exported = dict(root.outputs) if isinstance(root, Stack) else {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future()
        secret = await output.is_secret()
        plan.outputs[name] = SECRET if secret else restore_integers(mask(resolved))
    return len(plan.outputs)


def to_json(plan: Plan) -> dict[str, Any]:
    return {
        "stack": plan.stack,
        "outputs": plan.outputs,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "inputs": r.inputs,
                "propertyDependencies": r.property_dependencies,
            }
            for r in plan.resources
        ],
    }
