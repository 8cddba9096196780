"""``make bench``: this API against ``mlflow models serve`` on the same registered model.

Both servers run one worker on this machine and load ``models:/<name>@champion`` from one
MLflow tracking server; the same load generator drives both. Results go to the terminal
and to docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.http.auth import key_line, new_key
from tests.benchmarks.loadgen import LoadResult, run_load
from tests.benchmarks.report import write_section
from tests.servers import free_port
from training.config import load_config
from training.pipeline import run_all
from training.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "docs" / "benchmarks.md"
BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# The interpreter for the API under test: `make bench` passes one with only the `app` group.
API_PYTHON = os.environ.get("BENCH_API_PYTHON", sys.executable)
MODEL = "breast-cancer-classifier"
SCENARIOS = [("1 row", 1, 8), ("100 rows", 100, 4)]


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _machine() -> str:
    cpu = "unknown CPU"
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


@dataclass(frozen=True)
class RegisteredModel:
    """An MLflow tracking server whose @champion the pipeline trained, and a way to call it."""

    tracking: str
    rows: list[dict[str, float]]
    key: str
    keys_file: Path

    def api_env(self, api_port: int, metrics_port: int) -> dict[str, str]:
        """Environment for ``python -m app`` serving the champion, rate limits out of the way."""
        return {
            "MLFLOW_TRACKING_URI": self.tracking,
            "MLSYS_API_PORT": str(api_port),
            "MLSYS_API_METRICS_PORT": str(metrics_port),
            "MLSYS_API_API_KEYS_FILE": str(self.keys_file),
            "MLSYS_API_RATE_LIMIT_PER_SECOND": "1000000",
            "MLSYS_API_RATE_LIMIT_BURST": "1000000",
            "PYTHONPATH": str(REPO),
        }


@contextmanager
def registered_model(work: Path) -> Iterator[RegisteredModel]:
    """Start a tracking server in ``work``, run the pipeline against it, make a predict key."""
    os.environ["MLSYS_HOME"] = str(work / "home")
    tracking_port = free_port()
    tracking = f"http://127.0.0.1:{tracking_port}"
    server = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{work}/registry.db",
        "--artifacts-destination",
        str(work / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(tracking_port),
        "--workers",
        "1",
    ]
    server_env = {"PATH": f"{BIN}:{os.environ['PATH']}"}
    with _process(server, server_env, work / "tracking.log") as tracking_process:
        _wait(f"{tracking}/health", tracking_process)
        os.environ["MLFLOW_TRACKING_URI"] = tracking
        run_all(load_config(), Workspace(work / "pipeline"))
        holdout = (work / "pipeline" / "holdout.csv").read_text().splitlines()
        names = holdout[0].split(",")
        rows = [
            {k: float(v) for k, v in zip(names, line.split(","), strict=True) if k != "target"}
            for line in holdout[1:]
        ]
        key = new_key()
        (work / "keys").write_text(key_line("bench", key, ["predict"]) + "\n")
        yield RegisteredModel(tracking, rows, key, work / "keys")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlsys-bench-"))
    api_port, metrics_port, mlflow_port = (free_port() for _ in range(3))
    server_env = {"PATH": f"{BIN}:{os.environ['PATH']}"}
    with registered_model(work) as model:
        tracking, rows, key = model.tracking, model.rows, model.key
        api_env = model.api_env(api_port, metrics_port)
        api_url = f"http://127.0.0.1:{api_port}"
        startups = []
        for attempt in range(3):
            with _process(
                [API_PYTHON, "-m", "app"], api_env, work / f"api-start-{attempt}.log"
            ) as probe:
                startups.append(_wait(f"{api_url}/readyz", probe))
        mlflow_env = {
            **server_env,
            "MLFLOW_TRACKING_URI": tracking,
            "PYTHONWARNINGS": "ignore",
            "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",  # required by MLflow even for skops
        }
        mlflow_cmd = [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            f"models:/{MODEL}@champion",
            "--env-manager",
            "local",
            "--workers",
            "1",
            "-h",
            "127.0.0.1",
            "-p",
            str(mlflow_port),
        ]
        results: dict[tuple[str, str], LoadResult] = {}
        with _process([API_PYTHON, "-m", "app"], api_env, work / "api.log") as api:
            _wait(f"{api_url}/readyz", api)
            rss_ready = _rss_mb(api.pid)
            for label, count, conns in SCENARIOS:
                body = json.dumps({"rows": rows[:count]}).encode()
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
                run_load(f"{api_url}/v1/predict", body, headers, conns, 2)  # warm-up
                results[("mlsys", label)] = run_load(
                    f"{api_url}/v1/predict", body, headers, conns, SECONDS
                )
            rss_after = _rss_mb(api.pid)
        with _process(mlflow_cmd, mlflow_env, work / "mlflow-serve.log") as serve:
            mlflow_startup = _wait(f"http://127.0.0.1:{mlflow_port}/ping", serve, timeout=180)
            for label, count, conns in SCENARIOS:
                body = json.dumps({"dataframe_records": rows[:count]}).encode()
                url = f"http://127.0.0.1:{mlflow_port}/invocations"
                headers = {"Content-Type": "application/json"}
                run_load(url, body, headers, conns, 2)
                results[("mlflow", label)] = run_load(url, body, headers, conns, SECONDS)
    report = _render(results, startups, mlflow_startup, rss_ready, rss_after)
    print(report)
    write_section(REPORT, "api-vs-mlflow", report)
    shutil.rmtree(work, ignore_errors=True)


def _render(
    results: dict[tuple[str, str], LoadResult],
    startups: list[float],
    mlflow_startup: float,
    rss_ready: float,
    rss_after: float,
) -> str:
    tool = next(iter(results.values())).tool
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (tests/benchmarks/api_vs_mlflow.py); do not edit by hand.",
        "",
        f"- Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {SECONDS} s per scenario after a 2 s "
        f"warm-up, load generator `{tool}` on the same machine.",
        f"- Machine: {_machine()}.",
        f"- This API: `{Path(API_PYTHON).parent.parent.name}` interpreter "
        "(`make bench` uses a virtualenv with only the image's `app` dependency group), "
        "access logs on at INFO as in production.",
        "- Both servers: one worker, `models:/breast-cancer-classifier@champion` loaded from the "
        "same MLflow tracking server; `mlflow models serve --env-manager local` with Python "
        "warnings silenced so it is not slowed by scikit-learn's feature-name warning.",
        "",
        "## Throughput and latency",
        "",
        "| scenario | server | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, _, conns in SCENARIOS:
        for server in ("mlsys", "mlflow"):
            r = results[(server, label)]
            name = "this API" if server == "mlsys" else "mlflow models serve"
            lines.append(
                f"| {label}, {conns} connections | {name} | {r.requests_per_second:,.0f} "
                f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
            )
    lines += [
        "",
        "| scenario | throughput ratio | p99 ratio (mlflow / this API) | target |",
        "|---|---:|---:|---|",
    ]
    targets = {"1 row": ">= 20x throughput, p99 <= 1/10", "100 rows": ">= 10x throughput"}
    for label, _, conns in SCENARIOS:
        ours, theirs = results[("mlsys", label)], results[("mlflow", label)]
        speedup = ours.requests_per_second / theirs.requests_per_second
        lines.append(
            f"| {label}, {conns} connections | {speedup:.1f}x "
            f"| {theirs.p99_ms / ours.p99_ms:.1f}x | {targets[label]} |"
        )
    lines += [
        "",
        "## Start-up and memory of this API",
        "",
        "| measure | value | target |",
        "|---|---:|---|",
        f"| process start to `/readyz` 200 (median of 3) | {statistics.median(startups):.2f} s "
        "| < 3 s |",
        f"| `mlflow models serve` start to `/ping` 200, for comparison "
        f"| {mlflow_startup:.2f} s | |",
        f"| resident memory, model loaded | {rss_ready:.0f} MB | < 250 MB |",
        f"| resident memory after the load runs | {rss_after:.0f} MB | < 250 MB |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
