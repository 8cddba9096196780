"""The canary's PromQL and the pure judgement of one sample against the thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from infra.release.report import Check


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Bounds a canary sample must meet; ratios are fractions, latencies seconds."""

    min_request_rate: float = 0.2
    max_error_ratio: float = 0.01
    error_margin: float = 0.005
    p99_slo_seconds: float = 0.5
    p99_vs_stable_factor: float = 1.5
    p99_slack_seconds: float = 0.01
    max_restarts: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Selectors:
    """Label matchers that tell the backends apart, and the window every rate is taken over."""

    canary: str = 'track="canary"'
    stable: str = 'track="stable"'
    canary_pods: str = 'namespace="serving",pod=~"prediction-api-canary-.*"'
    routes: str = "/v1/predict|/invocations|/v2/models/.*/infer"
    window: str = "2m"


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One reading of both backends; ``None`` is "no data"."""

    canary_rate: float | None
    canary_error_ratio: float | None
    stable_error_ratio: float | None
    canary_p99: float | None
    stable_p99: float | None
    canary_restarts: float | None


def queries(s: Selectors) -> dict[str, str]:
    """Sample field -> PromQL; only scoring routes count, so probes cannot pass as traffic."""

    def requests(backend: str, extra: str = "") -> str:
        return (
            f'sum(rate(mlsys_http_requests_total{{{backend},route=~"{s.routes}"{extra}}}'
            f"[{s.window}]))"
        )

    def error_ratio(backend: str) -> str:
        # No 5xx series at all is a ratio of 0, but no traffic at all stays "no data".
        failed = requests(backend, ',status=~"5.."')
        return f"({failed} or vector(0)) / {requests(backend)}"

    def p99(backend: str) -> str:
        bucket = f'mlsys_http_request_duration_seconds_bucket{{{backend},route=~"{s.routes}"}}'
        return f"histogram_quantile(0.99, sum by (le) (rate({bucket}[{s.window}])))"

    return {
        "canary_rate": requests(s.canary),
        "canary_error_ratio": error_ratio(s.canary),
        "stable_error_ratio": error_ratio(s.stable),
        "canary_p99": p99(s.canary),
        "stable_p99": p99(s.stable),
        "canary_restarts": (
            f"sum(increase(kube_pod_container_status_restarts_total{{{s.canary_pods}}}"
            f"[{s.window}]))"
        ),
    }


def _fmt(value: float | None, unit: str = "") -> str:
    return "no data" if value is None else f"{value:.4g}{unit}"


def judge(sample: Sample, t: Thresholds) -> list[Check]:
    """Every check of one sample; a missing canary figure always fails."""
    rate, errors, p99 = sample.canary_rate, sample.canary_error_ratio, sample.canary_p99
    stable_errors, stable_p99 = sample.stable_error_ratio, sample.stable_p99
    return [
        Check(
            "canary traffic",
            rate is not None and rate >= t.min_request_rate,
            f"{_fmt(rate, ' req/s')} (min {t.min_request_rate:g})",
        ),
        Check(
            "5xx ratio",
            errors is not None and errors <= t.max_error_ratio,
            f"{_fmt(errors)} (max {t.max_error_ratio:g})",
        ),
        Check(
            "5xx vs stable",
            errors is not None
            and stable_errors is not None
            and errors <= stable_errors + t.error_margin,
            f"{_fmt(errors)} vs stable {_fmt(stable_errors)} (margin {t.error_margin:g})",
        ),
        Check(
            "p99 vs SLO",
            p99 is not None and p99 <= t.p99_slo_seconds,
            f"{_fmt(p99, 's')} (SLO {t.p99_slo_seconds:g}s)",
        ),
        Check(
            "p99 vs stable",
            p99 is not None
            and stable_p99 is not None
            and p99 <= stable_p99 * t.p99_vs_stable_factor + t.p99_slack_seconds,
            f"{_fmt(p99, 's')} vs stable {_fmt(stable_p99, 's')} "
            f"(x{t.p99_vs_stable_factor:g} + {t.p99_slack_seconds:g}s)",
        ),
        Check(
            "pod restarts",
            sample.canary_restarts is not None and sample.canary_restarts <= t.max_restarts,
            f"{_fmt(sample.canary_restarts)} (max {t.max_restarts:g})",
        ),
    ]
