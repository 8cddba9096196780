"""Load and soak drill: a fixed rate near 70 % of measured capacity, one promotion and one
SIGTERM-and-restart in the middle (``make drill-load``; DRILL_LOAD_MINUTES, default 10)."""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

from tests.drills.load_client import HistoryPoint, Load, LoadFigures
from tests.drills.processes import DrillError
from tests.drills.report import DOCS, RELIABILITY, replace_section, table
from tests.drills.stack import MODEL_NAME, ApiProcess, Stack, stack, train_versions, wait_serving

PNG = DOCS / "reliability-load.png"
USERS = 10
CAPACITY_USERS = 32


def slo_p99_ms() -> float:
    """The latency bound the prod alert rules use (``mlsys:apiLatencyP99Ms``)."""
    config = yaml.safe_load((DOCS.parent / "Pulumi.prod.yaml").read_text())["config"]
    return float(config["mlsys:apiLatencyP99Ms"])


@dataclass
class Sample:
    at: float
    rss_mb: dict[str, float] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)


class Sampler:
    """RSS and open file descriptors of every API process, once a second."""

    def __init__(self, apis: list[ApiProcess]) -> None:
        self.apis, self.samples = apis, list[Sample]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            sample = Sample(at=time.time())
            for api in self.apis:
                try:
                    process = psutil.Process(api.pid)
                    sample.rss_mb[api.name] = process.memory_info().rss / 2**20
                    sample.fds[api.name] = process.num_fds()
                except (psutil.Error, DrillError):
                    continue  # between SIGTERM and the restart
            self.samples.append(sample)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(5)
        return self.samples


@dataclass(frozen=True)
class LoadDrillResult:
    seconds: float
    capacity_rps: float
    target_rps: float
    figures: LoadFigures
    slo_p99_ms: float
    rss_growth: float  # of the replica that ran throughout, after warm-up
    fd_growth: int
    promoted_after_seconds: float
    restart_seconds: float
    history: list[HistoryPoint]
    samples: list[Sample]
    started_at: float


def _window(samples: list[Sample], name: str, start: float, end: float, fds: bool) -> list[float]:
    picked = [s for s in samples if start <= s.at <= end]
    return [float(s.fds[name] if fds else s.rss_mb[name]) for s in picked if name in s.rss_mb]


def drill_on(drill: Stack, first: str, second: str, seconds: float) -> LoadDrillResult:
    client = drill.client()
    client.set_registered_model_alias(MODEL_NAME, "champion", first)
    replicas = [drill.api("api-a"), drill.api("api-b")]
    for api in replicas:
        api.start()
    for api in replicas:
        wait_serving(api, first)
    urls, body = [api.url for api in replicas], drill.request_body()
    probe_dir = drill.workdir / "capacity"
    probe_dir.mkdir(exist_ok=True)
    capacity_seconds = max(5.0, min(30.0, seconds / 10))
    capacity = (
        Load(probe_dir, urls, drill.key_file, body, users=CAPACITY_USERS, user_rps=1000,
             limit_seconds=capacity_seconds)
        .start()
        .wait()
    )  # fmt: skip
    target = 0.7 * capacity.rps
    sampler = Sampler(replicas).start()
    started = time.time()
    load = Load(
        drill.workdir,
        urls,
        drill.key_file,
        body,
        users=USERS,
        user_rps=target / USERS,
        limit_seconds=seconds,
    ).start()
    try:
        time.sleep(seconds / 3)
        client.set_registered_model_alias(MODEL_NAME, "champion", second)
        promoted = time.monotonic()
        for api in replicas:
            wait_serving(api, second)
        promoted_after = time.monotonic() - promoted
        time.sleep(max(0.0, started + seconds / 2 - time.time()))
        restarting = time.monotonic()
        replicas[0].stop(signal.SIGTERM, group=False)
        replicas[0].start()
        wait_serving(replicas[0], second)
        restart_seconds = time.monotonic() - restarting
        figures = load.wait()
    finally:
        samples = sampler.stop()
        load.stop()
    warm = started + max(10.0, seconds * 0.2)
    end = started + seconds
    tail = end - max(5.0, seconds * 0.1)
    steady = replicas[1].name
    early = _window(samples, steady, warm, warm + max(5.0, seconds * 0.1), False)
    late = _window(samples, steady, tail, end, False)
    early_fd = _window(samples, steady, warm, warm + max(5.0, seconds * 0.1), True)
    late_fd = _window(samples, steady, tail, end, True)
    if figures.failures:
        raise DrillError(f"{figures.failures} requests failed:\n{load.failures()}")
    return LoadDrillResult(
        seconds=seconds,
        capacity_rps=capacity.rps,
        target_rps=target,
        figures=figures,
        slo_p99_ms=slo_p99_ms(),
        rss_growth=statistics.median(late) / statistics.median(early) - 1 if early and late else 0,
        fd_growth=int(max(late_fd) - max(early_fd)) if early_fd and late_fd else 0,
        promoted_after_seconds=promoted_after,
        restart_seconds=restart_seconds,
        history=load.history(),
        samples=samples,
        started_at=started,
    )


def check(result: LoadDrillResult) -> list[str]:
    problems = []
    if result.figures.failures:
        problems.append(f"{result.figures.failures} failed requests")
    if result.figures.p99_ms > result.slo_p99_ms:
        problems.append(f"p99 {result.figures.p99_ms:g} ms over {result.slo_p99_ms:g} ms")
    if result.rss_growth >= 0.05:
        problems.append(f"RSS grew {result.rss_growth:.1%}")
    if result.fd_growth > 0:
        problems.append(f"{result.fd_growth} more file descriptors")
    return problems


def plot(result: LoadDrillResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rps, p99, rss) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    t0 = result.started_at
    points = [p for p in result.history if p.at >= t0]
    rps.plot([p.at - t0 for p in points], [p.rps for p in points])
    rps.set_ylabel("requests/s")
    timed = [p for p in points if p.p99_ms is not None]
    p99.plot([p.at - t0 for p in timed], [p.p99_ms for p in timed])
    p99.axhline(result.slo_p99_ms, color="red", linestyle="--", label="SLO p99")
    p99.set_ylabel("p99 ms (10 s window)")
    p99.legend()
    for name in sorted({n for s in result.samples for n in s.rss_mb}):
        picked = [s for s in result.samples if name in s.rss_mb]
        rss.plot([s.at - t0 for s in picked], [s.rss_mb[name] for s in picked], label=name)
    rss.set_ylabel("RSS MiB")
    rss.set_xlabel("seconds (promotion at 1/3, SIGTERM and restart of api-a at 1/2)")
    rss.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def render(result: LoadDrillResult) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    f = result.figures
    problems = check(result)
    verdict = "every requirement held" if not problems else "FAILED: " + "; ".join(problems)
    rows = [
        ("capacity (2 replicas, unpaced Locust)", f"{result.capacity_rps:.0f} req/s"),
        ("fixed rate (70 %)", f"{result.target_rps:.0f} req/s asked, {f.rps:.0f} achieved"),
        ("requests, failed", f"{f.requests}, {f.failures}"),
        ("p50, p99", f"{f.p50_ms:g} ms, {f.p99_ms:g} ms (SLO p99 {result.slo_p99_ms:g} ms)"),
        ("promotion -> both replicas on the new version", f"{result.promoted_after_seconds:.1f} s"),
        ("SIGTERM -> replica back and serving", f"{result.restart_seconds:.1f} s"),
        ("RSS growth after warm-up (api-b)", f"{result.rss_growth:+.1%}"),
        ("file-descriptor growth (api-b)", f"{result.fd_growth:+d}"),
    ]
    return (
        f"### Load and soak drill\n\n`make drill-load` for {result.seconds / 60:g} minutes, "
        f"{when}, two API replicas on one 2-core machine shared with Locust, MLflow, "
        f"PostgreSQL and moto. Verdict: {verdict}.\n\n"
        + table(("figure", "value"), rows)
        + f"\n\n![throughput, p99 and RSS over the run]({PNG.name})"
    )


def run(workdir: Path, minutes: float) -> LoadDrillResult:
    with stack(workdir) as drill:
        first, second = train_versions(drill)
        return drill_on(drill, first, second, minutes * 60)


def main() -> None:
    minutes = float(os.environ.get("DRILL_LOAD_MINUTES", "10"))
    with tempfile.TemporaryDirectory(prefix="mlsys-drill-load-") as scratch:
        result = run(Path(scratch), minutes)
    plot(result, PNG)
    text = render(result)
    print(text)
    replace_section(RELIABILITY, "load", text)
    if check(result):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
