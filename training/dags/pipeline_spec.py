"""What the ``ml_training_pipeline`` DAG runs, as plain data: steps, pod arguments, settings.

No Airflow import here, so the test suite checks all of it; the DAG file only turns it into
operators. Airflow puts the DAG folder on ``sys.path``, so the DAG imports this module as
``pipeline_spec``; the tests import it as ``training.dags.pipeline_spec``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

DAG_ID = "ml_training_pipeline"
# The training image's non-root user (training/Dockerfile).
RUN_AS = 10001
MLSYS_HOME = "/var/lib/mlsys"
SCRATCH = "/tmp"  # noqa: S108 - an emptyDir of the pod's own, HOME and tempfile's folder
# The service account EKS Pod Identity binds the training role to
# (infra/foundation/service_accounts.py TRAINING; a test keeps the two equal).
SERVICE_ACCOUNT = "ml-training"
# Lets a person accept a drift the validate step would refuse; it becomes a run tag.
ACCEPT_SHIFT_PARAM = "accept_shift"

RETRIES = 2
RETRY_DELAY = timedelta(minutes=2)
# A multiplier in Airflow 3.3 (True would mean 1.0, a constant delay): 2, 4, ... minutes.
RETRY_BACKOFF = 2.0
MAX_RETRY_DELAY = timedelta(minutes=20)
# At least one attempt of every step; a run stuck in retries beyond it is failed and reported.
DAGRUN_TIMEOUT = timedelta(hours=6)

# Inside one attempt, MLflow's client retries connection errors, 429 and 5xx on its own.
# Bounded explicitly rather than by its defaults (7 retries, 120 s each): waits of 2, 4, 8,
# 16 and 32 s plus at most 6 requests of 60 s is under 8 minutes per call, well inside
# every step's timeout, after which the task fails and Airflow's retries above take over.
MLFLOW_HTTP_RETRIES = 5
MLFLOW_HTTP_BACKOFF_FACTOR = 2
MLFLOW_HTTP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Step:
    """One pipeline step: the CLI subcommand its pod runs and what the pod may use."""

    name: str
    timeout: timedelta
    cpu: str = "500m"
    memory: str = "1Gi"


# The order of `python -m training run`; each step refuses to run before its predecessor.
STEPS: tuple[Step, ...] = (
    Step("ingest", timedelta(minutes=20)),
    Step("validate", timedelta(minutes=20)),
    Step("train", timedelta(hours=2), cpu="2", memory="4Gi"),
    Step("evaluate", timedelta(minutes=30), memory="2Gi"),
    Step("register", timedelta(minutes=30), memory="2Gi"),
    Step("promote", timedelta(minutes=30), memory="2Gi"),
)


class SettingsError(ValueError):
    """The deployment did not give the DAG a setting it needs, or gave an unusable one."""


# Environment variable -> what it is. The deployment sets them on every Airflow component
# that parses DAGs; reading the environment costs nothing at parse time, unlike Variables.
REQUIRED = {
    "MLSYS_TRAINING_IMAGE": "training image pinned by digest, <repository>@sha256:<64 hex>",
    "MLSYS_TRAINING_NAMESPACE": "namespace the step pods run in",
    "MLSYS_TRAINING_SCHEDULE": "cron expression, @daily-style preset, or 'none' (manual only)",
    "MLSYS_WORK_BUCKET": "S3 bucket holding each run's workspace",
    "MLSYS_AWS_REGION": "AWS region of the buckets and the signing key",
    "MLFLOW_TRACKING_URI": "MLflow tracking server the steps log and register to",
    # Both outlive the pod: a local snapshot or key pair would vanish with it.
    "MLSYS_DATASET_STORE": "where ingested snapshots are kept, e.g. s3://datasets/snapshots",
    "MLSYS_SIGNING_KEY": "model manifest signer, kms:<key-arn>",
}
OPTIONAL = {
    "MLSYS_WORK_PREFIX": "key prefix of the workspaces in the bucket [training-work]",
    "MLSYS_TRAINING_SERVICE_ACCOUNT": f"service account of the step pods [{SERVICE_ACCOUNT}]",
    "MLSYS_TRAINING_CONFIG": "pipeline config in the image [/srv/training/configs/default.yaml]",
    "MLSYS_TRAINING_ENV_SECRET": "Secret whose keys become the pods' environment (MLflow login)",
    "MLSYS_ALERT_CONNECTION": "Airflow connection of the failure webhook [mlsys_training_alerts]",
}

_DIGEST = re.compile(r"^[a-z0-9][a-z0-9./_:-]*@sha256:[0-9a-f]{64}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_PRESETS = {"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}


@dataclass(frozen=True, kw_only=True)
class DagSettings:
    image: str
    namespace: str
    schedule: str | None
    work_bucket: str
    region: str
    tracking_uri: str
    dataset_store: str
    signing_key: str
    work_prefix: str = "training-work"
    service_account: str = SERVICE_ACCOUNT
    config_path: str = "/srv/training/configs/default.yaml"
    env_secret: str | None = None
    alert_connection: str = "mlsys_training_alerts"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DagSettings:
        """Every problem at once, each naming its variable; the DAG shows this as its error."""
        values = {name: env.get(name, "").strip() for name in (*REQUIRED, *OPTIONAL)}
        problems = [
            f"{name} is not set ({meaning})"
            for name, meaning in REQUIRED.items()
            if not values[name]
        ]
        problems += [problem for problem in _problems(values) if problem]
        if problems:
            raise SettingsError(
                f"DAG {DAG_ID} cannot be built: "
                + "; ".join(problems)
                + " (docs/training-on-airflow.md lists the settings)"
            )
        schedule = values["MLSYS_TRAINING_SCHEDULE"]
        return cls(
            image=values["MLSYS_TRAINING_IMAGE"],
            namespace=values["MLSYS_TRAINING_NAMESPACE"],
            schedule=None if schedule == "none" else schedule,
            work_bucket=values["MLSYS_WORK_BUCKET"],
            region=values["MLSYS_AWS_REGION"],
            tracking_uri=values["MLFLOW_TRACKING_URI"],
            work_prefix=values["MLSYS_WORK_PREFIX"].strip("/") or cls.work_prefix,
            service_account=values["MLSYS_TRAINING_SERVICE_ACCOUNT"] or SERVICE_ACCOUNT,
            config_path=values["MLSYS_TRAINING_CONFIG"] or cls.config_path,
            dataset_store=values["MLSYS_DATASET_STORE"],
            signing_key=values["MLSYS_SIGNING_KEY"],
            env_secret=values["MLSYS_TRAINING_ENV_SECRET"] or None,
            alert_connection=values["MLSYS_ALERT_CONNECTION"] or cls.alert_connection,
        )


def _problems(values: Mapping[str, str]) -> list[str | None]:
    def bad(name: str, ok: bool, expected: str) -> str | None:
        return None if not values[name] or ok else f"{name}={values[name]!r} is not {expected}"

    schedule = values["MLSYS_TRAINING_SCHEDULE"]
    return [
        bad(
            "MLSYS_TRAINING_IMAGE",
            bool(_DIGEST.match(values["MLSYS_TRAINING_IMAGE"])),
            "pinned by digest (<repository>@sha256:<64 hex>)",
        ),
        bad(
            "MLSYS_TRAINING_NAMESPACE",
            bool(_DNS_LABEL.match(values["MLSYS_TRAINING_NAMESPACE"])),
            "a Kubernetes namespace name",
        ),
        bad(
            "MLSYS_TRAINING_SCHEDULE",
            schedule == "none" or schedule in _PRESETS or len(schedule.split()) == 5,
            f"a five-field cron expression, one of {sorted(_PRESETS)} or 'none'",
        ),
        bad(
            "MLSYS_WORK_BUCKET",
            bool(_BUCKET.match(values["MLSYS_WORK_BUCKET"])),
            "an S3 bucket name (no s3:// and no prefix)",
        ),
        bad(
            "MLSYS_WORK_PREFIX",
            bool(_PREFIX.match(values["MLSYS_WORK_PREFIX"].strip("/"))),
            "a plain key prefix such as training-work",
        ),
        bad(
            "MLFLOW_TRACKING_URI",
            values["MLFLOW_TRACKING_URI"].startswith(("http://", "https://")),
            "an http(s) URL of the tracking server",
        ),
        bad(
            "MLSYS_TRAINING_SERVICE_ACCOUNT",
            bool(_DNS_LABEL.match(values["MLSYS_TRAINING_SERVICE_ACCOUNT"])),
            "a service account name",
        ),
        bad(
            "MLSYS_DATASET_STORE",
            values["MLSYS_DATASET_STORE"].startswith("s3://"),
            "an s3:// URI",
        ),
        bad(
            "MLSYS_SIGNING_KEY",
            values["MLSYS_SIGNING_KEY"].startswith("kms:"),
            "kms:<key-arn> (serving verifies with the KMS public key)",
        ),
    ]


def workdir_uri(settings: DagSettings) -> str:
    """The run's workspace: templated per DAG run, so every step of a run finds the same one.

    This URI and the MLflow run id the steps record inside it are all that passes between
    tasks; the data stays in the bucket.
    """
    return f"s3://{settings.work_bucket}/{settings.work_prefix}/{DAG_ID}/{{{{ run_id }}}}"


def step_arguments(step: Step, settings: DagSettings) -> list[str]:
    """The arguments after the image's ``python -m training`` entrypoint."""
    arguments = [step.name, "--workdir", workdir_uri(settings), "--config", settings.config_path]
    if step.name == "validate":
        # An empty reason (the default) renders as "" and the CLI then accepts nothing.
        arguments += ["--accept-shift", f"{{{{ params.{ACCEPT_SHIFT_PARAM} }}}}"]
    return arguments


def pod_env(settings: DagSettings) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLSYS_DATASET_STORE": settings.dataset_store,
        "MLSYS_SIGNING_KEY": settings.signing_key,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
        "MLSYS_HOME": MLSYS_HOME,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(MLFLOW_HTTP_RETRIES),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(MLFLOW_HTTP_BACKOFF_FACTOR),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(MLFLOW_HTTP_TIMEOUT_SECONDS),
    }


def resources(step: Step) -> dict[str, dict[str, str]]:
    # Limits equal to requests on memory: a step that outgrows them is OOM-killed and
    # retried instead of evicting the node's other pods.
    return {
        "requests": {"cpu": step.cpu, "memory": step.memory},
        "limits": {"cpu": step.cpu, "memory": step.memory},
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# The only writable paths of a read-only root filesystem: (volume name, mount path, size).
SCRATCH_VOLUMES: tuple[tuple[str, str, str], ...] = (
    ("scratch", SCRATCH, "4Gi"),
    ("mlsys-home", MLSYS_HOME, "4Gi"),
)


def labels(step: Step) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "ml-training",
        "app.kubernetes.io/component": step.name,
        "app.kubernetes.io/part-of": "mlsys",
        "app.kubernetes.io/managed-by": "airflow",
    }


def failure_message(
    *,
    dag_id: str,
    run_id: str,
    task_id: str | None,
    reason: str,
    log_url: str | None,
) -> dict[str, str]:
    """The webhook body: Slack-compatible ``text`` plus the fields a receiver can route on."""
    where = f"task {task_id}" if task_id else "the run"
    text = f"{dag_id} failed in {where} of {run_id}: {reason}"
    if log_url:
        text += f" (logs: {log_url})"
    return {
        "text": text,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id or "",
        "reason": reason,
    }
