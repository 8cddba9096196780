"""The per-kind benchmark's results: targets, the markdown section and one figure per kind."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks.loadgen import LoadResult
from tests.benchmarks.servers import machine

CONNECTIONS = (1, 2, 4, 8, 16, 32)
# What one pod may take: the p99 bound of the prod latency SLO (Pulumi.prod.yaml).
SLO_P99_MS = 250.0


@dataclass(frozen=True)
class Targets:
    """Ratios to mlflow models serve: throughput (ours / theirs), latency (theirs / ours)."""

    one_row_throughput: float
    one_row_p99: float
    hundred_rows_throughput: float
    alone_p50: float


TARGETS = {
    "logistic_regression": Targets(30, 20, 20, 2),
    "random_forest": Targets(15, 5, 5, 2),
    "hist_gradient_boosting": Targets(15, 5, 5, 2),
}


@dataclass(frozen=True)
class ServerRun:
    one_row: dict[int, LoadResult]  # by connections
    hundred_rows: LoadResult  # at 4 connections
    startup_s: float = float("nan")
    rss_ready_mb: float = float("nan")
    rss_after_mb: float = float("nan")
    metrics: str = ""

    def with_process(self, startup: float, ready: float, after: float, metrics: str) -> ServerRun:
        return replace(
            self, startup_s=startup, rss_ready_mb=ready, rss_after_mb=after, metrics=metrics
        )

    def mean_batch(self) -> tuple[float, float] | None:
        """Rows and requests per model call over the whole run, from the API's own histograms."""
        sums = {}
        for name in ("rows", "requests"):
            total = re.search(rf"^mlsys_batch_{name}_sum (\S+)$", self.metrics, re.MULTILINE)
            count = re.search(rf"^mlsys_batch_{name}_count (\S+)$", self.metrics, re.MULTILINE)
            if not total or not count or float(count[1]) == 0:
                return None
            sums[name] = float(total[1]) / float(count[1])
        return sums["rows"], sums["requests"]

    def sustained(self) -> tuple[float, int] | None:
        """The highest 1-row throughput whose p99 stays within the SLO, and its connections."""
        within = [
            (r.requests_per_second, c) for c, r in self.one_row.items() if r.p99_ms <= SLO_P99_MS
        ]
        return max(within) if within else None


@dataclass(frozen=True)
class KindResult:
    kind: str
    ours: ServerRun
    theirs: ServerRun


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _kind_section(result: KindResult) -> list[str]:
    ours, theirs, target = result.ours, result.theirs, TARGETS[result.kind]
    eight_o, eight_t = ours.one_row[8], theirs.one_row[8]
    one_o, one_t = ours.one_row[1], theirs.one_row[1]
    h_o, h_t = ours.hundred_rows, theirs.hundred_rows
    checks = [
        (
            "1 row, 8 connections: throughput",
            eight_o.requests_per_second / eight_t.requests_per_second,
            target.one_row_throughput,
        ),
        ("1 row, 8 connections: p99", eight_t.p99_ms / eight_o.p99_ms, target.one_row_p99),
        (
            "100 rows, 4 connections: throughput",
            h_o.requests_per_second / h_t.requests_per_second,
            target.hundred_rows_throughput,
        ),
        ("1 row, 1 connection: p50", one_t.p50_ms / one_o.p50_ms, target.alone_p50),
    ]
    lines = [
        f"### {result.kind}",
        "",
        f"![{result.kind}: throughput and p99 against connections](benchmarks/{result.kind}.png)",
        "",
        "| scenario | this API req/s | p50 ms | p99 ms | mlflow req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    scenarios = [(f"1 row, {c} conn", ours.one_row[c], theirs.one_row[c]) for c in CONNECTIONS]
    scenarios.append(("100 rows, 4 conn", h_o, h_t))
    for label, o, t in scenarios:
        errors = f" ({o.errors} / {t.errors} errors)" if o.errors or t.errors else ""
        lines.append(
            f"| {label}{errors} | {o.requests_per_second:,.0f} | {o.p50_ms:.2f} | {o.p99_ms:.2f} "
            f"| {t.requests_per_second:,.0f} | {t.p50_ms:.2f} | {t.p99_ms:.2f} |"
        )
    lines += ["", "| target (ratio to mlflow) | measured | wanted | |", "|---|---:|---:|---|"]
    for label, measured, wanted in checks:
        lines.append(
            f"| {label} | {measured:.1f}x | >= {wanted:g}x | {_mark(measured >= wanted)} |"
        )
    batch = ours.mean_batch()
    sustained = ours.sustained()
    lines += [
        "",
        f"- Start-up to ready: this API {ours.startup_s:.2f} s (median of 3), mlflow "
        f"{theirs.startup_s:.2f} s. Resident memory: this API {ours.rss_ready_mb:.0f} MB ready, "
        f"{ours.rss_after_mb:.0f} MB after the runs; mlflow {theirs.rss_ready_mb:.0f} MB, "
        f"{theirs.rss_after_mb:.0f} MB.",
    ]
    if batch is not None:
        lines.append(
            f"- Mean model call over all runs: {batch[0]:.1f} rows from {batch[1]:.1f} requests."
        )
    if sustained is not None:
        lines.append(
            f"- One pod of this API sustains about {sustained[0]:,.0f} 1-row requests/s with "
            f"p99 under {SLO_P99_MS:.0f} ms ({sustained[1]} connections), on this machine."
        )
    return [*lines, ""]


def render(results: list[KindResult], seconds: int, warm_up: int, rounds: int) -> str:
    lines = [
        "# Benchmarks per model kind",
        "",
        "Written by `make bench` (tests/benchmarks/per_kind.py); do not edit by hand.",
        "",
        f"- Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds} s per scenario after a "
        f"{warm_up} s warm-up, load generator "
        f"`{next(iter(results[0].ours.one_row.values())).tool}` on the same machine.",
        f"- Machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end.",
        "- Each kind trained and promoted by the pipeline (`--set model.kind=<kind>`), served "
        "by both servers from the same tracking server, one worker each, both running and "
        "one under load at a time. This API runs from a virtualenv with only the image's "
        "`app` group; `mlflow models serve --env-manager local` with Python warnings silenced.",
        f"- 1-row scenarios: one run per connection count, this API's sweep then mlflow's. "
        f"100-row scenario: {rounds} runs per server, alternating between the two servers, "
        "and each server's median run is shown, so that both are measured under the same "
        "conditions.",
        "",
    ]
    for result in results:
        lines += _kind_section(result)
    return "\n".join(lines)


def draw(result: KindResult, path: Path) -> None:
    """Throughput and p99 against connections, both servers, 1-row requests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for run, name in ((result.ours, "this API"), (result.theirs, "mlflow models serve")):
        conns = sorted(run.one_row)
        left.plot(conns, [run.one_row[c].requests_per_second for c in conns], "o-", label=name)
        right.plot(conns, [run.one_row[c].p99_ms for c in conns], "o-", label=name)
    for axis, title in ((left, "throughput (requests/s)"), (right, "p99 latency (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(list(CONNECTIONS), [str(c) for c in CONNECTIONS])
        axis.set_xlabel("connections")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"{result.kind}: 1-row requests")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
