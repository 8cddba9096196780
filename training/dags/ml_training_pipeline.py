"""The training pipeline on Airflow: one pod per step, each running the training image's CLI.

Everything it runs is described in ``pipeline_spec`` (tested without Airflow); this file
only turns that into Airflow objects. The settings come from the environment the deployment
gives the Airflow components; a missing one fails the parse with a message naming it.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

import pipeline_spec as spec
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import BaseHook, Param, chain, dag
from kubernetes.client import models as k8s
from pendulum import datetime

log = logging.getLogger(__name__)
SETTINGS = spec.DagSettings.from_env(os.environ)


def _post(message: dict[str, str]) -> None:
    """Post to the webhook in the alert connection's password field, if there is one."""
    try:
        url = BaseHook.get_connection(SETTINGS.alert_connection).password or ""
    except Exception:  # an absent connection means "log only", not a second failure
        url = ""
    if not url.startswith("https://"):
        log.warning("no https webhook in connection %s; not posted", SETTINGS.alert_connection)
        return
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
    except OSError as exc:
        log.error("failure notification not delivered: %s", exc)


def notify_task_failure(context: Any) -> None:
    """After a task's last retry: which step failed, why, and where its log is."""
    ti = context["ti"]
    message = spec.failure_message(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        reason=str(context.get("exception") or "failed"),
        log_url=getattr(ti, "log_url", None),
    )
    log.error("%s", message["text"])
    _post(message)


def notify_run_failure(context: Any) -> None:
    """A run that failed without a failed task (dagrun_timeout); task failures notify above."""
    reason = str(context.get("reason") or "failed")
    if reason == "task_failure":
        return
    run = context["dag_run"]
    message = spec.failure_message(
        dag_id=run.dag_id, run_id=run.run_id, task_id=None, reason=reason, log_url=None
    )
    log.error("%s", message["text"])
    _post(message)


def _volumes() -> tuple[list[k8s.V1Volume], list[k8s.V1VolumeMount]]:
    volumes = [
        k8s.V1Volume(name=name, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=size))
        for name, _, size in spec.SCRATCH_VOLUMES
    ]
    mounts = [
        k8s.V1VolumeMount(name=name, mount_path=path) for name, path, _ in spec.SCRATCH_VOLUMES
    ]
    return volumes, mounts


def step_pod(step: spec.Step) -> KubernetesPodOperator:
    volumes, mounts = _volumes()
    env_from = (
        [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=SETTINGS.env_secret))]
        if SETTINGS.env_secret
        else None
    )
    return KubernetesPodOperator(
        task_id=step.name,
        name=f"ml-training-{step.name}",
        namespace=SETTINGS.namespace,
        image=SETTINGS.image,
        arguments=spec.step_arguments(step, SETTINGS),
        env_vars=spec.pod_env(SETTINGS),
        env_from=env_from,
        service_account_name=SETTINGS.service_account,
        container_resources=k8s.V1ResourceRequirements(**spec.resources(step)),
        security_context=spec.pod_security_context(),
        container_security_context=spec.container_security_context(),
        volumes=volumes,
        volume_mounts=mounts,
        labels=spec.labels(step),
        in_cluster=True,
        get_logs=True,
        on_finish_action="delete_pod",
        # The pod stops by itself at the deadline even if the worker that watches it is gone.
        active_deadline_seconds=int(step.timeout.total_seconds()),
        execution_timeout=step.timeout,
    )


@dag(
    dag_id=spec.DAG_ID,
    description="ingest -> validate -> train -> evaluate -> register -> promote",
    schedule=SETTINGS.schedule,
    start_date=datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=spec.DAGRUN_TIMEOUT,
    on_failure_callback=notify_run_failure,
    default_args={
        "owner": "ml-platform",
        "retries": spec.RETRIES,
        "retry_delay": spec.RETRY_DELAY,
        "retry_exponential_backoff": spec.RETRY_BACKOFF,
        "max_retry_delay": spec.MAX_RETRY_DELAY,
        "on_failure_callback": notify_task_failure,
    },
    params={
        spec.ACCEPT_SHIFT_PARAM: Param(
            "",
            type="string",
            description="Train on drifted data on purpose; the reason becomes a run tag.",
        )
    },
    tags=["mlsys", "training"],
)
def ml_training_pipeline() -> None:
    chain(*(step_pod(step) for step in spec.STEPS))


ml_training_pipeline()
