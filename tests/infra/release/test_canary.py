"""``canary`` against a real Prometheus scraping real app instances, and the pure judgement."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from infra.release.canary_checks import Sample, Selectors, Thresholds, judge, queries
from infra.release.cli import app
from infra.release.prometheus_query import Prometheus

FAST = ["--duration", "3", "--interval", "1", "--max-failed-samples", "2", "--window", "10s"]
GOOD_PODS = 'namespace="serving",pod="prediction-api-canary-good"'
BROKEN_PODS = 'namespace="serving",pod="prediction-api-canary-broken"'


def analyse(url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["canary", "--prometheus-url", url, *FAST, *extra])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def scraped(prometheus: str, traffic: None) -> str:
    """Prometheus once every figure the analysis reads has data (polled, with a deadline)."""
    client = Prometheus(prometheus)
    wanted = queries(Selectors(window="10s", canary_pods=BROKEN_PODS))
    deadline = time.monotonic() + 60
    try:
        while any(client.value(query) is None for query in wanted.values()):
            if time.monotonic() > deadline:
                pytest.fail("Prometheus had no data for the canary queries after 60s")
            time.sleep(0.5)
    finally:
        client.close()
    return prometheus


@pytest.mark.slow
def test_a_healthy_canary_passes(scraped: str):
    code, output = analyse(scraped, "--canary-pods", GOOD_PODS)
    assert code == 0, output
    assert output.count("PASS  canary traffic") == 4  # every sample printed
    assert "canary verdict: PASS" in output


@pytest.mark.slow
def test_a_failing_canary_fails_after_k_samples(scraped: str):
    code, output = analyse(
        scraped, "--canary-selector", 'track="broken"', "--canary-pods", BROKEN_PODS
    )
    assert code == 1, output
    assert "FAIL  5xx ratio" in output and "FAIL  5xx vs stable" in output
    assert "FAIL  pod restarts" in output
    assert "sample 3/4" not in output  # stopped at the second failed sample
    assert "canary verdict: FAIL (2 failed samples" in output


@pytest.mark.slow
def test_no_canary_data_is_a_failure_never_a_pass(scraped: str):
    code, output = analyse(
        scraped, "--canary-selector", 'track="nobody"', "--canary-pods", GOOD_PODS
    )
    assert code == 1
    assert "FAIL  canary traffic" in output and "no data" in output


def test_an_unreachable_prometheus_fails(tmp_path):
    code, output = analyse("http://127.0.0.1:9", "--duration", "0")
    assert code == 1
    assert "cannot reach Prometheus" in output


GOOD = Sample(
    canary_rate=5.0,
    canary_error_ratio=0.0,
    stable_error_ratio=0.0,
    canary_p99=0.02,
    stable_p99=0.02,
    canary_restarts=0.0,
)


def failed(sample: Sample, thresholds: Thresholds | None = None) -> set[str]:
    return {c.name for c in judge(sample, thresholds or Thresholds()) if not c.passed}


def test_judge_passes_a_good_sample():
    assert failed(GOOD) == set()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"canary_rate": None}, {"canary traffic"}),
        ({"canary_rate": 0.1}, {"canary traffic"}),
        ({"canary_error_ratio": 0.02}, {"5xx ratio", "5xx vs stable"}),
        ({"canary_error_ratio": 0.008, "stable_error_ratio": 0.0}, {"5xx vs stable"}),
        ({"stable_error_ratio": None}, {"5xx vs stable"}),
        ({"canary_p99": 0.6, "stable_p99": 0.6}, {"p99 vs SLO"}),
        ({"canary_p99": 0.2}, {"p99 vs stable"}),
        ({"canary_p99": None}, {"p99 vs SLO", "p99 vs stable"}),
        ({"canary_restarts": 1.0}, {"pod restarts"}),
        ({"canary_restarts": None}, {"pod restarts"}),
    ],
)
def test_judge_fails_each_bound_and_every_missing_figure(change, expected):
    assert failed(Sample(**{**GOOD.__dict__, **change})) == expected
