"""Evaluate: holdout metrics and a confusion-matrix plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics

from training.config import DatasetSpec
from training.train import features, labels


def score(model: Any, holdout: pd.DataFrame, dataset: DatasetSpec) -> dict[str, float]:
    """Accuracy, precision, recall, F1, ROC AUC and log loss of ``model`` on ``holdout``."""
    x, y = features(holdout, dataset), labels(holdout, dataset)
    predicted = model.predict(x)
    proba = model.predict_proba(x)
    binary = len(dataset.classes) == 2
    average = "binary" if binary else "macro"
    return {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "precision": float(metrics.precision_score(y, predicted, average=average, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, average=average, zero_division=0)),
        "f1": float(metrics.f1_score(y, predicted, average=average, zero_division=0)),
        "roc_auc": float(
            metrics.roc_auc_score(y, proba[:, 1])
            if binary
            else metrics.roc_auc_score(y, proba, multi_class="ovr")
        ),
        "log_loss": float(metrics.log_loss(y, proba, labels=dataset.classes)),
    }


def plot_confusion_matrix(
    model: Any, holdout: pd.DataFrame, dataset: DatasetSpec, path: Path
) -> Path:
    """Write the holdout confusion matrix as a PNG and return its path."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    y_true = labels(holdout, dataset)
    y_pred = np.asarray(model.predict(features(holdout, dataset)))
    display = metrics.ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=dataset.classes, colorbar=False
    )
    display.ax_.set_title("Holdout confusion matrix")
    path.parent.mkdir(parents=True, exist_ok=True)
    display.figure_.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(display.figure_)
    return path
