"""Compiles a fitted scikit-learn pipeline into a few numpy operations when that is exact.

scikit-learn spends ~300 us per call validating a one-row input; a scaler followed by a
logistic regression is one matrix product. The compiled form is used only after it
reproduces the estimator's probabilities on the model's own example rows and on random
rows around them; anything else is served by the estimator itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.lifecycle.compiled_trees import compile_trees

ProbaFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CompiledModel:
    predict_proba: ProbaFn
    classes: np.ndarray
    engine: str  # "numpy-linear", "numpy-trees" (app/lifecycle/compiled_trees.py) or "sklearn"
    estimator: Any = None  # the scikit-learn object behind it, for checks and tests


def _steps(estimator: Any) -> list[Any]:
    return [step for _, step in estimator.steps] if hasattr(estimator, "steps") else [estimator]


def _linear(estimator: Any) -> ProbaFn | None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    *transforms, final = _steps(estimator)
    if type(final) is not LogisticRegression or any(
        type(t) is not StandardScaler for t in transforms
    ):
        return None
    weights = np.array(final.coef_, dtype=np.float64)
    bias = np.array(final.intercept_, dtype=np.float64)
    # Fold each scaler into the weights: w.(x - m)/s + b == (w/s).x + (b - (w/s).m)
    for scaler in reversed(transforms):
        # mean_ exists even with with_mean=False (it is used for the variance), so the
        # flags, not the attributes, say what transform() applies.
        if scaler.with_std:
            weights = weights / scaler.scale_
        if scaler.with_mean:
            bias = bias - weights @ scaler.mean_
    if weights.shape[0] == 1:
        w, b = weights[0].copy(), float(bias[0])

        def binary(x: np.ndarray) -> np.ndarray:
            # Capped so exp cannot overflow; past 700 the probability is 0 either way.
            positive = 1.0 / (1.0 + np.exp(np.minimum(-(x @ w + b), 700.0)))
            proba = np.empty((len(positive), 2))
            proba[:, 1] = positive
            proba[:, 0] = 1.0 - positive
            return proba

        return binary
    w_t = weights.T.copy()

    def softmax(x: np.ndarray) -> np.ndarray:
        logits = x @ w_t + bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return result

    return softmax


def _probe_rows(
    example: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None, seed: int = 0
) -> np.ndarray:
    """The example, random rows around it and, given the input bounds, rows on their edges:
    the compiled form must agree with the estimator on everything the contract accepts."""
    rng = np.random.default_rng(seed)
    spread = np.abs(example).mean(axis=0) + 1.0
    noise = rng.normal(0.0, 1.0, size=(64, example.shape[1])) * spread
    rows = [example, example.mean(axis=0) + noise]
    if bounds is not None:
        low, high = bounds
        corners = rng.integers(0, 2, size=(64, example.shape[1])).astype(bool)
        inside = low + rng.uniform(0.0, 1.0, size=(64, example.shape[1])) * (high - low)
        rows += [low[None, :], high[None, :], np.where(corners, high, low), inside]
    return np.vstack(rows)


def _quiet(predict_proba: ProbaFn) -> ProbaFn:
    """scikit-learn's finiteness check sums the input, which overflows to a RuntimeWarning on
    large but valid float32 values before it checks element-wise; the warning means nothing."""

    def call(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            result: np.ndarray = predict_proba(x)
        return result

    return call


def compile_model(
    estimator: Any, example: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None = None
) -> CompiledModel:
    """The fastest exact predictor for ``estimator``; falls back to scikit-learn itself."""
    classes = np.asarray(estimator.classes_)
    fast = _linear(estimator)
    if fast is not None:
        probe = _probe_rows(example, bounds)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = estimator.predict_proba(probe)
            agrees = np.allclose(fast(probe), expected, rtol=1e-9, atol=1e-12)
        if agrees:
            return CompiledModel(fast, classes, "numpy-linear", estimator)
    trees = compile_trees(_steps(estimator))
    if trees is not None:
        probe = _probe_rows(example, bounds)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                # Same comparisons, same order of sums: nothing short of identical is accepted.
                agrees = np.array_equal(trees(probe), estimator.predict_proba(probe))
        except ValueError:  # scikit-learn refuses a probe row it cannot take: keep it
            agrees = False
        if agrees:
            return CompiledModel(_quiet(trees), classes, "numpy-trees", estimator)
    return CompiledModel(_quiet(estimator.predict_proba), classes, "sklearn", estimator)
