"""`python -m infra.policy build/plan/<stack>/resources.json`: the guardrails over a plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from infra.policy.rules import PlannedResource, check_all


def load(path: Path) -> list[PlannedResource]:
    """The resources of a plan written by `make plan` (infra.offline)."""
    document: dict[str, Any] = json.loads(path.read_text())
    return [
        PlannedResource(
            r["type"],
            r["name"],
            r.get("inputs") or {},
            r.get("urn", ""),
            r.get("propertyDependencies") or {},
        )
        for r in document["resources"]
    ]


def main(argv: list[str]) -> int:
    """Exit 0 when every plan passes; otherwise list each violation and exit 1."""
    if not argv:
        print("usage: python -m infra.policy build/plan/<stack>/resources.json ...")
        return 2
    failed = 0
    for name in argv:
        violations = check_all(load(Path(name)))
        for violation in violations:
            print(f"{name}: {violation}")
        print(f"{name}: {len(violations)} violation(s)")
        failed += len(violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
