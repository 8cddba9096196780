"""Runs Locust headless in its own process (it monkey-patches the standard library)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SCENARIO = Path(__file__).with_name("locust_replicas.py")
MEASURED = "/v1/predict"


@dataclass(frozen=True)
class LoadFigures:
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class HistoryPoint:
    at: float  # unix seconds
    rps: float
    p99_ms: float | None
    failures: int


class Load:
    """``users`` clients at ``user_rps`` each against ``backends`` until stopped (or ``limit``)."""

    def __init__(
        self,
        workdir: Path,
        backends: list[str],
        key_file: Path,
        body: dict[str, object],
        *,
        users: int,
        user_rps: float,
        limit_seconds: float,
    ) -> None:
        self.prefix = workdir / "locust"
        request_file = workdir / "request.json"
        request_file.write_text(json.dumps(body))
        self.argv = [
            sys.executable, "-m", "locust", "-f", str(SCENARIO), "--headless",
            "--only-summary", "--loglevel", "WARNING", "--users", str(users),
            "--spawn-rate", str(users), "--run-time", f"{int(limit_seconds)}s",
            "--stop-timeout", "10", "--host", backends[0], "--csv", str(self.prefix),
            "--csv-full-history",
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "MLSYS_DRILL_BACKENDS": ",".join(backends),
            "MLSYS_DRILL_KEY_FILE": str(key_file),
            "MLSYS_DRILL_REQUEST_FILE": str(request_file),
            "MLSYS_DRILL_USER_RPS": str(user_rps),
        }
        self.limit_seconds = limit_seconds
        self.log = workdir / "locust.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Load:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=sink, stderr=sink)
        return self

    def stop(self) -> LoadFigures:
        """Stop Locust (SIGTERM: it stops the users, writes its CSV files and exits)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.limit_seconds + 60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.figures()

    def wait(self) -> LoadFigures:
        if self.process is not None:
            self.process.wait(self.limit_seconds + 60)
        return self.figures()

    def figures(self) -> LoadFigures:
        with Path(f"{self.prefix}_stats.csv").open(newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
        row = rows.get(MEASURED)
        if row is None:
            return LoadFigures(0, 0, 0.0, 0.0, 0.0)
        return LoadFigures(
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=float(row["Requests/s"]),
            p50_ms=float(row["50%"]),
            p99_ms=float(row["99%"]),
        )

    def failures(self) -> str:
        path = Path(f"{self.prefix}_failures.csv")
        return path.read_text() if path.exists() else ""

    def history(self) -> list[HistoryPoint]:
        points = []
        with Path(f"{self.prefix}_stats_history.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row["Name"] != MEASURED:
                    continue
                p99 = row["99%"]
                points.append(
                    HistoryPoint(
                        at=float(row["Timestamp"]),
                        rps=float(row["Requests/s"]),
                        p99_ms=float(p99) if p99 not in ("", "N/A") else None,
                        failures=int(row["Total Failure Count"]),
                    )
                )
        return points
