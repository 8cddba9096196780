"""The DAG against a real Airflow: run with the Airflow virtualenv's python (make check-dags).

Loads training/dags through Airflow's own BundleDagBag, as the dag-processor does, and checks
the import succeeds, the task order, that every task runs the configured image as the
training service account with retries and timeouts, that the failure callbacks survive a
missing webhook, and that a missing setting is an import error naming the variable. Exits
non-zero with every problem listed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DAG_FOLDER = REPO / "training" / "dags"
STEPS = ["ingest", "validate", "train", "evaluate", "register", "promote"]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlsys-training@sha256:" + "ab" * 32
SETTINGS = {
    "MLSYS_TRAINING_IMAGE": IMAGE,
    "MLSYS_TRAINING_NAMESPACE": "airflow",
    "MLSYS_TRAINING_SCHEDULE": "0 3 * * 1",
    "MLSYS_WORK_BUCKET": "mlsys-dev-mlflow-artifacts-123456789012-eu-west-1",
    "MLSYS_AWS_REGION": "eu-west-1",
    "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc:5000",
    "MLSYS_DATASET_STORE": "s3://mlsys-dev-datasets-123456789012-eu-west-1/snapshots",
    "MLSYS_SIGNING_KEY": "kms:arn:aws:kms:eu-west-1:123456789012:key/abcd",
}


def _environment(home: Path) -> None:
    """A throwaway AIRFLOW_HOME: parsing needs no metadata database and must not touch ~."""
    for name in [name for name in os.environ if name.startswith(("AIRFLOW", "MLSYS_", "MLFLOW_"))]:
        del os.environ[name]  # the caller's settings must not decide the verdict
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            **SETTINGS,
        }
    )


def _bag() -> Any:
    # As the dag-processor and the task runner load a bundle: its folder joins sys.path,
    # which is how the DAG file imports pipeline_spec beside it.
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(DAG_FOLDER, bundle_path=DAG_FOLDER, bundle_name="dags-folder")


def check_dag(problems: list[str]) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    bag = _bag()
    for path, error in bag.import_errors.items():
        problems.append(f"import error in {path}: {error}")
    if sorted(bag.dag_ids) != ["ml_training_pipeline"]:
        problems.append(f"expected exactly the DAG ml_training_pipeline, found {bag.dag_ids}")
        return
    dag = bag.dags["ml_training_pipeline"]  # get_dag would ask the metadata database
    order = [task.task_id for task in dag.topological_sort()]
    if order != STEPS:
        problems.append(f"task order is {order}, expected {STEPS}")
    for previous, task_id in zip([None, *STEPS], STEPS, strict=False):
        task = dag.get_task(task_id)
        expected = {previous} if previous else set()
        if task.upstream_task_ids != expected:
            problems.append(f"{task_id} runs after {task.upstream_task_ids}, expected {expected}")
    if dag.max_active_runs != 1 or dag.catchup or dag.dagrun_timeout is None:
        problems.append("the DAG needs max_active_runs=1, catchup=False and a dagrun_timeout")
    if dag.on_failure_callback is None:
        problems.append("the DAG has no failure callback")
    if getattr(dag.timetable, "expression", None) != SETTINGS["MLSYS_TRAINING_SCHEDULE"]:
        problems.append(f"schedule is {dag.timetable!r}, expected the configured cron")
    for task in dag.tasks:
        name = task.task_id
        if not isinstance(task, KubernetesPodOperator):
            problems.append(f"{name} is a {type(task).__name__}, not a KubernetesPodOperator")
            continue
        checks = {
            "image": (task.image, IMAGE),
            "namespace": (task.namespace, SETTINGS["MLSYS_TRAINING_NAMESPACE"]),
            "service account": (task.service_account_name, "ml-training"),
            "first argument": (task.arguments[0], name),
            "retries": (task.retries, 2),
            "backoff": (task.retry_exponential_backoff, 2.0),
            "read-only root": (task.container_security_context.get("readOnlyRootFilesystem"), True),
            "capabilities": (
                task.container_security_context.get("capabilities"),
                {"drop": ["ALL"]},
            ),
            "non-root": (task.security_context.get("runAsNonRoot"), True),
        }
        for what, (actual, expected) in checks.items():
            if actual != expected:
                problems.append(f"{name}: {what} is {actual!r}, expected {expected!r}")
        timeout = task.execution_timeout
        if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
            problems.append(f"{name}: no execution_timeout")
        if task.on_failure_callback is None:
            problems.append(f"{name}: no failure callback")
        rendered = task.render_template(
            task.arguments, {"run_id": "manual__2026-11-28", "params": {"accept_shift": ""}}
        )
        workdir = rendered[rendered.index("--workdir") + 1]
        expected_workdir = (
            f"s3://{SETTINGS['MLSYS_WORK_BUCKET']}/training-work/ml_training_pipeline/"
            "manual__2026-11-28"
        )
        if workdir != expected_workdir:
            problems.append(f"{name}: workdir renders as {workdir!r}")


def check_callbacks(problems: list[str]) -> None:
    """Without a webhook connection a failure is logged, and the callback itself never fails."""
    dag = _bag().dags["ml_training_pipeline"]
    run = SimpleNamespace(dag_id=dag.dag_id, run_id="manual__1")
    ti = SimpleNamespace(**vars(run), task_id="train", log_url="https://airflow.example/log")
    calls = [
        (*dag.get_task("train").on_failure_callback, {"ti": ti, "exception": "pod exited 1"}),
        (dag.on_failure_callback, {"dag_run": run, "reason": "timed_out"}),
    ]
    for callback, context in calls:
        try:
            callback(context)
        except Exception as exc:
            problems.append(f"{callback.__name__} raised {exc!r}")


def check_missing_settings(problems: list[str]) -> None:
    for name in ("MLSYS_TRAINING_IMAGE", "MLSYS_WORK_BUCKET"):
        os.environ.pop(name)
    bag = _bag()
    errors = " ".join(str(error) for error in bag.import_errors.values())
    if bag.dag_ids or "MLSYS_TRAINING_IMAGE is not set" not in errors:
        problems.append(f"missing settings should be an import error naming them, got {errors!r}")
    elif "MLSYS_WORK_BUCKET is not set" not in errors:
        problems.append(f"the import error should name every missing setting: {errors!r}")


def main() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        _environment(Path(home))
        check_dag(problems)
        check_callbacks(problems)
        check_missing_settings(problems)
    if problems:
        print("DAG check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"ml_training_pipeline: {' -> '.join(STEPS)}; every task runs {IMAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
