"""Alert and recording rules: YAML files in the repo, filled from config, deployed and tested.

``python -m infra.platform.monitoring.rules render DIR`` writes the rules as tested (with
TEST_PARAMS) and the promtool unit tests into DIR, for `make check-alerts`.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES_DIR = HERE / "rules"
TESTS_DIR = HERE / "tests"
TOKEN = re.compile(r"@@([A-Z_]+)@@")


@dataclass(frozen=True, kw_only=True)
class RuleParams:
    latency_bound_seconds: float  # an edge of the API's latency histogram
    drift_psi_threshold: float
    training_stale_days: int
    runbook_base: str  # URL of docs/runbooks in the repository

    def tokens(self) -> dict[str, str]:
        # The histogram's le label is Python's float text: 0.25, 1.0, 2.5.
        return {
            "LATENCY_BOUND": repr(float(self.latency_bound_seconds)),
            "DRIFT_PSI_THRESHOLD": repr(float(self.drift_psi_threshold)),
            "TRAINING_STALE_DAYS": str(self.training_stale_days),
            "RUNBOOK_BASE": self.runbook_base.rstrip("/"),
        }


# The promtool unit tests (tests/*.test.yaml) are written against these values.
TEST_PARAMS = RuleParams(
    latency_bound_seconds=0.25,
    drift_psi_threshold=0.2,
    training_stale_days=7,
    runbook_base="https://github.com/example-org/mlsys/blob/main/docs/runbooks",
)


def runbook_base(repository: str) -> str:
    return f"https://github.com/{repository}/blob/main/docs/runbooks"


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def render_text(text: str, params: RuleParams) -> str:
    """Replace every @@TOKEN@@; an unknown token is an error, never left in place."""
    values = params.tokens()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"unknown rule token {match.group(0)}")
        return values[match.group(1)]

    return TOKEN.sub(fill, text)


def build_rule_groups(path: Path, params: RuleParams) -> list[dict[str, Any]]:
    """The ``groups`` of one rules file, as a PrometheusRule's spec takes them."""
    document = yaml.safe_load(render_text(path.read_text(), params))
    groups: list[dict[str, Any]] = document["groups"]
    return groups


def build_prometheus_rule(path: Path, params: RuleParams, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"mlsys-{path.stem}",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "mlsys"},
        },
        "spec": {"groups": build_rule_groups(path, params)},
    }


def alert_names() -> list[str]:
    return [
        rule["alert"]
        for path in rule_files()
        for group in build_rule_groups(path, TEST_PARAMS)
        for rule in group["rules"]
        if "alert" in rule
    ]


def render_for_promtool(out: Path) -> list[Path]:
    """Rules with TEST_PARAMS as <stem>.rules.yaml, beside copies of the unit tests."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in rule_files():
        target = out / f"{path.stem}.rules.yaml"
        target.write_text(render_text(path.read_text(), TEST_PARAMS))
        written.append(target)
    for test in sorted(TESTS_DIR.glob("*.test.yaml")):
        shutil.copy(test, out / test.name)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "render":
        sys.exit("usage: python -m infra.platform.monitoring.rules render DIR")
    for written in render_for_promtool(Path(sys.argv[2])):
        print(written)
