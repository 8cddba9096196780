"""A readable report of named checks, shared by every release command."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer


@dataclass(frozen=True)
class Check:
    """One named check: whether it passed and what was seen."""

    name: str
    passed: bool
    detail: str


@dataclass
class Report:
    """Checks in the order they ran; printing them is the command's output."""

    title: str
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str) -> bool:
        """Record and print one check as soon as it is known, so a hang shows where."""
        check = Check(name, passed, detail)
        self.checks.append(check)
        typer.echo(f"  {'PASS' if passed else 'FAIL'}  {name:<28} {detail}")
        return passed

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def verdict(self) -> None:
        """Print the verdict and exit non-zero if any check failed (or none ran)."""
        failed = [check.name for check in self.checks if not check.passed]
        if self.passed:
            typer.echo(f"{self.title}: PASSED ({len(self.checks)} checks)")
            return
        typer.echo(f"{self.title}: FAILED ({', '.join(failed) or 'no check ran'})")
        raise typer.Exit(1)
