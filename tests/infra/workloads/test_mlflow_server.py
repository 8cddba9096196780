"""The MLflow server as the cluster starts it, run for real from the training group's packages.

The Deployment runs the training image with ``server_args``: this starts MLflow with the
same arguments (only the stores swapped for local ones, and a free port) and checks that it
serves, refuses anonymous callers, admits the admin, keeps to its allowed hosts and exposes
the metrics the ServiceMonitor scrapes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from infra.workloads.mlflow_objects import MlflowSettings, server_args
from tests.servers import free_port

HOST = "mlflow.mlsys.example.com"
ADMIN = ("admin", "an-admin-password-for-tests")


def _with_local_stores(args: list[str], tmp: Path, port: int) -> list[str]:
    swapped = {
        "--backend-store-uri": f"sqlite:///{tmp / 'mlflow.db'}",
        "--artifacts-destination": str(tmp / "artifacts"),
        "--expose-prometheus": str(tmp / "prometheus"),
        "--port": str(port),
        "--host": "127.0.0.1",
        "--workers": "1",
    }
    out = list(args)
    for flag, value in swapped.items():
        out[out.index(flag) + 1] = value
    return out


@pytest.mark.slow
def test_the_server_serves_with_auth_allowed_hosts_and_metrics(tmp_path: Path):
    mlflow = shutil.which("mlflow", path=str(Path(os.sys.executable).parent))
    assert mlflow, "the mlflow CLI of the training group is missing"
    settings = MlflowSettings(
        image="unused",
        aws_cli_image="unused",
        region="eu-west-1",
        host=HOST,
        vpc_cidr="10.30.0.0/16",
        artifacts_bucket="unused",
        replicas=1,
    )
    port = free_port()
    (tmp_path / "prometheus").mkdir()
    argv = [mlflow, *_with_local_stores(server_args(settings), tmp_path, port)]
    env = {
        **os.environ,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-flask-secret-for-tests",
        "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN[0],
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
    }
    log = tmp_path / "mlflow.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=sink, stderr=sink)
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"Host": HOST}
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    if httpx.get(f"{base}/health", headers=headers).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            # Checking a password hash takes a while on a loaded machine.
            http = httpx.Client(base_url=base, timeout=60)
            search = "/api/2.0/mlflow/experiments/search?max_results=1"
            assert http.get(search, headers=headers).status_code == 401
            assert http.get(search, headers=headers, auth=ADMIN).status_code == 200
            # A name the server was not told about is refused (DNS rebinding, spoofed Host).
            foreign = http.get(search, headers={"Host": "evil.example"}, auth=ADMIN)
            assert foreign.status_code in (400, 403), foreign.status_code
            metrics = http.get("/metrics", headers=headers, auth=ADMIN)
            assert metrics.status_code == 200
            assert "mlflow_http_request_duration_seconds" in metrics.text
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
