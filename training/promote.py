"""Promote: move @champion only for a candidate that passes the gates and does not regress."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from app.model_contract import (
    CHALLENGER,
    CHAMPION,
    DECISION_TAG,
    METRIC_TAG_PREFIX,
    PREVIOUS,
    REASON_TAG,
)
from training.config import LOWER_IS_BETTER, DatasetSpec, PromotionSpec
from training.evaluate import score
from training.registry import load_version, resolve_alias
from training.significance import (
    Comparison,
    Predictions,
    mcnemar,
    metric_intervals,
    paired_bootstrap,
    resample_weights,
)
from training.train import features, labels

BOOTSTRAP_SEED = 0  # fixed, so re-running promote on the same rows gives the same verdict


@dataclass(frozen=True)
class Decision:
    promoted: bool
    candidate_version: str
    champion_version: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    candidate_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    confidence: float = 0.95
    # False when promote moved nothing: the candidate already was the champion.
    changed: bool = True

    def render(self) -> str:
        if not self.changed:
            verdict = "UNCHANGED (no alias moved)"
        elif self.promoted:
            verdict = f"PROMOTED to @{CHAMPION}"
        else:
            verdict = f"REJECTED (kept as @{CHALLENGER})"
        champion = f"v{self.champion_version}" if self.champion_version else "none"
        ci = f"{self.confidence:.0%} CI"
        lines = [
            f"candidate v{self.candidate_version} vs champion {champion}: {verdict}",
            f"  {'metric':<10} {'candidate':>10} {'champion':>10}  {ci} (candidate)",
        ]
        for name, value in sorted(self.candidate_metrics.items()):
            other = self.champion_metrics.get(name)
            shown = "-" if other is None else f"{other:.4f}"
            low, high = self.candidate_intervals.get(name, (float("nan"), float("nan")))
            lines.append(f"  {name:<10} {value:>10.4f} {shown:>10}  [{low:.4f}, {high:.4f}]")
        for comparison in self.comparisons:
            lines.append(
                f"  evidence {comparison.metric}: {comparison.render()} -> {comparison.verdict}"
            )
        lines += [f"  reason: {reason}" for reason in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_failures(candidate: dict[str, float], spec: PromotionSpec) -> list[str]:
    """Absolute thresholds the candidate misses (a maximum for log loss, a minimum otherwise)."""
    failures = []
    for name, limit in sorted(spec.thresholds.items()):
        if name in LOWER_IS_BETTER and candidate[name] > limit:
            failures.append(f"{name} {candidate[name]:.4f} is above the maximum {limit:.4f}")
        elif name not in LOWER_IS_BETTER and candidate[name] < limit:
            failures.append(f"{name} {candidate[name]:.4f} is below the threshold {limit:.4f}")
    return failures


def compare(
    candidate: Predictions, champion: Predictions, spec: PromotionSpec, weights: np.ndarray
) -> list[Comparison]:
    """The configured test on the shared holdout: one bootstrap per metric, or one McNemar."""
    if spec.test == "mcnemar":
        return [mcnemar(candidate, champion, confidence=spec.confidence, tolerance=spec.tolerance)]
    return [
        paired_bootstrap(
            candidate,
            champion,
            metric,
            weights,
            confidence=spec.confidence,
            tolerance=spec.tolerance,
        )
        for metric in spec.compare_metrics
    ]


def data_problems(
    champion: ModelVersion, rescored: dict[str, float], spec: PromotionSpec
) -> list[str]:
    """A champion that scores far below its own registration means the data moved under it."""
    problems = []
    tags = champion.tags or {}
    for name in spec.compare_metrics:
        recorded = tags.get(f"{METRIC_TAG_PREFIX}{name}")
        if recorded is None:
            continue
        drop = float(recorded) - rescored[name]
        if name in LOWER_IS_BETTER:
            drop = -drop
        if drop > spec.champion_drop:
            problems.append(
                f"data problem: champion v{champion.version}'s {name} fell from "
                f"{float(recorded):.4f} to {rescored[name]:.4f} on this holdout; the data looks "
                "broken or shifted (accept a real shift with --accept-shift REASON)"
            )
    return problems


def _load(client: MlflowClient, version: ModelVersion) -> Any:
    with tempfile.TemporaryDirectory(prefix="mlsys-promote-") as tmp:
        return load_version(client, version, Path(tmp))


def _move_aliases(
    client: MlflowClient, name: str, candidate: str, champion: str | None, promoted: bool
) -> None:
    if not promoted:
        client.set_registered_model_alias(name, CHALLENGER, candidate)
        return
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion)
    client.set_registered_model_alias(name, CHAMPION, candidate)
    # Any challenger lost to this promotion: shadow scoring must not keep a rejected model.
    if resolve_alias(client, name, CHALLENGER) is not None:
        client.delete_registered_model_alias(name, CHALLENGER)


def promote(
    *,
    model_name: str,
    candidate_version: str,
    holdout: pd.DataFrame,
    dataset: DatasetSpec,
    spec: PromotionSpec,
    accepted_shift: str | None = None,
    client: MlflowClient | None = None,
) -> Decision:
    """Score both models from the registry on the same holdout rows, decide, move the aliases."""
    client = client or MlflowClient()
    champion = resolve_alias(client, model_name, CHAMPION)
    champion_version = None if champion is None else str(champion.version)
    if champion_version == candidate_version:
        return Decision(
            promoted=True,
            candidate_version=candidate_version,
            champion_version=champion_version,
            candidate_metrics={},
            reasons=[f"v{candidate_version} is already @{CHAMPION}; nothing changed"],
            changed=False,
        )
    x, y = features(holdout, dataset), labels(holdout, dataset)
    candidate_model = _load(client, client.get_model_version(model_name, candidate_version))
    candidate_metrics = score(candidate_model, holdout, dataset)
    candidate = Predictions.of(candidate_model, x, y, dataset.classes)
    weights = resample_weights(len(y), spec.bootstrap_samples, BOOTSTRAP_SEED)
    reasons = gate_failures(candidate_metrics, spec)
    champion_metrics: dict[str, float] = {}
    comparisons: list[Comparison] = []
    if champion is not None:
        champion_model = _load(client, champion)
        champion_metrics = score(champion_model, holdout, dataset)
        comparisons = compare(
            candidate, Predictions.of(champion_model, x, y, dataset.classes), spec, weights
        )
        reasons += [
            f"{c.metric} regresses against champion v{champion_version}: {c.render()}"
            for c in comparisons
            if c.regressed
        ]
        if accepted_shift is None:
            reasons += data_problems(champion, champion_metrics, spec)
    promoted = not reasons
    _move_aliases(client, model_name, candidate_version, champion_version, promoted)
    if promoted:
        reasons = [
            "passed every threshold"
            + (
                f" and did not regress against champion v{champion_version}"
                if champion_version
                else " (no champion yet)"
            )
        ]
    client.set_model_version_tag(
        model_name, candidate_version, DECISION_TAG, "promoted" if promoted else "rejected"
    )
    client.set_model_version_tag(
        model_name, candidate_version, REASON_TAG, "; ".join(reasons)[:5000]
    )
    return Decision(
        promoted=promoted,
        candidate_version=candidate_version,
        champion_version=champion_version,
        candidate_metrics=candidate_metrics,
        champion_metrics=champion_metrics,
        reasons=reasons,
        comparisons=comparisons,
        candidate_intervals=metric_intervals(candidate, weights, spec.confidence),
        confidence=spec.confidence,
    )
