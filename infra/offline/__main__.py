"""``python -m infra.offline plan --stack dev`` and ``diff dev prod``: the offline plan."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from infra.offline.manifests import manifest_filename, to_manifest
from infra.offline.plan import Plan, run_plan, to_json
from infra.offline.terraform import to_terraform_plan
from infra.stack_file import REPO_ROOT, STACKS

cli = typer.Typer(help="Check the Pulumi program without cloud credentials.", no_args_is_help=True)
OUT = REPO_ROOT / "build" / "plan"
# Settings worth comparing between stacks, by resource type.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "instanceClass",
        "multiAz",
        "deletionProtection",
        "backupRetentionPeriod",
        "allocatedStorage",
        "engineVersion",
    ),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "scalingConfig"),
    "aws:eks/cluster:Cluster": ("version",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
}


def write_plan(plan: Plan, out: Path) -> Path:
    target = out / plan.stack
    manifests = target / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    for old in manifests.glob("*.yaml"):
        old.unlink()
    (target / "resources.json").write_text(json.dumps(to_json(plan), indent=2, sort_keys=True))
    # For checkov: the same plan as `terraform show -json` would print it.
    (target / "tfplan.json").write_text(json.dumps(to_terraform_plan(plan), indent=2))
    (target / "releases.yaml").write_text(
        yaml.safe_dump(
            {"releases": helm_releases(plan), "remote_manifests": remote_manifests(plan)},
            sort_keys=False,
        )
    )
    for resource in plan.resources:
        if resource.is_kubernetes:
            manifest = to_manifest(resource)
            (manifests / manifest_filename(manifest)).write_text(
                yaml.safe_dump(manifest, sort_keys=False)
            )
    return target


def helm_releases(plan: Plan) -> list[dict[str, Any]]:
    """Every Helm release: chart, repository, version, namespace and the values it gets."""
    releases = []
    for resource in plan.resources:
        if resource.is_helm_release:
            inputs = resource.inputs
            releases.append(
                {
                    "release": inputs["name"],
                    "namespace": inputs["namespace"],
                    "chart": inputs["chart"],
                    "repository": (inputs.get("repositoryOpts") or {}).get("repo", "(oci)"),
                    "version": inputs["version"],
                    "timeout": inputs["timeout"],
                    "values": inputs.get("values", {}),
                }
            )
    return releases


def remote_manifests(plan: Plan) -> list[dict[str, Any]]:
    """YAML the program applies from a pinned URL (CRD bundles), which no plan can expand."""
    return [
        {"name": r.name, "file": r.inputs["file"]}
        for r in plan.resources
        if r.type == "kubernetes:yaml/v2:ConfigFile"
    ]


def summary(plan: Plan) -> str:
    counts = plan.counts()
    width = max(len(t) for t in counts)
    lines = [f"{'resource type':<{width}}  count", f"{'-' * width}  -----"]
    lines += [f"{t:<{width}}  {n:>5}" for t, n in sorted(counts.items())]
    lines.append(f"{'total':<{width}}  {sum(counts.values()):>5}")
    return "\n".join(lines)


def _settings(plan: Plan) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for resource in plan.resources:
        for key in KEY_SETTINGS.get(resource.type, ()):
            found[f"{resource.type.split(':')[-1]} {resource.name.split('-', 2)[-1]}.{key}"] = (
                resource.inputs.get(key)
            )
    return found


def diff(a: Plan, b: Plan) -> Iterable[str]:
    counts_a, counts_b = a.counts(), b.counts()
    yield f"{'resource type':<60} {a.stack:>8} {b.stack:>8}"
    for typ in sorted(set(counts_a) | set(counts_b)):
        if counts_a[typ] != counts_b[typ]:
            yield f"{typ:<60} {counts_a[typ]:>8} {counts_b[typ]:>8}"
    yield ""
    settings_a, settings_b = _settings(a), _settings(b)
    for key in sorted(set(settings_a) | set(settings_b)):
        if settings_a.get(key) != settings_b.get(key):
            left, right = json.dumps(settings_a.get(key)), json.dumps(settings_b.get(key))
            yield f"{key}: {a.stack}={left} {b.stack}={right}"


StackArg = Annotated[str, typer.Option("--stack", "-s", help=f"One of {', '.join(STACKS)}.")]


@cli.command("plan")
def plan_command(stack: StackArg, out: Annotated[Path, typer.Option()] = OUT) -> None:
    """Run the program for STACK under mocks; write resources.json, releases.yaml, manifests/."""
    if stack not in STACKS:
        raise typer.BadParameter(f"unknown stack {stack!r}; use one of {', '.join(STACKS)}")
    plan = run_plan(stack)
    target = write_plan(plan, out)
    typer.echo(summary(plan))
    typer.echo(f"\nwrote {target}/resources.json, tfplan.json, releases.yaml and manifests/")


@cli.command("diff")
def diff_command(a: str, b: str) -> None:
    """Resource counts and key settings that differ between two stacks."""
    for stack in (a, b):
        if stack not in STACKS:
            raise typer.BadParameter(f"unknown stack {stack!r}; use one of {', '.join(STACKS)}")
    first = run_plan(a)
    second = run_plan(b)
    for line in diff(first, second):
        typer.echo(line)


if __name__ == "__main__":
    sys.exit(cli())
