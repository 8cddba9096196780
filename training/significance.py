"""Holdout statistics: bootstrap intervals of each metric and paired tests between two models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from training.config import LOWER_IS_BETTER

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
_EPS = 1e-15  # scikit-learn's log_loss clips probabilities the same way


@dataclass(frozen=True)
class Predictions:
    """What one model says about every holdout row: the label and the class probabilities."""

    y: np.ndarray
    predicted: np.ndarray
    proba: np.ndarray
    classes: list[int]

    @classmethod
    def of(cls, model: Any, x: np.ndarray, y: np.ndarray, classes: list[int]) -> Predictions:
        return cls(y, np.asarray(model.predict(x)), np.asarray(model.predict_proba(x)), classes)


def _auc(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC per row of ``weights``; tied scores count half."""
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    w = weights[:, order]
    pos = np.add.reduceat(w * positive[order], starts, axis=1)
    neg = np.add.reduceat(w * ~positive[order], starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = (pos * (below + 0.5 * neg)).sum(axis=1) / total
    return result


def weighted_metrics(p: Predictions, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :func:`training.evaluate.score`, once per row of ``weights`` (B x n).

    A row of bootstrap counts gives the metric on that resample; a row of ones gives the
    plain holdout value, so one code path serves both.
    """
    total = weights.sum(axis=1)
    correct = weights @ (p.predicted == p.y)
    column = {c: i for i, c in enumerate(p.classes)}
    truth_proba = p.proba[np.arange(len(p.y)), [column[int(c)] for c in p.y]]
    loss = weights @ -np.log(np.clip(truth_proba, _EPS, 1.0))
    binary = len(p.classes) == 2
    # scikit-learn's binary averaging scores the label 1; macro averaging scores every class.
    scored = [1] if binary else p.classes
    precision, recall, f1, auc = [], [], [], []
    for cls in scored:
        tp = weights @ ((p.predicted == cls) & (p.y == cls))
        fp = weights @ ((p.predicted == cls) & (p.y != cls))
        fn = weights @ ((p.predicted != cls) & (p.y == cls))
        with np.errstate(invalid="ignore", divide="ignore"):
            precision.append(np.nan_to_num(tp / (tp + fp)))
            recall.append(np.nan_to_num(tp / (tp + fn)))
            f1.append(np.nan_to_num(2 * tp / (2 * tp + fp + fn)))
        auc.append(_auc(p.proba[:, column[cls]], p.y == cls, weights))
    return {
        "accuracy": correct / total,
        "precision": np.mean(precision, axis=0),
        "recall": np.mean(recall, axis=0),
        "f1": np.mean(f1, axis=0),
        "roc_auc": np.mean(auc, axis=0),
        "log_loss": loss / total,
    }


def resample_weights(rows: int, samples: int, seed: int) -> np.ndarray:
    """Bootstrap resamples of ``rows`` rows as counts per row; seeded so verdicts repeat."""
    rng = np.random.default_rng(seed)
    counts: np.ndarray = rng.multinomial(rows, np.full(rows, 1.0 / rows), size=samples)
    return counts


def interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval; resamples where a metric is undefined (one class only) are dropped."""
    finite = values[np.isfinite(values)]
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def metric_intervals(
    p: Predictions, weights: np.ndarray, confidence: float
) -> dict[str, tuple[float, float]]:
    """A bootstrap confidence interval for every metric of one model."""
    samples = weighted_metrics(p, weights)
    return {name: interval(values, confidence) for name, values in samples.items()}


@dataclass(frozen=True)
class Comparison:
    """Evidence about one metric: candidate minus champion, signed so positive is better."""

    metric: str
    improvement: float
    low: float
    high: float
    regressed: bool
    p_value: float | None = None

    @property
    def verdict(self) -> str:
        return "REGRESSION" if self.regressed else "no regression"

    def render(self) -> str:
        evidence = f"improvement {self.improvement:+.4f}, CI [{self.low:+.4f}, {self.high:+.4f}]"
        return evidence + ("" if self.p_value is None else f", McNemar p={self.p_value:.4f}")


def paired_bootstrap(
    candidate: Predictions,
    champion: Predictions,
    metric: str,
    weights: np.ndarray,
    *,
    confidence: float,
    tolerance: float,
) -> Comparison:
    """Both models scored on the same resampled rows, so row difficulty cancels out.

    A regression is an interval that lies wholly below ``-tolerance``: noise alone (one
    flipped row) cannot decide it.
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ones = np.ones((1, len(candidate.y)))
    point = weighted_metrics(candidate, ones)[metric] - weighted_metrics(champion, ones)[metric]
    deltas = sign * (
        weighted_metrics(candidate, weights)[metric] - weighted_metrics(champion, weights)[metric]
    )
    low, high = interval(deltas, confidence)
    return Comparison(metric, float(sign * point[0]), low, high, regressed=high < -tolerance)


def mcnemar(
    candidate: Predictions, champion: Predictions, *, confidence: float, tolerance: float
) -> Comparison:
    """Exact McNemar test on the rows exactly one model gets right (one-sided: is it worse?).

    The interval is the exact binomial interval turned into an accuracy difference, so the
    evidence reads the same way as the bootstrap's.
    """
    mine = candidate.predicted == candidate.y
    theirs = champion.predicted == champion.y
    lost, won, rows = int(np.sum(theirs & ~mine)), int(np.sum(mine & ~theirs)), len(mine)
    if lost + won == 0:
        return Comparison("accuracy", 0.0, 0.0, 0.0, regressed=False, p_value=1.0)
    p_value = float(stats.binomtest(lost, lost + won, 0.5, alternative="greater").pvalue)
    ci = stats.binomtest(won, lost + won, 0.5).proportion_ci(confidence_level=confidence)
    # If the candidate wins a share q of the discordant rows, accuracy moves by (2q - 1) * d.
    discordant = (lost + won) / rows
    improvement = (won - lost) / rows
    return Comparison(
        "accuracy",
        improvement,
        (2 * ci.low - 1) * discordant,
        (2 * ci.high - 1) * discordant,
        regressed=p_value < 1.0 - confidence and improvement < -tolerance,
        p_value=p_value,
    )
