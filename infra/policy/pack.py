"""The CrossGuard policies, built from the plain rules (importable without serving)."""

from __future__ import annotations

from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.policy.rules import RESOURCE_RULES, STACK_RULES, PlannedResource, ResourceRule, StackRule


def _resource_policy(name: str, description: str, rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in rule(args.resource_type, dict(args.props)):
            report(message, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


def _stack_policy(name: str, description: str, rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [
            PlannedResource(r.resource_type, r.name, dict(r.props)) for r in args.resources
        ]
        for message in rule(resources):
            report(message, None)

    return StackValidationPolicy(name=name, description=description, validate=validate)


PACK_NAME = "mlsys-guardrails"


def build_policies() -> list[Policy]:
    return [
        *(_resource_policy(n, d, r) for n, (d, r) in RESOURCE_RULES.items()),
        *(_stack_policy(n, d, r) for n, (d, r) in STACK_RULES.items()),
    ]
