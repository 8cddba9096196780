"""The DAG file in a real Airflow install (build/airflow-venv), as the dag-processor parses it.

Airflow lives in its own virtualenv (make airflow-venv) to keep its pins away from the test
suite's; this test runs tests/training/dags/check_dag.py with that virtualenv's python.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
AIRFLOW_PYTHON = REPO / "build" / "airflow-venv" / "bin" / "python"
CHECK = Path(__file__).with_name("check_dag.py")


@pytest.mark.slow
def test_the_dag_imports_in_real_airflow_with_the_six_steps_on_the_configured_image():
    if not AIRFLOW_PYTHON.exists():
        pytest.fail(f"{AIRFLOW_PYTHON} is missing: run `make airflow-venv` (make test does)")
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), str(CHECK)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "ingest -> validate -> train -> evaluate -> register -> promote" in result.stdout
