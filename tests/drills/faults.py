"""Fault drill: each dependency stopped, slowed and made to drop connections, under load
(``make drill-faults``). The API must keep answering from the model it holds."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from mlflow import MlflowClient

from tests.drills.fault_proxy import FaultProxy, Mode
from tests.drills.load_client import Load, LoadFigures
from tests.drills.processes import DrillError, wait_until
from tests.drills.report import RELIABILITY, replace_section, table
from tests.drills.stack import (
    MODEL_NAME,
    ApiProcess,
    Stack,
    metric,
    stack,
    train_versions,
    wait_serving,
)

MLFLOW, POSTGRES, S3 = "MLflow server", "PostgreSQL", "S3 endpoint"
STOPPED, SLOW, DROPPING = "stopped, then restarted", "slow", "drops connections"
# Alerts the rules in infra/platform/monitoring/rules/ raise for each dependency being down.
ALERTS = {
    MLFLOW: "MLflowDown (5 m, page); ModelRegistryUnreachable (10 m, ticket)",
    POSTGRES: "DatabaseDown (2 m, page); ModelRegistryUnreachable (10 m, ticket)",
    S3: "ModelReloadFailing (15 m, ticket) once a new version must load",
}


@dataclass(frozen=True)
class Fault:
    dependency: str
    mode: str
    delay: float = 0.0  # seconds per forwarded chunk, for SLOW

    @property
    def label(self) -> str:
        detail = f" (+{self.delay:g} s per chunk)" if self.mode == SLOW else ""
        return f"{self.dependency}: {self.mode}{detail}"


ALL_FAULTS = (
    Fault(MLFLOW, STOPPED),
    Fault(POSTGRES, STOPPED),
    Fault(S3, STOPPED),
    Fault(MLFLOW, SLOW, 1.0),
    Fault(POSTGRES, SLOW, 0.2),
    Fault(S3, SLOW, 1.0),
    Fault(MLFLOW, DROPPING),
    Fault(POSTGRES, DROPPING),
    Fault(S3, DROPPING),
)
SHORT_FAULTS = (Fault(MLFLOW, STOPPED),)


@dataclass(frozen=True)
class FaultResult:
    fault: Fault
    probes: int
    failed_predictions: int
    not_ready: int
    registry_errors: float  # increase of mlsys_model_load_failures_total{reason=RegistryError}
    registry_up_during: float  # mlsys_registry_up at the end of the fault
    registry_back_seconds: float | None  # until mlsys_registry_up was 1 again after the return
    error_log_lines: int  # "registry unreachable" lines the API logged during the fault
    first_error: str
    promoted: str | None  # version promoted during the fault; None when nothing can write
    picked_up_seconds: float | None  # after the dependency returned
    api_restarted: bool
    training_exit: int | None  # the pipeline run during the outage, if one was run
    training_message: str
    training_seconds: float
    versions_unchanged: bool


class Prober:
    """Readiness and one prediction every 0.25 s; counts what a client would have seen."""

    def __init__(self, api: ApiProcess, body: dict[str, object]) -> None:
        self.api, self.body = api, body
        self.probes = self.failed = self.not_ready = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def _run(self) -> None:
        with httpx.Client(headers=self.api.headers(), timeout=10) as client:
            while not self._stop.wait(0.25):
                ready = predicted = False
                try:
                    ready = client.get(f"{self.api.url}/readyz").status_code == 200
                    answer = client.post(f"{self.api.url}/v1/predict", json=self.body)
                    predicted = answer.status_code == 200
                except httpx.HTTPError:
                    pass
                with self._lock:
                    self.probes += 1
                    self.failed += not predicted
                    self.not_ready += not ready

    def start(self) -> Prober:
        self._thread.start()
        return self

    def take(self) -> tuple[int, int, int]:
        """Counts since the last call."""
        with self._lock:
            counts = (self.probes, self.failed, self.not_ready)
            self.probes = self.failed = self.not_ready = 0
        return counts

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def _proxy(drill: Stack, dependency: str) -> FaultProxy:
    if dependency == MLFLOW:
        return drill.registry_proxy
    if dependency == S3:
        return drill.s3_proxy
    if drill.pg_proxy is None:
        raise DrillError("the fault drill needs MLflow to reach PostgreSQL through a proxy")
    return drill.pg_proxy


def _break(drill: Stack, fault: Fault) -> Callable[[], None]:
    """Inject ``fault``; returns what undoes it."""
    if fault.mode == STOPPED and fault.dependency == MLFLOW:
        drill.mlflow.stop()

        def restart() -> None:
            drill.mlflow.start()

        return restart
    if fault.mode == STOPPED and fault.dependency == POSTGRES:
        drill.postgres.stop()
        return drill.postgres.start
    proxy = _proxy(drill, fault.dependency)
    # The S3 endpoint "stops" at its address: moto keeps its objects in memory only.
    proxy.set({STOPPED: Mode.DOWN, SLOW: Mode.SLOW, DROPPING: Mode.DROP}[fault.mode], fault.delay)
    return lambda: proxy.set(Mode.PASS)


def _writer(drill: Stack, fault: Fault) -> MlflowClient | None:
    """Who can move the alias during ``fault``: the server, the database directly, nobody."""
    if fault.dependency == POSTGRES and fault.mode != SLOW:
        return None
    if fault.dependency == MLFLOW and fault.mode == STOPPED:
        return MlflowClient(tracking_uri=drill.db_uri, registry_uri=drill.db_uri)
    return drill.client()


def _signed_versions(drill: Stack) -> dict[str, bool]:
    found = drill.client().search_model_versions(f"name='{MODEL_NAME}'")
    return {str(v.version): "manifest_signature" in (v.tags or {}) for v in found}


def _log_errors(api: ApiProcess, offset: int) -> tuple[int, str]:
    lines = api.log.read_bytes()[offset:].decode(errors="replace").splitlines()
    failed = [line for line in lines if "registry unreachable" in line]
    return len(failed), (failed[0][:300] if failed else "")


def one_fault(
    drill: Stack, api: ApiProcess, prober: Prober, fault: Fault, hold: float, train: bool
) -> FaultResult:
    serving = drill.client().get_model_version_by_alias(MODEL_NAME, "champion").version
    other = next(v for v in _signed_versions(drill) if v != str(serving))
    errors_before = metric(api, "mlsys_model_load_failures_total", reason="RegistryError")
    log_offset = api.log.stat().st_size
    pid = api.pid
    prober.take()
    repair = _break(drill, fault)
    promoted: str | None = None
    training_exit, training_message, training_seconds = None, "", 0.0
    unchanged = True
    up_during = 1.0
    try:
        writer = _writer(drill, fault)
        if writer is not None:
            writer.set_registered_model_alias(MODEL_NAME, "champion", other)
            promoted = other
        if train:
            started = time.monotonic()
            done = drill.train()
            training_seconds = time.monotonic() - started
            training_exit = done.returncode
            message = [line for line in done.stderr.splitlines() if line.strip()]
            training_message = message[-1][:240] if message else done.stdout[-240:]
        time.sleep(hold)
        up_during = metric(api, "mlsys_registry_up")
    finally:
        repair()
        returned = time.monotonic()
    probes, failed, not_ready = prober.take()
    errors = metric(api, "mlsys_model_load_failures_total", reason="RegistryError") - errors_before
    lines, first = _log_errors(api, log_offset)
    picked_up = wait_serving(api, promoted, timeout=120) if promoted else None
    back: float | None
    try:
        wait_until(lambda: metric(api, "mlsys_registry_up") == 1, 60, "registry up")
        back = time.monotonic() - returned
    except DrillError:
        back = None
    if train:
        signed = _signed_versions(drill)
        unchanged = len(signed) == 2 and all(signed.values())
    return FaultResult(
        fault=fault,
        probes=probes,
        failed_predictions=failed,
        not_ready=not_ready,
        registry_errors=errors,
        registry_up_during=up_during,
        registry_back_seconds=back,
        error_log_lines=lines,
        first_error=first,
        promoted=promoted,
        picked_up_seconds=picked_up,
        api_restarted=api.pid != pid,
        training_exit=training_exit,
        training_message=training_message,
        training_seconds=training_seconds,
        versions_unchanged=unchanged,
    )


def drill_on(
    drill: Stack, first: str, faults: tuple[Fault, ...], hold: float
) -> tuple[list[FaultResult], LoadFigures]:
    """Every fault in turn on a running stack, under a steady Locust load."""
    drill.client().set_registered_model_alias(MODEL_NAME, "champion", first)
    api = drill.api("api-faults")
    results = []
    with api:
        wait_serving(api, first)
        body = drill.request_body()
        load = Load(
            drill.workdir,
            [api.url],
            drill.key_file,
            body,
            users=4,
            user_rps=5,
            limit_seconds=600 + 120 * len(faults),
        ).start()
        prober = Prober(api, body).start()
        try:
            time.sleep(3)
            for fault in faults:
                train = fault.mode == STOPPED
                results.append(one_fault(drill, api, prober, fault, hold, train))
                time.sleep(2)
        finally:
            prober.stop()
            figures = load.stop()
    if figures.failures:
        raise DrillError(f"{figures.failures} predictions failed under load:\n{load.failures()}")
    return results, figures


def run(workdir: Path, faults: tuple[Fault, ...] = ALL_FAULTS, hold: float = 8.0) -> str:
    with stack(workdir, pg_through_proxy=True) as drill:
        first, _ = train_versions(drill)
        results, figures = drill_on(drill, first, faults, hold)
    return render(results, figures)


def check(results: list[FaultResult]) -> list[str]:
    """What the issue requires of every fault; empty when all of it held."""
    problems = []
    for r in results:
        name = r.fault.label
        if r.failed_predictions or r.not_ready:
            problems.append(f"{name}: {r.failed_predictions} failed, {r.not_ready} not ready")
        if r.api_restarted:
            problems.append(f"{name}: the API restarted")
        if r.promoted and r.picked_up_seconds is None:
            problems.append(f"{name}: v{r.promoted} not picked up")
        if r.fault.mode == STOPPED and r.fault.dependency != S3 and not r.registry_errors:
            problems.append(f"{name}: no RegistryError counted")
        if r.fault.mode == STOPPED and r.fault.dependency != S3:
            if r.error_log_lines != 1:
                problems.append(f"{name}: {r.error_log_lines} 'registry unreachable' lines, not 1")
            if r.registry_up_during != 0:
                problems.append(f"{name}: mlsys_registry_up stayed {r.registry_up_during:g}")
        if r.registry_back_seconds is None:
            problems.append(f"{name}: mlsys_registry_up not back to 1 within 60 s of the return")
        if r.training_exit == 0 or not r.versions_unchanged:
            problems.append(f"{name}: training succeeded or left a version: {r.training_message}")
    return problems


def render(results: list[FaultResult], figures: LoadFigures) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for r in results:
        seen = f"{r.failed_predictions} of {r.probes} predictions failed; ready throughout"
        if r.not_ready:
            seen = f"{r.failed_predictions} of {r.probes} failed; {r.not_ready} not ready"
        signal = (
            f"mlsys_registry_up {r.registry_up_during:g} during, "
            + (
                f"1 again within {r.registry_back_seconds:.1f} s of the return; "
                if r.registry_back_seconds is not None
                else "still 0 60 s after the return; "
            )
            + f"+{r.registry_errors:g} RegistryError; {r.error_log_lines} log line"
            + ("" if r.error_log_lines == 1 else "s")
        )
        promoted = (
            f"v{r.promoted} served {r.picked_up_seconds:.1f} s after the return"
            if r.promoted and r.picked_up_seconds is not None
            else "no writer while the database is away"
        )
        training = "not run"
        if r.training_exit is not None:
            left = "no new version" if r.versions_unchanged else "LEFT A VERSION"
            training = (
                f"exit {r.training_exit} after {r.training_seconds:.0f} s, {left}: "
                f"`{r.training_message.replace('|', '/')}`"
            )
        alerts = ALERTS[r.fault.dependency] if r.fault.mode != SLOW else "none (no timeouts)"
        rows.append((r.fault.label, seen, signal, promoted, training, alerts))
    matrix = table(
        ("fault", "what clients saw", "registry signal", "promotion during the fault",
         "training during the fault", "alerts that fire"),
        rows,
    )  # fmt: skip
    problems = check(results)
    verdict = "every requirement held" if not problems else "FAILED: " + "; ".join(problems)
    return (
        f"### Fault drill\n\n`make drill-faults`, {when}: Locust at {figures.rps:.0f} req/s "
        f"for the whole drill, {figures.requests} requests, {figures.failures} failed, p99 "
        f"{figures.p99_ms:g} ms. Verdict: {verdict}.\n\n{matrix}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlsys-drill-faults-") as scratch:
        text = run(Path(scratch))
    print(text)
    replace_section(RELIABILITY, "faults", text)
    if "FAILED" in text.split("\n\n")[1]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
