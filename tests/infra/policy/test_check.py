"""`python -m infra.policy <resources.json>`: exit 0 on a clean plan, 1 listing violations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.offline.plan import to_json
from infra.stack_file import REPO_ROOT


def _run(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.policy", *map(str, paths)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_passes_prod_and_lists_what_a_broken_plan_breaks(plans, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(to_json(plans["prod"])))
    result = _run(good)
    assert result.returncode == 0, result.stdout
    assert "0 violation(s)" in result.stdout
    document = json.loads(good.read_text())
    for resource in document["resources"]:
        if resource["type"] == "aws:rds/instance:Instance":
            resource["inputs"]["publiclyAccessible"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = _run(bad)
    assert result.returncode == 1
    assert "no-public-database: mlsys-prod-db-postgres" in result.stdout
    assert "1 violation(s)" in result.stdout
