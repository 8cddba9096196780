from __future__ import annotations

from pathlib import Path

import pytest

from training.config import ConfigError, load_config


def test_default_config_describes_the_builtin_dataset():
    config = load_config()
    assert config.dataset.uri == "sklearn://breast_cancer"
    assert len(config.dataset.feature_names) == 30
    assert config.promotion.thresholds["roc_auc"] >= 0.9


def test_overrides_merge_into_nested_keys():
    config = load_config(overrides={"model": {"params": {"C": 0.5}}})
    assert config.model.params == {"C": 0.5, "max_iter": 2000}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"model": {"kind": "svm"}}, "model.kind"),
        ({"split": {"test_size": 1.5}}, "split.test_size"),
        ({"promotion": {"thresholds": {"accuracy": 2}}}, "promotion.thresholds.accuracy"),
        ({"promotion": {"compare_metrics": ["speed"]}}, "promotion.compare_metrics.0"),
        ({"model_name": "bad name!"}, "model_name"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_config_names_the_key(overrides, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(overrides=overrides)


def test_label_may_not_be_a_feature():
    with pytest.raises(ConfigError, match=r"dataset\.label"):
        load_config(overrides={"dataset": {"label": "mean_radius"}})


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
