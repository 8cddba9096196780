"""`make check-infra`: checkov over each stack's tfplan.json and manifests, zero failures.

checkov runs from its own virtualenv; this gate runs it, applies the reviewed skips of
infra/checkov-skips.yaml (a check, the stacks and resources it covers, and why), and fails
on any other finding and on any skip that no longer matches one.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.stack_file import REPO_ROOT, STACKS

SKIPS = REPO_ROOT / "infra" / "checkov-skips.yaml"
PLANS = REPO_ROOT / "build" / "plan"


@dataclass(frozen=True)
class Skip:
    check: str
    stacks: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.check == self.check
            and finding.stack in self.stacks
            and any(fnmatch.fnmatchcase(finding.resource, p) for p in self.resources)
        )


@dataclass(frozen=True)
class Finding:
    stack: str
    check: str
    resource: str
    name: str


def load_skips(path: Path = SKIPS) -> list[Skip]:
    """The reviewed skips; each must say which check, where, and why."""
    skips = []
    for entry in yaml.safe_load(path.read_text())["skips"]:
        missing = {"check", "stacks", "resources", "reason"} - set(entry)
        if missing or not str(entry.get("reason", "")).strip():
            raise ValueError(
                f"{path.name}: {entry.get('check')} needs {sorted(missing) or 'a reason'}"
            )
        unknown = set(entry["stacks"]) - set(STACKS)
        if unknown:
            raise ValueError(
                f"{path.name}: {entry['check']} names unknown stacks {sorted(unknown)}"
            )
        skips.append(
            Skip(entry["check"], tuple(entry["stacks"]), tuple(entry["resources"]), entry["reason"])
        )
    return skips


def findings(stack: str, report: Any) -> list[Finding]:
    """Failed checks of one checkov JSON report (one framework or a list of them)."""
    reports = report if isinstance(report, list) else [report]
    return [
        Finding(stack, f["check_id"], f["resource"], f["check_name"])
        for r in reports
        for f in (r.get("results") or {}).get("failed_checks", [])
    ]


def judge(found: list[Finding], skips: list[Skip]) -> tuple[list[Finding], list[Skip]]:
    """(findings no skip covers, skips that covered nothing)."""
    failing = [f for f in found if not any(s.covers(f) for s in skips)]
    unused = [s for s in skips if not any(s.covers(f) for f in found)]
    return failing, unused


def run_checkov(checkov: str, stack: str) -> list[Finding]:
    target = PLANS / stack
    runs = [
        ["-f", str(target / "tfplan.json"), "--framework", "terraform_plan"],
        ["-d", str(target / "manifests"), "--framework", "kubernetes"],
    ]
    found: list[Finding] = []
    for args in runs:
        result = subprocess.run(
            [checkov, *args, "--quiet", "--output", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        # 0: passed, 1: failed checks; anything else means checkov itself broke.
        if result.returncode not in (0, 1):
            raise RuntimeError(f"checkov {' '.join(args)} failed: {result.stderr[-2000:]}")
        found += findings(stack, json.loads(result.stdout))
    return found


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--checkov":
        print("usage: python -m infra.offline.checkov_gate --checkov PATH [STACK ...]")
        return 2
    checkov, stacks = argv[1], argv[2:] or list(STACKS)
    skips = load_skips()
    found = [f for stack in stacks for f in run_checkov(checkov, stack)]
    for stack in stacks:
        mine = [f for f in found if f.stack == stack]
        skipped = sum(1 for f in mine if any(s.covers(f) for s in skips))
        print(f"checkov {stack}: {len(mine) - skipped} failed, {skipped} skipped (reviewed)")
    failing, unused = judge(found, [s for s in skips if set(s.stacks) & set(stacks)])
    for f in failing:
        print(f"FAILED {f.stack} {f.check} {f.resource}: {f.name}")
    for s in unused:
        print(f"UNUSED SKIP {s.check} {list(s.stacks)} {list(s.resources)}: remove it")
    return 1 if failing or unused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
