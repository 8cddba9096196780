"""``loadtest``: Locust headless against a real API (passes with the defaults), a slow and a
failing server (fail), and refused arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.release.cli import app
from tests.infra.release.conftest import Apis, Keys, StubHandler, serving


def loadtest(base_url: str, keys: Keys, *extra: str) -> tuple[int, str]:
    args = ["loadtest", "--base-url", base_url, "--api-key-file", str(keys.key_file), *extra]
    result = CliRunner().invoke(app, [*args, "--allow-http"])
    return result.exit_code, result.output


class SlowApi(StubHandler):
    """Answers 200 after 150 ms: over the default p95 threshold only if it is honoured."""

    delay = 0.15


@pytest.mark.slow
def test_passes_against_a_real_api_with_the_default_thresholds(apis: Apis, release_keys: Keys):
    code, output = loadtest(apis.stable.base_url, release_keys, "--duration", "5s")
    assert code == 0, output
    for figure in ("error rate", "p95", "p99", "throughput"):
        assert f"PASS  {figure}" in output
    assert "(max 300 ms)" not in output and "(max 300)" in output  # the threshold is printed


@pytest.mark.slow
def test_fails_against_an_api_answering_5xx(apis: Apis, release_keys: Keys):
    code, output = loadtest(apis.broken.base_url, release_keys, "--duration", "3s")
    assert code == 1
    assert "FAIL  error rate" in output and "100.00%" in output


@pytest.mark.slow
def test_fails_against_a_slow_server(release_keys: Keys, tmp_path: Path):
    body = tmp_path / "request.json"
    body.write_text('{"rows": [{"mean_radius": 14.0}]}')  # the stub has no /v1/model
    with serving(SlowApi) as url:
        code, output = loadtest(
            url,
            release_keys,
            "--duration",
            "3s",
            "--max-p95-ms",
            "100",
            "--request-file",
            str(body),
        )
    assert code == 1
    assert "FAIL  p95" in output and "PASS  error rate" in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [(("--duration", "soon"), "is not like 30s"), (("--base-url", "ftp://x"), "https:// required")],
)
def test_refuses_bad_arguments(release_keys: Keys, extra: tuple[str, ...], message: str):
    code, output = loadtest("http://127.0.0.1:9", release_keys, *extra)
    assert code == 1
    assert message in output
