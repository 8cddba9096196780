"""``canary``: sample Prometheus for the canary and stable backends; fail after K bad samples."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from infra.release.canary_checks import Sample, Selectors, Thresholds, judge, queries
from infra.release.prometheus_query import Prometheus, PrometheusError


def _read(prometheus: Prometheus, selectors: Selectors) -> Sample:
    values = {field: prometheus.value(query) for field, query in queries(selectors).items()}
    return Sample(**values)


def _sample_passes(prometheus: Prometheus, selectors: Selectors, thresholds: Thresholds) -> bool:
    try:
        checks = judge(_read(prometheus, selectors), thresholds)
    except PrometheusError as error:
        typer.echo(f"    FAIL  prometheus                   {error}")
        return False
    for check in checks:
        typer.echo(f"    {'PASS' if check.passed else 'FAIL'}  {check.name:<26} {check.detail}")
    return all(check.passed for check in checks)


def canary(
    prometheus_url: Annotated[str, typer.Option(help="Prometheus base URL.")],
    duration: Annotated[float, typer.Option(min=0, help="Seconds of analysis.")] = 600,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between samples.")] = 30,
    max_failed_samples: Annotated[
        int, typer.Option(min=1, help="Fail as soon as this many samples failed (K).")
    ] = 3,
    window: Annotated[str, typer.Option(help="PromQL range for rates, e.g. 2m.")] = "2m",
    canary_selector: Annotated[str, typer.Option(help="Matchers of the canary's series.")] = (
        Selectors.canary
    ),
    stable_selector: Annotated[str, typer.Option(help="Matchers of the stable series.")] = (
        Selectors.stable
    ),
    canary_pods: Annotated[
        str, typer.Option(help="kube-state-metrics matchers of the canary pods.")
    ] = Selectors.canary_pods,
    routes: Annotated[str, typer.Option(help="Regex of the scoring routes that count.")] = (
        Selectors.routes
    ),
    min_request_rate: Annotated[float, typer.Option(help="Canary req/s below this fails.")] = (
        Thresholds.min_request_rate
    ),
    max_error_ratio: Annotated[float, typer.Option(help="Canary 5xx share above this fails.")] = (
        Thresholds.max_error_ratio
    ),
    error_margin: Annotated[
        float, typer.Option(help="How much worse than stable the 5xx share may be.")
    ] = Thresholds.error_margin,
    p99_slo_seconds: Annotated[float, typer.Option(help="Latency SLO for the canary p99.")] = (
        Thresholds.p99_slo_seconds
    ),
    p99_vs_stable_factor: Annotated[
        float, typer.Option(help="Canary p99 may be at most this times stable's ...")
    ] = Thresholds.p99_vs_stable_factor,
    p99_slack_seconds: Annotated[
        float, typer.Option(help="... plus this, since histogram buckets are coarse.")
    ] = Thresholds.p99_slack_seconds,
    max_restarts: Annotated[float, typer.Option(help="Canary container restarts allowed.")] = (
        Thresholds.max_restarts
    ),
) -> None:
    """Sample every INTERVAL for DURATION; no data is a failed sample, never a pass."""
    selectors = Selectors(
        canary=canary_selector,
        stable=stable_selector,
        canary_pods=canary_pods,
        routes=routes,
        window=window,
    )
    thresholds = Thresholds(
        min_request_rate=min_request_rate,
        max_error_ratio=max_error_ratio,
        error_margin=error_margin,
        p99_slo_seconds=p99_slo_seconds,
        p99_vs_stable_factor=p99_vs_stable_factor,
        p99_slack_seconds=p99_slack_seconds,
        max_restarts=max_restarts,
    )
    samples = max(1, int(duration // interval) + 1)
    # A run shorter than K samples must still be able to fail.
    limit = min(max_failed_samples, samples)
    typer.echo(
        f"canary analysis: {samples} samples every {interval:g}s, "
        f"fail after {limit} failed; {prometheus_url}"
    )
    prometheus = Prometheus(prometheus_url)
    failed = 0
    try:
        next_at = time.monotonic()
        for number in range(1, samples + 1):
            typer.echo(f"  sample {number}/{samples}")
            if not _sample_passes(prometheus, selectors, thresholds):
                failed += 1
                if failed >= limit:
                    break
            next_at += interval
            if number < samples:
                # Pace by the clock, so slow queries do not stretch the analysis.
                time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        prometheus.close()
    if failed >= limit:
        typer.echo(f"canary verdict: FAIL ({failed} failed samples, limit {limit})")
        raise typer.Exit(1)
    typer.echo(f"canary verdict: PASS ({failed} failed of {samples} samples)")
