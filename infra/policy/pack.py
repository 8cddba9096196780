"""The CrossGuard policies, built from the plain rules (importable without serving)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from infra.policy.rules import RESOURCE_RULES, STACK_RULES, PlannedResource, ResourceRule, StackRule
from infra.policy.values import UNKNOWN

PACK_NAME = "mlsys-guardrails"


class PreviewProps(Mapping[str, Any]):
    """CrossGuard's props, read lazily: a value preview cannot know reads as UNKNOWN.

    CrossGuard's own proxy raises on the first unknown value a policy touches, and then
    reports the whole policy as advisory; the rules read only what they need and decide.
    """

    def __init__(self, target: Mapping[str, Any]) -> None:
        self._target = target

    def __getitem__(self, key: str) -> Any:
        try:
            return preview_value(self._target[key])
        except UnknownValueError:
            return UNKNOWN

    def __iter__(self) -> Iterator[str]:
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


class PreviewList(Sequence[Any]):
    def __init__(self, target: Sequence[Any]) -> None:
        self._target = target

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        try:
            return preview_value(self._target[index])
        except UnknownValueError:
            return UNKNOWN

    def __len__(self) -> int:
        return len(self._target)


def preview_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return PreviewProps(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return PreviewList(value)
    return value


def _resource_policy(name: str, description: str, rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in rule(args.resource_type, PreviewProps(args.props)):
            report(message, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


def _stack_policy(name: str, description: str, rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [
            PlannedResource(
                r.resource_type,
                r.name,
                PreviewProps(r.props),
                r.urn,
                {k: [d.urn for d in deps] for k, deps in r.property_dependencies.items()},
            )
            for r in args.resources
        ]
        for message in rule(resources):
            report(message, None)

    return StackValidationPolicy(name=name, description=description, validate=validate)


def build_policies() -> list[Policy]:
    return [
        *(_resource_policy(n, d, r) for n, (d, r) in RESOURCE_RULES.items()),
        *(_stack_policy(n, d, r) for n, (d, r) in STACK_RULES.items()),
    ]
