"""The DAG's pure part: steps, pod arguments and settings, checked without Airflow."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import jinja2
import pytest
import typer

from infra.foundation.service_accounts import TRAINING
from training.cli import cli
from training.dags import pipeline_spec as spec
from training.remote_workspace import S3Location

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlsys-training@sha256:" + "0f" * 32
ENV = {
    "MLSYS_TRAINING_IMAGE": IMAGE,
    "MLSYS_TRAINING_NAMESPACE": "airflow",
    "MLSYS_TRAINING_SCHEDULE": "@weekly",
    "MLSYS_WORK_BUCKET": "work-bucket",
    "MLSYS_AWS_REGION": "eu-west-1",
    "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc:5000",
    "MLSYS_DATASET_STORE": "s3://datasets/snapshots",
    "MLSYS_SIGNING_KEY": "kms:arn:aws:kms:eu-west-1:123456789012:key/k",
}


@pytest.fixture
def settings() -> spec.DagSettings:
    return spec.DagSettings.from_env(ENV)


def _render(argument: str, run_id: str = "scheduled__2026-11-30T03:00:00+00:00") -> str:
    return jinja2.Template(argument).render(run_id=run_id, params={spec.ACCEPT_SHIFT_PARAM: ""})


def test_the_steps_are_the_cli_subcommands_in_pipeline_order():
    names = [step.name for step in spec.STEPS]
    assert names == ["ingest", "validate", "train", "evaluate", "register", "promote"]
    assert set(names) <= set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
    assert all(step.timeout <= spec.DAGRUN_TIMEOUT for step in spec.STEPS)
    assert sum((step.timeout for step in spec.STEPS), timedelta()) <= spec.DAGRUN_TIMEOUT


def test_the_pods_run_as_the_service_account_pod_identity_binds():
    assert (TRAINING.service_account, TRAINING.namespace) == (spec.SERVICE_ACCOUNT, "airflow")


def test_settings_from_the_environment_with_defaults(settings: spec.DagSettings):
    assert settings.image == IMAGE
    assert settings.schedule == "@weekly"
    assert settings.service_account == "ml-training"
    assert settings.work_prefix == "training-work"
    assert settings.config_path == "/srv/training/configs/default.yaml"
    assert settings.env_secret is None
    assert spec.DagSettings.from_env({**ENV, "MLSYS_TRAINING_SCHEDULE": "none"}).schedule is None
    custom = spec.DagSettings.from_env(
        {**ENV, "MLSYS_WORK_PREFIX": "/runs/training/", "MLSYS_TRAINING_ENV_SECRET": "mlflow-login"}
    )
    assert (custom.work_prefix, custom.env_secret) == ("runs/training", "mlflow-login")


def test_every_missing_setting_is_named_at_once():
    with pytest.raises(spec.SettingsError) as raised:
        spec.DagSettings.from_env({})
    message = str(raised.value)
    assert message.startswith("DAG ml_training_pipeline cannot be built")
    for name in spec.REQUIRED:
        assert f"{name} is not set" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MLSYS_TRAINING_IMAGE", "mlsys-training:latest", "pinned by digest"),
        ("MLSYS_TRAINING_NAMESPACE", "Airflow_NS", "namespace"),
        ("MLSYS_TRAINING_SCHEDULE", "every day", "five-field cron"),
        ("MLSYS_WORK_BUCKET", "s3://work-bucket", "bucket name"),
        ("MLSYS_WORK_PREFIX", "a//b", "key prefix"),
        ("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db", "http(s) URL"),
        ("MLSYS_DATASET_STORE", "/var/lib/mlsys/datasets", "s3:// URI"),
        ("MLSYS_SIGNING_KEY", "local", "kms:<key-arn>"),
        ("MLSYS_TRAINING_SERVICE_ACCOUNT", "Training", "service account"),
    ],
)
def test_an_unusable_setting_is_refused_with_its_name(name: str, value: str, expected: str):
    with pytest.raises(spec.SettingsError, match=rf"{name}='.*' is not .*{re.escape(expected)}"):
        spec.DagSettings.from_env({**ENV, name: value})


def test_the_workspace_is_one_s3_prefix_per_run(settings: spec.DagSettings):
    rendered = _render(spec.workdir_uri(settings))
    location = S3Location.parse(rendered)
    assert location.bucket == "work-bucket"
    assert location.prefix == (
        "training-work/ml_training_pipeline/scheduled__2026-11-30T03:00:00+00:00"
    )
    assert _render(spec.workdir_uri(settings), "other") != rendered


@pytest.mark.parametrize("step", spec.STEPS, ids=lambda step: step.name)
def test_each_pod_s_arguments_parse_as_its_cli_subcommand(
    step: spec.Step, settings: spec.DagSettings
):
    arguments = [_render(argument) for argument in spec.step_arguments(step, settings)]
    assert arguments[0] == step.name
    command = typer.main.get_command(cli).commands[step.name]  # type: ignore[attr-defined]
    params = command.make_context(step.name, arguments[1:]).params
    assert params["workdir"].startswith("s3://work-bucket/training-work/ml_training_pipeline/")
    assert str(params["config"]) == settings.config_path
    # No reason given: the validate step accepts no drift.
    assert params.get("accept_shift", "") == ""


def test_pod_environment_points_at_the_shared_stores(settings: spec.DagSettings):
    env = spec.pod_env(settings)
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlflow.svc:5000"
    assert env["MLSYS_SIGNING_KEY"].startswith("kms:")
    assert env["MLSYS_DATASET_STORE"] == "s3://datasets/snapshots"
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert env["MLSYS_HOME"] in {path for _, path, _ in spec.SCRATCH_VOLUMES}


def test_mlflow_retries_in_the_pods_are_bounded_inside_every_step(
    settings: spec.DagSettings, monkeypatch: pytest.MonkeyPatch
):
    from mlflow import environment_variables as mlflow_env

    for name, value in spec.pod_env(settings).items():
        monkeypatch.setenv(name, value)
    # Read back the way MLflow's client reads them, so a renamed variable fails here.
    retries = mlflow_env.MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()
    factor = mlflow_env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get()
    timeout = mlflow_env.MLFLOW_HTTP_REQUEST_TIMEOUT.get()
    assert (retries, factor, timeout) == (5, 2, 60)
    assert retries <= mlflow_env._MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT.get()
    jitter = mlflow_env.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER.get()
    worst = sum(factor * 2**attempt + jitter for attempt in range(retries))
    worst += (retries + 1) * timeout
    assert worst < min(step.timeout for step in spec.STEPS).total_seconds()


def test_pods_are_hardened_and_sized():
    container = spec.container_security_context()
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    pod = spec.pod_security_context()
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == spec.RUN_AS
    # A read-only root leaves the scratch volumes as the only writable paths.
    assert {path for _, path, _ in spec.SCRATCH_VOLUMES} == {"/tmp", spec.MLSYS_HOME}
    for step in spec.STEPS:
        sized = spec.resources(step)
        assert sized["requests"] == sized["limits"]
        assert spec.labels(step)["app.kubernetes.io/component"] == step.name


def test_retries_back_off():
    assert spec.RETRIES >= 1
    assert spec.RETRY_BACKOFF > 1
    assert spec.RETRY_DELAY < spec.MAX_RETRY_DELAY


def test_failure_message_names_the_step_and_the_log():
    message = spec.failure_message(
        dag_id="ml_training_pipeline",
        run_id="manual__1",
        task_id="train",
        reason="pod exited 1",
        log_url="https://airflow.example/log",
    )
    assert message["text"] == (
        "ml_training_pipeline failed in task train of manual__1: pod exited 1 "
        "(logs: https://airflow.example/log)"
    )
    assert message["task_id"] == "train"
    run = spec.failure_message(
        dag_id="d", run_id="r", task_id=None, reason="timed_out", log_url=None
    )
    assert run["text"] == "d failed in the run of r: timed_out"


def test_every_setting_is_documented():
    doc = (Path(__file__).resolve().parents[3] / "docs" / "training-on-airflow.md").read_text()
    assert [name for name in (*spec.REQUIRED, *spec.OPTIONAL) if f"| `{name}` |" not in doc] == []
