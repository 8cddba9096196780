"""Backup and restore drill: the registry database through the backups bucket, then one
artifact through its bucket's versions; RTO and RPO measured (``make drill-restore``)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.drills.processes import DrillError, wait_until
from tests.drills.report import DISASTER_RECOVERY, RELIABILITY, replace_section, table
from tests.drills.stack import (
    ARTIFACTS_BUCKET,
    AWS_ENV,
    BACKUPS_BUCKET,
    MODEL_NAME,
    ApiProcess,
    Stack,
    execute,
    metric,
    predict_ok,
    ready,
    served_version,
    stack,
    train_versions,
    wait_serving,
)

SCRIPTS = Path(__file__).resolve().parents[2] / "infra/platform/operations/backup"


@dataclass(frozen=True)
class RestoreFigures:
    backup_seconds: float
    backup_bytes: int
    restore_seconds: float
    rto_seconds: float  # database dropped -> registry complete and the API on the same champion
    rpo_seconds: float  # the dump's snapshot -> the loss: writes in between are gone
    versions: int
    aliases: int
    tags: int
    champion: str
    artifact_refused_reason: str
    artifact_restore_seconds: float  # object restored -> the API serves that version


def registry_state(drill: Stack) -> dict[str, Any]:
    """Everything the registry holds about the model: versions, their tags, aliases, runs."""
    client = drill.client()
    model = client.get_registered_model(MODEL_NAME)
    versions = {
        str(v.version): {"run_id": v.run_id, "source": v.source, "tags": dict(v.tags)}
        for v in client.search_model_versions(f"name='{MODEL_NAME}'")
    }
    return {
        "aliases": dict(model.aliases),
        "model_tags": dict(model.tags),
        "versions": versions,
    }


def _script_env(drill: Stack, scratch: Path) -> dict[str, str]:
    return {
        **os.environ,
        **AWS_ENV,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(drill.pg_port),
        "PGUSER": "postgres",
        "PGDATABASE": drill.database,
        "BACKUP_BUCKET": BACKUPS_BUCKET,
        "BACKUP_DIR": str(scratch),
        "AWS_ENDPOINT_URL_S3": drill.s3_direct_url,
    }


def _run_script(name: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["sh", str(SCRIPTS / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise DrillError(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout.strip()


def restore_database(drill: Stack, api: ApiProcess) -> dict[str, Any]:
    """Back up, drop, restore from the bucket; the registry must come back whole."""
    scratch = drill.workdir / "backup"
    scratch.mkdir(exist_ok=True)
    env = _script_env(drill, scratch)
    before = registry_state(drill)
    champion = before["aliases"]["champion"]
    started = time.monotonic()
    _run_script("pg_backup.sh", env, "backup")
    backup_seconds = time.monotonic() - started
    stamp = (scratch / f"{drill.database}.stamp").read_text().strip()
    snapshot_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    key = f"postgres/{drill.database}/{stamp}.dump"
    head = drill.s3().head_object(Bucket=BACKUPS_BUCKET, Key=key)
    if head.get("ServerSideEncryption") != "aws:kms":
        raise DrillError(f"backup {key} is not SSE-KMS encrypted: {head}")
    # A write after the backup: inside the RPO window, so the restore must not have it.
    drill.client().set_registered_model_tag(MODEL_NAME, "drill.after_backup", "lost")

    lost_at = datetime.now(UTC)
    loss = time.monotonic()
    execute(drill.pg_port, f'DROP DATABASE "{drill.database}" WITH (FORCE)')
    body = drill.request_body()
    if not (ready(api) and predict_ok(api, body)):
        raise DrillError("the API stopped serving when the registry database was dropped")
    started = time.monotonic()
    _run_script("pg_restore.sh", env)
    restore_seconds = time.monotonic() - started
    after = wait_until_equal(drill, before)
    wait_serving(api, champion)
    rto = time.monotonic() - loss
    return {
        "backup_seconds": backup_seconds,
        "backup_bytes": int(head["ContentLength"]),
        "restore_seconds": restore_seconds,
        "rto_seconds": rto,
        "rpo_seconds": (lost_at - snapshot_at).total_seconds(),
        "versions": len(after["versions"]),
        "aliases": len(after["aliases"]),
        "tags": sum(len(v["tags"]) for v in after["versions"].values()) + len(after["model_tags"]),
        "champion": champion,
    }


def wait_until_equal(drill: Stack, expected: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def same() -> bool:
        found.update(registry_state(drill))
        return found == expected

    try:
        wait_until(same, 60, "registry restored")
    except DrillError:
        raise DrillError(
            f"registry after restore differs:\n{found}\nexpected\n{expected}"
        ) from None
    return found


def _model_key(drill: Stack, version: str) -> str:
    uri = drill.client().get_model_version_download_uri(MODEL_NAME, version)
    prefix = uri.removeprefix("mlflow-artifacts:").strip("/")
    return f"{prefix}/model.skops"


def restore_artifact(drill: Stack, api: ApiProcess, serving: str, other: str) -> dict[str, Any]:
    """Delete a version's model file, promote it: refused, old model serves; then restore it."""
    s3 = drill.s3()
    key = _model_key(drill, other)
    s3.head_object(Bucket=ARTIFACTS_BUCKET, Key=key)
    s3.delete_object(Bucket=ARTIFACTS_BUCKET, Key=key)  # versioned: leaves a delete marker
    failures_before = metric(api, "mlsys_model_load_failures_total", alias="champion")
    drill.client().set_registered_model_alias(MODEL_NAME, "champion", other)
    wait_until(
        lambda: metric(api, "mlsys_model_load_failures_total", alias="champion") > failures_before,
        30,
        "the API refusing the version without its artifact",
    )
    reasons = [
        line.split('reason="')[1].split('"')[0]
        for line in subprocess_free_metrics(api)
        if line.startswith("mlsys_model_load_failures_total{") and 'alias="champion"' in line
    ]
    if served_version(api) != serving or not ready(api):
        raise DrillError("the API stopped serving the old model when the new one was refused")
    if not predict_ok(api, drill.request_body()):
        raise DrillError("predictions failed while the new champion was refused")
    versions = s3.list_object_versions(Bucket=ARTIFACTS_BUCKET, Prefix=key)
    previous = next(v for v in versions["Versions"] if v["Key"] == key)
    restored = time.monotonic()
    s3.copy_object(
        Bucket=ARTIFACTS_BUCKET,
        Key=key,
        CopySource={"Bucket": ARTIFACTS_BUCKET, "Key": key, "VersionId": previous["VersionId"]},
    )
    wait_serving(api, other)
    return {
        "artifact_refused_reason": ",".join(sorted(set(reasons))),
        "artifact_restore_seconds": time.monotonic() - restored,
    }


def subprocess_free_metrics(api: ApiProcess) -> list[str]:
    import httpx

    return httpx.get(api.metrics_url, timeout=5).text.splitlines()


def drill_on(drill: Stack, first: str, second: str) -> RestoreFigures:
    """The whole drill on a running stack holding two signed versions."""
    client = drill.client()
    client.set_registered_model_alias(MODEL_NAME, "champion", first)
    client.set_registered_model_alias(MODEL_NAME, "previous", first)
    client.set_registered_model_alias(MODEL_NAME, "challenger", second)
    client.set_model_version_tag(MODEL_NAME, first, "drill.note", "before backup")
    api = drill.api("api-restore")
    with api:
        wait_serving(api, first)
        database_figures = restore_database(drill, api)
        artifact_figures = restore_artifact(drill, api, first, second)
    return RestoreFigures(**database_figures, **artifact_figures)


def run(workdir: Path) -> RestoreFigures:
    with stack(workdir) as drill:
        first, second = train_versions(drill)
        return drill_on(drill, first, second)


def render(figures: RestoreFigures) -> tuple[str, str]:
    """The section of reliability.md and the measured column of DISASTER_RECOVERY.md."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("backup (pg_dump to the bucket, SSE-KMS)", f"{figures.backup_seconds:.1f} s",
         f"{figures.backup_bytes / 1024:.0f} KiB"),
        ("restore script (download, create, pg_restore)", f"{figures.restore_seconds:.1f} s", ""),
        ("RTO: database dropped -> registry whole, API on the same champion",
         f"{figures.rto_seconds:.1f} s", f"champion v{figures.champion}"),
        ("RPO: dump snapshot -> loss", f"{figures.rpo_seconds:.0f} s",
         "a tag written after the backup is gone, as it must be"),
        ("registry checked after the restore", "",
         f"{figures.versions} versions, {figures.aliases} aliases, {figures.tags} tags: all equal"),
        ("artifact deleted, its version promoted", "refused",
         f"reason {figures.artifact_refused_reason}; the old model kept serving"),
        ("artifact restored from its previous object version -> served",
         f"{figures.artifact_restore_seconds:.1f} s", ""),
    ]  # fmt: skip
    reliability = (
        f"### Backup and restore drill\n\n`make drill-restore`, {when}, one machine "
        "(PostgreSQL 127.0.0.1, moto S3, MLflow server, the API):\n\n"
        + table(("step", "time", "detail"), rows)
    )
    recovery = (
        f"Measured by `make drill-restore` ({when}, a registry of {figures.versions} versions "
        f"on one machine): backup {figures.backup_seconds:.1f} s, restore "
        f"{figures.restore_seconds:.1f} s, RTO {figures.rto_seconds:.1f} s from the drop to "
        f"the API confirmed on the same champion, RPO {figures.rpo_seconds:.0f} s (the age "
        "of the newest dump at the loss; in production at most the 1 h schedule). A deleted "
        f"artifact was back and served {figures.artifact_restore_seconds:.1f} s after the "
        "copy from its previous version."
    )
    return reliability, recovery


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlsys-drill-restore-") as scratch:
        figures = run(Path(scratch))
    reliability, recovery = render(figures)
    print(reliability)
    replace_section(RELIABILITY, "restore", reliability)
    replace_section(DISASTER_RECOVERY, "restore", recovery)


if __name__ == "__main__":
    main()
