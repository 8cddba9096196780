"""``loadtest``: run the Locust scenario headless and fail when a threshold is missed."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from infra.release.report import Report

# Locust monkey-patches the standard library when imported, so it only ever runs in its own
# process: this module names the scenario file and its variables without importing it.
SCENARIO = Path(__file__).with_name("locust_scenario.py")
KEY_FILE_VARIABLE = "MLSYS_LOADTEST_API_KEY_FILE"
REQUEST_FILE_VARIABLE = "MLSYS_LOADTEST_REQUEST_FILE"
PACE_VARIABLE = "MLSYS_LOADTEST_USER_RPS"
_DURATION = re.compile(r"^(\d+[hms])+$")
_MEASURED = "/v1/predict"


def _locust_figures(stats_csv: Path) -> dict[str, float]:
    with stats_csv.open(newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows.get(_MEASURED)
    if row is None or int(row["Request Count"]) == 0:
        return {}
    requests = int(row["Request Count"])
    return {
        "requests": requests,
        "error_rate": int(row["Failure Count"]) / requests,
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "rps": float(row["Requests/s"]),
    }


def _run_locust(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return -1, f"locust did not stop within {timeout:.0f}s"
    return done.returncode, done.stderr[-2000:]


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", duration))


def loadtest(
    base_url: Annotated[str, typer.Option(help="The API's base URL.")],
    api_key_file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="File holding a predict-scoped key.")
    ],
    duration: Annotated[str, typer.Option(help="Locust run time, e.g. 30s, 2m.")] = "30s",
    users: Annotated[int, typer.Option(min=1, help="Concurrent simulated clients.")] = 10,
    user_rps: Annotated[
        float, typer.Option(min=0.1, help="Requests/s each client sends at most.")
    ] = 3.0,
    request_file: Annotated[
        Path | None,
        typer.Option(exists=True, help="A /v1/predict body; from the signature if unset."),
    ] = None,
    max_error_rate: Annotated[float, typer.Option(help="Failed share of requests allowed.")] = 0.01,
    max_p95_ms: Annotated[float, typer.Option(help="95th percentile latency bound.")] = 300.0,
    max_p99_ms: Annotated[float, typer.Option(help="99th percentile latency bound.")] = 1000.0,
    min_rps: Annotated[float, typer.Option(help="Throughput the run must reach.")] = 20.0,
    allow_http: Annotated[bool, typer.Option(help="Accept plain http (a local server).")] = False,
) -> None:
    """POST /v1/predict from USERS clients for DURATION; prints thresholds and achieved figures."""
    report = Report(f"loadtest {base_url}")
    typer.echo(f"load test of {base_url}: {users} users x {user_rps:g} req/s for {duration}")
    if not _DURATION.match(duration):
        report.add("arguments", False, f"--duration {duration!r} is not like 30s, 2m or 1h30m")
        report.verdict()
    if not (base_url.startswith("https://") or (allow_http and base_url.startswith("http://"))):
        report.add("tls", False, "https:// required (or --allow-http for a local server)")
        report.verdict()
    with tempfile.TemporaryDirectory(prefix="mlsys-loadtest-") as scratch:
        prefix = Path(scratch) / "run"
        argv = [
            sys.executable, "-m", "locust", "-f", str(SCENARIO),
            "--headless", "--only-summary", "--loglevel", "WARNING",
            "--users", str(users), "--spawn-rate", str(users), "--run-time", duration,
            "--stop-timeout", "5", "--host", base_url.rstrip("/"), "--csv", str(prefix),
        ]  # fmt: skip
        env = {
            **os.environ,
            KEY_FILE_VARIABLE: str(api_key_file.resolve()),
            PACE_VARIABLE: str(user_rps),
        }
        if request_file is not None:
            env[REQUEST_FILE_VARIABLE] = str(request_file.resolve())
        code, errors = _run_locust(argv, env, timeout=_seconds(duration) + 60)
        stats = Path(f"{prefix}_stats.csv")
        figures = _locust_figures(stats) if stats.exists() else {}
    if not figures:
        report.add(
            "requests sent", False, f"no {_MEASURED} request measured (exit {code}) {errors}"
        )
        report.verdict()
    typer.echo(f"  {int(figures['requests'])} requests measured")
    report.add(
        "error rate",
        figures["error_rate"] <= max_error_rate,
        f"{figures['error_rate']:.2%} (max {max_error_rate:.2%})",
    )
    report.add(
        "p95", figures["p95_ms"] <= max_p95_ms, f"{figures['p95_ms']:g} ms (max {max_p95_ms:g})"
    )
    report.add(
        "p99", figures["p99_ms"] <= max_p99_ms, f"{figures['p99_ms']:g} ms (max {max_p99_ms:g})"
    )
    report.add(
        "throughput", figures["rps"] >= min_rps, f"{figures['rps']:.1f} req/s (min {min_rps:g})"
    )
    report.verdict()
