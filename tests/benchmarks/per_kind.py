"""``make bench``: this API against ``mlflow models serve``, for every kind the pipeline trains.

Each kind is trained and promoted by the pipeline itself (``--set model.kind=<kind>``, the
rest of the default config unchanged) into one MLflow tracking server, under its own model
name. Then, one kind at a time and one server at a time (one worker each, the same load
generator), 1-row requests sweep 1 to 32 connections and 100-row requests run at 4.
Results: docs/benchmarks.md (section ``api-vs-mlflow``) and one PNG per kind in docs/benchmarks/.

``BENCH_SECONDS`` (default 10) sets the seconds per scenario; ``BENCH_KINDS`` (comma-separated)
limits the kinds, for a quick check of the tooling.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.http.auth import key_line, new_key
from tests.benchmarks.loadgen import LoadResult, run_load
from tests.benchmarks.per_kind_report import (
    CONNECTIONS,
    KindResult,
    ServerRun,
    draw,
    render,
)
from tests.benchmarks.report import write_section
from tests.benchmarks.servers import (
    API_PYTHON,
    BIN,
    REPO,
    REPORT,
    holdout_rows,
    process,
    rss_mb,
    tracking_server,
    wait_ready,
)
from tests.servers import free_port
from training.config import load_config
from training.pipeline import run_all
from training.workspace import Workspace

# The section the single-model comparison used to write: this run supersedes it.
SECTION = "api-vs-mlflow"
FIGURES = REPORT.parent / "benchmarks"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WARM_UP = 2
# 100-row runs per server, alternating between the two; the median run is reported.
ROUNDS = 3
# Generous: on a shared machine, importing scikit-learn alone has taken 15 s.
READY_TIMEOUT = 300
ALL_KINDS = ("logistic_regression", "random_forest", "hist_gradient_boosting")
KINDS = tuple(k for k in os.environ.get("BENCH_KINDS", ",".join(ALL_KINDS)).split(",") if k)


def model_name(kind: str) -> str:
    return f"bench-{kind.replace('_', '-')}"


def train_kind(kind: str, work: Path) -> list[dict[str, float]]:
    """Train, register and promote ``kind`` through the pipeline; its holdout rows for load."""
    config = load_config(overrides={"model": {"kind": kind}, "model_name": model_name(kind)})
    run = run_all(config, Workspace(work / kind))
    if not run.decision.promoted:
        raise RuntimeError(f"{kind} was not promoted: {run.decision}")
    return holdout_rows(work / kind)


@dataclass(frozen=True)
class Endpoint:
    """A running server under test: where to send, what to send, and its process."""

    url: str
    headers: dict[str, str]
    bodies: dict[int, bytes]  # by rows
    pid: int
    startup_s: float
    rss_ready_mb: float
    metrics_url: str | None = None


def _one_row_sweep(server: Endpoint) -> dict[int, LoadResult]:
    runs = {}
    for connections in CONNECTIONS:
        run_load(server.url, server.bodies[1], server.headers, connections, WARM_UP)
        runs[connections] = run_load(
            server.url, server.bodies[1], server.headers, connections, SECONDS
        )
    return runs


def _hundred_rows(servers: tuple[Endpoint, Endpoint]) -> tuple[LoadResult, LoadResult]:
    """100-row runs at 4 connections, the two servers alternating; each one's median run.

    The ratio of two throughputs measured a minute apart moves with whatever else the machine
    is doing in between; alternating short runs and taking medians keeps both under the same
    conditions.
    """
    results: dict[int, list[LoadResult]] = {0: [], 1: []}
    for server in servers:
        run_load(server.url, server.bodies[100], server.headers, 4, WARM_UP)
    for _ in range(ROUNDS):
        for i, server in enumerate(servers):
            results[i].append(run_load(server.url, server.bodies[100], server.headers, 4, SECONDS))
    ours, theirs = (
        sorted(results[i], key=lambda r: r.requests_per_second)[len(results[i]) // 2]
        for i in (0, 1)
    )
    return ours, theirs


@contextmanager
def api_server(
    kind: str, rows: list[dict[str, float]], tracking: str, work: Path
) -> Iterator[Endpoint]:
    key = new_key()
    (work / "keys").write_text(key_line("bench", key, ["predict"]) + "\n")
    port, metrics_port = free_port(), free_port()
    env = {
        "MLFLOW_TRACKING_URI": tracking,
        "MLSYS_API_MODEL_NAME": model_name(kind),
        "MLSYS_API_PORT": str(port),
        "MLSYS_API_METRICS_PORT": str(metrics_port),
        "MLSYS_API_API_KEYS_FILE": str(work / "keys"),
        "MLSYS_API_RATE_LIMIT_PER_SECOND": "1000000",
        "MLSYS_API_RATE_LIMIT_BURST": "1000000",
        "MLSYS_API_RATE_LIMIT_ROWS_PER_SECOND": "100000000",
        "MLSYS_API_RATE_LIMIT_ROWS_BURST": "100000000",
        "PYTHONPATH": str(REPO),
    }
    url = f"http://127.0.0.1:{port}"
    startups = []
    for attempt in range(3):
        with process([API_PYTHON, "-m", "app"], env, work / f"api-{kind}-{attempt}.log") as p:
            startups.append(wait_ready(f"{url}/readyz", p, timeout=READY_TIMEOUT))
    with process([API_PYTHON, "-m", "app"], env, work / f"api-{kind}.log") as api:
        wait_ready(f"{url}/readyz", api, timeout=READY_TIMEOUT)
        yield Endpoint(
            url=f"{url}/v1/predict",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            bodies={n: json.dumps({"rows": rows[:n]}).encode() for n in (1, 100)},
            pid=api.pid,
            startup_s=statistics.median(startups),
            rss_ready_mb=rss_mb(api.pid),
            metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        )


@contextmanager
def mlflow_server(
    kind: str, rows: list[dict[str, float]], tracking: str, work: Path
) -> Iterator[Endpoint]:
    port = free_port()
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": tracking,
        "PYTHONWARNINGS": "ignore",
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",  # required by MLflow even for skops
    }
    argv = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{model_name(kind)}@champion",
        "--env-manager",
        "local",
        "--workers",
        "1",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with process(argv, env, work / f"mlflow-{kind}.log") as serve:
        startup = wait_ready(f"http://127.0.0.1:{port}/ping", serve, timeout=READY_TIMEOUT)
        yield Endpoint(
            url=f"http://127.0.0.1:{port}/invocations",
            headers={"Content-Type": "application/json"},
            bodies={n: json.dumps({"dataframe_records": rows[:n]}).encode() for n in (1, 100)},
            pid=serve.pid,
            startup_s=startup,
            rss_ready_mb=rss_mb(serve.pid),
        )


def bench_kind(kind: str, rows: list[dict[str, float]], tracking: str, work: Path) -> KindResult:
    """Both servers up at once: each one's 1-row sweep alone, then alternating 100-row runs."""
    with (
        api_server(kind, rows, tracking, work) as ours,
        mlflow_server(kind, rows, tracking, work) as theirs,
    ):
        one_row = {id(server): _one_row_sweep(server) for server in (ours, theirs)}
        hundred = dict(zip((id(ours), id(theirs)), _hundred_rows((ours, theirs)), strict=True))
        metrics = httpx.get(ours.metrics_url or "", timeout=5).text
        runs = [
            ServerRun(one_row[id(s)], hundred[id(s)]).with_process(
                s.startup_s, s.rss_ready_mb, rss_mb(s.pid), metrics if s is ours else ""
            )
            for s in (ours, theirs)
        ]
    return KindResult(kind, *runs)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlsys-bench-kinds-"))
    os.environ["MLSYS_HOME"] = str(work / "home")
    results: list[KindResult] = []
    with tracking_server(work) as tracking:
        os.environ["MLFLOW_TRACKING_URI"] = tracking
        holdouts = {kind: train_kind(kind, work) for kind in KINDS}
        for kind in KINDS:
            results.append(bench_kind(kind, holdouts[kind], tracking, work))
            print(f"{kind}: done", flush=True)
    FIGURES.mkdir(exist_ok=True)
    for result in results:
        draw(result, FIGURES / f"{result.kind}.png")
    report = render(results, SECONDS, WARM_UP, ROUNDS)
    print(report)
    write_section(REPORT, SECTION, report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
