"""Promote: move @champion only for a candidate that passes the gates and does not regress."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient

from app.model_contract import CHALLENGER, CHAMPION, DECISION_TAG, PREVIOUS, REASON_TAG
from training.config import DatasetSpec, PromotionSpec
from training.evaluate import score
from training.registry import load_version, resolve_alias


@dataclass(frozen=True)
class Decision:
    promoted: bool
    candidate_version: str
    champion_version: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def render(self) -> str:
        verdict = (
            f"PROMOTED to @{CHAMPION}" if self.promoted else f"REJECTED (kept as @{CHALLENGER})"
        )
        champion = f"v{self.champion_version}" if self.champion_version else "none"
        lines = [
            f"candidate v{self.candidate_version} vs champion {champion}: {verdict}",
            f"  {'metric':<10} {'candidate':>10} {'champion':>10}",
        ]
        for name, value in sorted(self.candidate_metrics.items()):
            other = self.champion_metrics.get(name)
            shown = "-" if other is None else f"{other:.4f}"
            lines.append(f"  {name:<10} {value:>10.4f} {shown:>10}")
        lines += [f"  reason: {reason}" for reason in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_failures(candidate: dict[str, float], spec: PromotionSpec) -> list[str]:
    """Absolute thresholds the candidate misses."""
    return [
        f"{name} {candidate[name]:.4f} is below the threshold {minimum:.4f}"
        for name, minimum in sorted(spec.thresholds.items())
        if candidate[name] < minimum
    ]


def regressions(
    candidate: dict[str, float], champion: dict[str, float], spec: PromotionSpec
) -> list[str]:
    """Metrics on which the candidate is worse than the champion by more than the tolerance."""
    return [
        f"{name} {candidate[name]:.4f} regresses against champion {champion[name]:.4f} "
        f"(tolerance {spec.tolerance})"
        for name in spec.compare_metrics
        if candidate[name] < champion[name] - spec.tolerance
    ]


def promote(
    *,
    model_name: str,
    candidate_version: str,
    candidate_metrics: dict[str, float],
    holdout: pd.DataFrame,
    dataset: DatasetSpec,
    spec: PromotionSpec,
    client: MlflowClient | None = None,
) -> Decision:
    """Decide and move the aliases; the champion is re-scored on the candidate's holdout."""
    client = client or MlflowClient()
    reasons = gate_failures(candidate_metrics, spec)
    champion = resolve_alias(client, model_name, CHAMPION)
    champion_version = None if champion is None else str(champion.version)
    if champion_version == candidate_version:
        champion, champion_version = None, None
    champion_metrics: dict[str, float] = {}
    if champion is not None:
        with tempfile.TemporaryDirectory(prefix="mlsys-champion-") as tmp:
            champion_model = load_version(client, champion, Path(tmp))
        champion_metrics = score(champion_model, holdout, dataset)
        reasons += regressions(candidate_metrics, champion_metrics, spec)
    promoted = not reasons
    if promoted:
        if champion_version is not None:
            client.set_registered_model_alias(model_name, PREVIOUS, champion_version)
        client.set_registered_model_alias(model_name, CHAMPION, candidate_version)
        challenger = resolve_alias(client, model_name, CHALLENGER)
        if challenger is not None and str(challenger.version) == candidate_version:
            client.delete_registered_model_alias(model_name, CHALLENGER)
        reason_text = "passed every threshold" + (
            " and did not regress against the champion"
            if champion_version
            else " (no champion yet)"
        )
    else:
        client.set_registered_model_alias(model_name, CHALLENGER, candidate_version)
        reason_text = "; ".join(reasons)
    client.set_model_version_tag(
        model_name, candidate_version, DECISION_TAG, "promoted" if promoted else "rejected"
    )
    client.set_model_version_tag(model_name, candidate_version, REASON_TAG, reason_text[:5000])
    return Decision(
        promoted=promoted,
        candidate_version=candidate_version,
        champion_version=champion_version,
        candidate_metrics=candidate_metrics,
        champion_metrics=champion_metrics,
        reasons=reasons if reasons else [reason_text],
    )
