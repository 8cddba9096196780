"""What every benchmark starts: processes, a tracking server, a trained champion, a key."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.http.auth import key_line, new_key
from tests.servers import free_port, mlflow_server_argv
from training.config import load_config
from training.pipeline import run_all
from training.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "docs" / "benchmarks.md"
BIN = Path(sys.executable).parent
# The interpreter for the API under test: `make bench` passes one with only the `app` group.
API_PYTHON = os.environ.get("BENCH_API_PYTHON", sys.executable)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
    """Seconds until ``url`` answers 200; raises if ``process`` exits or time runs out."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` running with ``env`` added, its output in ``log``; stopped on exit."""
    with log.open("wb") as sink:
        started = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            yield started
        finally:
            started.terminate()
            try:
                started.wait(20)
            except subprocess.TimeoutExpired:
                started.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    """CPU, cores, kernel and Python of this machine."""
    cpu = "unknown CPU"
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


@contextmanager
def tracking_server(work: Path) -> Iterator[str]:
    """An MLflow tracking server on SQLite in ``work``, serving its artifacts; its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = mlflow_server_argv(f"sqlite:///{work}/registry.db", str(work / "artifacts"), port)
    with process(argv, {"PATH": f"{BIN}:{os.environ['PATH']}"}, work / "tracking.log") as proc:
        wait_ready(f"{url}/health", proc)
        yield url


def holdout_rows(workspace: Path) -> list[dict[str, float]]:
    """The feature rows of a pipeline workspace's holdout split, for load."""
    lines = (workspace / "holdout.csv").read_text().splitlines()
    names = lines[0].split(",")
    return [
        {k: float(v) for k, v in zip(names, line.split(","), strict=True) if k != "target"}
        for line in lines[1:]
    ]


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
    with tracking_server(work) as tracking:
        os.environ["MLFLOW_TRACKING_URI"] = tracking
        run_all(load_config(), Workspace(work / "pipeline"))
        key = new_key()
        (work / "keys").write_text(key_line("bench", key, ["predict"]) + "\n")
        yield RegisteredModel(tracking, holdout_rows(work / "pipeline"), key, work / "keys")
