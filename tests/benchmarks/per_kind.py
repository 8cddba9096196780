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
from pathlib import Path

import httpx

from app.http.auth import key_line, new_key
from tests.benchmarks.loadgen import run_load
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


def _sweep(url: str, bodies: dict[int, bytes], headers: dict[str, str]) -> ServerRun:
    one_row = {}
    for connections in CONNECTIONS:
        run_load(url, bodies[1], headers, connections, WARM_UP)
        one_row[connections] = run_load(url, bodies[1], headers, connections, SECONDS)
    run_load(url, bodies[100], headers, 4, WARM_UP)
    return ServerRun(one_row, run_load(url, bodies[100], headers, 4, SECONDS))


def bench_api(kind: str, rows: list[dict[str, float]], tracking: str, work: Path) -> ServerRun:
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
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    bodies = {n: json.dumps({"rows": rows[:n]}).encode() for n in (1, 100)}
    with process([API_PYTHON, "-m", "app"], env, work / f"api-{kind}.log") as api:
        wait_ready(f"{url}/readyz", api, timeout=READY_TIMEOUT)
        rss_ready = rss_mb(api.pid)
        run = _sweep(f"{url}/v1/predict", bodies, headers)
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        return run.with_process(statistics.median(startups), rss_ready, rss_mb(api.pid), metrics)


def bench_mlflow(kind: str, rows: list[dict[str, float]], tracking: str, work: Path) -> ServerRun:
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
    bodies = {n: json.dumps({"dataframe_records": rows[:n]}).encode() for n in (1, 100)}
    with process(argv, env, work / f"mlflow-{kind}.log") as serve:
        startup = wait_ready(f"http://127.0.0.1:{port}/ping", serve, timeout=READY_TIMEOUT)
        rss_ready = rss_mb(serve.pid)
        url = f"http://127.0.0.1:{port}/invocations"
        run = _sweep(url, bodies, {"Content-Type": "application/json"})
        return run.with_process(startup, rss_ready, rss_mb(serve.pid), "")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlsys-bench-kinds-"))
    os.environ["MLSYS_HOME"] = str(work / "home")
    results: list[KindResult] = []
    with tracking_server(work) as tracking:
        os.environ["MLFLOW_TRACKING_URI"] = tracking
        holdouts = {kind: train_kind(kind, work) for kind in KINDS}
        for kind in KINDS:
            ours = bench_api(kind, holdouts[kind], tracking, work)
            theirs = bench_mlflow(kind, holdouts[kind], tracking, work)
            results.append(KindResult(kind, ours, theirs))
            print(f"{kind}: done", flush=True)
    FIGURES.mkdir(exist_ok=True)
    for result in results:
        draw(result, FIGURES / f"{result.kind}.png")
    report = render(results, SECONDS, WARM_UP)
    print(report)
    write_section(REPORT, SECTION, report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
