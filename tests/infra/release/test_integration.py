"""``integration`` against a real API, and against servers that break the contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.release.cli import app
from tests.infra.release.conftest import Apis, Keys, StubHandler, serving


def integration(base_url: str, keys: Keys, *extra: str) -> tuple[int, str]:
    args = ["integration", "--base-url", base_url, "--api-key-file", str(keys.key_file), *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


MODEL = {
    "name": "m",
    "version": "1",
    "signature": {"inputs": [{"name": "a", "type": "double"}], "classes": [0, 1]},
}


class NoAuthApi(StubHandler):
    """Serves predictions to anyone and accepts any input: an API with its guards removed."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._json(MODEL)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._json({"predictions": [0], "probabilities": [{"0": 0.9, "1": 0.1}]})

    def _json(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _holdout_request(home: Path, folder: Path) -> Path:
    """A /v1/predict body with the first holdout row: real data, within any input bounds."""
    with (home / "work" / "holdout.csv").open() as handle:
        row = next(csv.DictReader(handle))
    body = {"rows": [{k: float(v) for k, v in row.items() if k != "target"}]}
    path = folder / "request.json"
    path.write_text(json.dumps(body))
    return path


@pytest.mark.slow
def test_passes_against_a_real_api(
    apis: Apis, release_keys: Keys, trained_home: Path, tmp_path: Path
):
    request = _holdout_request(trained_home, tmp_path)
    code, output = integration(
        apis.stable.base_url, release_keys, "--allow-http", "--request-file", str(request)
    )
    assert code == 0, output
    for check in (
        "refused with no key",
        "refused with unknown key",
        "mlflow protocol agrees",
        "open inference agrees",
        "batches keep row order",
        "missing column named",
        "out-of-range value refused",
        "no redirect to another host",
    ):
        assert f"PASS  {check}" in output, output


def test_fails_against_an_api_without_guards(release_keys: Keys):
    with serving(NoAuthApi) as url:
        code, output = integration(url, release_keys, "--allow-http")
    assert code == 1
    assert "FAIL  refused with no key" in output
    assert "FAIL  missing column named" in output


def test_requires_tls_unless_told(release_keys: Keys):
    code, output = integration("http://127.0.0.1:9", release_keys)
    assert code == 1 and "http:// refused" in output


def test_fails_when_nothing_answers(release_keys: Keys):
    code, output = integration("http://127.0.0.1:9", release_keys, "--allow-http")
    assert code == 1 and "FAIL  unexpected answer" in output
