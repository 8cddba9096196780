"""The model card: one Markdown page per registered version, logged with its run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from app.model_contract import CHAMPION
from training.config import LOWER_IS_BETTER, PipelineConfig
from training.promote import Decision


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _data(config: PipelineConfig, ingested: dict[str, Any], frame: pd.DataFrame) -> list[str]:
    balance = frame[config.dataset.label].value_counts(normalize=True).sort_index()
    dvc = ingested.get("dvc") or {}
    return [
        "## Data",
        "",
        f"- source: `{ingested['source']}`",
        f"- SHA-256: `{ingested['sha256']}`",
        f"- snapshot: `{ingested['snapshot']}`",
        f"- DVC: {'`' + dvc['dvc.path'] + '` at ' + dvc['dvc.commit'] if dvc else 'not from DVC'}",
        f"- rows: {ingested['rows']}, features: {len(config.dataset.feature_names)}",
        "- class balance: " + ", ".join(f"{cls}: {share:.1%}" for cls, share in balance.items()),
        f"- split: {config.split.test_size:.0%} holdout, seed {config.split.seed} "
        "(row ids in `data/holdout_rows.json`)",
    ]


def _metrics(
    metrics: dict[str, float], intervals: dict[str, tuple[float, float]], confidence: float
) -> list[str]:
    rows = []
    for name, value in sorted(metrics.items()):
        low, high = intervals[name]
        better = "lower" if name in LOWER_IS_BETTER else "higher"
        rows.append([name, f"{value:.4f}", f"[{low:.4f}, {high:.4f}]", better])
    header = ["metric", "holdout", f"{confidence:.0%} bootstrap CI", "better"]
    return ["## Holdout metrics", "", *_table(header, rows)]


def _comparison(decision: Decision | None) -> list[str]:
    lines = ["## Comparison with the champion", ""]
    if decision is None:
        return [*lines, "Not decided yet: `promote` has not run for this version."]
    if decision.champion_version is None:
        lines.append(f"There was no @{CHAMPION} to compare with.")
    else:
        rows = [
            [c.metric, f"{c.improvement:+.4f}", f"[{c.low:+.4f}, {c.high:+.4f}]", c.verdict]
            for c in decision.comparisons
        ]
        header = ["metric", "improvement", "CI", "verdict"]
        lines += [
            f"Against champion v{decision.champion_version}, both scored on this holdout:",
            "",
            *_table(header, rows),
        ]
    verdict = "promoted" if decision.promoted else "rejected"
    return [*lines, "", f"Decision: **{verdict}**. " + "; ".join(decision.reasons)]


def _drift(drift: dict[str, Any] | None, threshold: float, accepted: str | None) -> list[str]:
    lines = ["## Drift against the champion's reference", ""]
    if not drift:
        return [*lines, "No champion existed when this version was trained."]
    psi = {k: float(v) for k, v in drift.items() if k != "champion"}
    top = sorted(psi.items(), key=lambda item: -item[1])[:5]
    lines.append(
        f"PSI per feature against champion v{drift['champion']} (threshold {threshold}); "
        f"largest {len(top)} of {len(psi)}:"
    )
    lines += ["", *_table(["feature", "PSI"], [[name, f"{value:.4f}"] for name, value in top])]
    if accepted:
        lines += ["", f"Shift accepted on purpose: {accepted}"]
    return lines


def render_card(
    *,
    config: PipelineConfig,
    version: str,
    run_id: str,
    ingested: dict[str, Any],
    dataset: pd.DataFrame,
    drift: dict[str, Any] | None,
    accepted_shift: str | None,
    metrics: dict[str, float],
    intervals: dict[str, tuple[float, float]],
    decision: Decision | None,
) -> str:
    """The card as Markdown; every number in it comes from this run's own outputs."""
    params = [[key, f"`{value}`"] for key, value in sorted(config.model.params.items())]
    lines = [
        f"# Model card: {config.model_name} v{version}",
        "",
        f"Run `{run_id}`, model kind `{config.model.kind}`.",
        "",
        *_data(config, ingested, dataset),
        "",
        "## Training parameters",
        "",
        *(_table(["parameter", "value"], params) if params else ["Estimator defaults."]),
        "",
        *_metrics(metrics, intervals, config.promotion.confidence),
        "",
        *_comparison(decision),
        "",
        *_drift(drift, config.checks.psi_threshold, accepted_shift),
        "",
        "## Known limits",
        "",
        f"- The holdout has {round(ingested['rows'] * config.split.test_size)} rows: "
        "differences inside the intervals above are noise.",
        "- Trained and checked only on data within the column ranges of the dataset contract; "
        "serving watches the same PSI per feature and alerts on drift.",
        "- Probabilities are not calibrated beyond what the estimator itself provides.",
        "",
    ]
    return "\n".join(lines)
