"""Alert rules: one source, filled from config, each alert with a runbook that exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.metrics import LATENCY_BUCKETS
from infra.platform.monitoring.rules import (
    TEST_PARAMS,
    TESTS_DIR,
    RuleParams,
    alert_names,
    build_prometheus_rule,
    render_for_promtool,
    render_text,
    rule_files,
)
from infra.platform_config import LATENCY_BOUNDS_MS

RUNBOOKS = Path(__file__).resolve().parents[4] / "docs" / "runbooks"
EXPECTED = {
    "ApiErrorBudgetBurnFast",
    "ApiErrorBudgetBurnSlow",
    "ApiLatencyBudgetBurnFast",
    "ApiLatencyBudgetBurnSlow",
    "ModelReloadFailing",
    "ModelNotServing",
    "InputDriftHigh",
    "TrainingPipelineFailed",
    "TrainingPipelineStale",
    "MLflowDown",
    "DatabaseDown",
    # issue 15: a registry outage is visible from the API's side
    "ModelRegistryUnreachable",
}


def test_the_latency_bounds_config_allows_are_the_apis_histogram_edges():
    assert {ms / 1000 for ms in LATENCY_BOUNDS_MS} <= set(LATENCY_BUCKETS)


def test_every_issue_alert_exists():
    assert set(alert_names()) == EXPECTED


def test_each_alert_has_a_severity_and_a_runbook_that_resolves():
    for path in rule_files():
        rule = build_prometheus_rule(path, TEST_PARAMS, "monitoring")
        for group in rule["spec"]["groups"]:
            for item in group["rules"]:
                if "alert" not in item:
                    continue
                assert item["labels"]["severity"] in {"page", "ticket"}
                url = item["annotations"]["runbook_url"]
                page, anchor = url.removeprefix(TEST_PARAMS.runbook_base + "/").split("#")
                text = (RUNBOOKS / page).read_text()
                assert f"## {item['alert']}" in text and anchor == item["alert"].lower()


def test_config_values_reach_the_expressions():
    params = RuleParams(
        latency_bound_seconds=1.0,
        drift_psi_threshold=0.3,
        training_stale_days=3,
        runbook_base="https://x/runbooks/",
    )
    text = "".join(render_text(p.read_text(), params) for p in rule_files())
    assert 'le="1.0"' in text and "> 0.3" in text and "[3d]" in text
    assert "https://x/runbooks/api-slo.md" in text and "@@" not in text


def test_an_unknown_token_is_an_error():
    with pytest.raises(KeyError, match="@@NOPE@@"):
        render_text("expr: @@NOPE@@", TEST_PARAMS)


def test_page_windows_follow_the_sre_workbook():
    text = next(p for p in rule_files() if p.stem == "slo").read_text()
    for window in ("rate1h", "rate5m", "rate6h", "rate30m", "rate3d"):
        assert f"mlsys:api_error_ratio:{window}" in text
    assert re.search(r"rate1h > \(14\.4 \* 0\.001\) and mlsys:api_error_ratio:rate5m", text)
    assert re.search(r"rate6h > \(6 \* 0\.001\) and mlsys:api_error_ratio:rate30m", text)


def test_every_alert_has_a_promtool_unit_test():
    tests = "".join(p.read_text() for p in TESTS_DIR.glob("*.test.yaml"))
    for name in EXPECTED:
        assert f"alertname: {name}" in tests


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_checks_and_tests_the_rules(tmp_path):
    rendered = render_for_promtool(tmp_path)
    subprocess.run(
        ["promtool", "check", "rules", *map(str, rendered)], check=True, capture_output=True
    )
    tests = sorted(str(p) for p in tmp_path.glob("*.test.yaml"))
    subprocess.run(["promtool", "test", "rules", *tests], check=True, capture_output=True)
