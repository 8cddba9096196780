from __future__ import annotations

from pathlib import Path

import pytest

from training.config import DEFAULT_CONFIG, ConfigError, load_config


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


def test_a_missing_columns_file_is_a_config_error_naming_the_key(tmp_path: Path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        (Path(DEFAULT_CONFIG).read_text()).replace("dataset_columns.yaml", "missing.yaml")
    )
    with pytest.raises(ConfigError, match=r"dataset\.columns_file: cannot read .*missing\.yaml"):
        load_config(config)


def test_nullable_columns_need_an_estimator_that_handles_missing_values():
    nullable = {"name": "mean_radius", "nullable": True}
    columns = [nullable, *[c.model_dump() for c in load_config().dataset.columns[1:]]]
    with pytest.raises(ConfigError, match=r"\['mean_radius'\] are nullable .*logistic_regression"):
        load_config(overrides={"dataset": {"columns": columns}})
    forest = load_config(
        overrides={"dataset": {"columns": columns}, "model": {"kind": "random_forest"}}
    )
    assert forest.dataset.columns[0].nullable


def test_log_loss_thresholds_may_exceed_one_but_probabilities_may_not():
    config = load_config(overrides={"promotion": {"thresholds": {"log_loss": 2.5}}})
    assert config.promotion.thresholds["log_loss"] == 2.5
    with pytest.raises(ConfigError, match=r"promotion\.thresholds\.f1 must be <= 1"):
        load_config(overrides={"promotion": {"thresholds": {"f1": 1.5}}})


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"model": 5}, "model"),
        ({"model": "random_forest"}, "model"),
        ({"dataset": 5}, "dataset"),
    ],
)
def test_a_scalar_where_a_section_belongs_is_a_config_error(overrides, named):
    # `--set model=5` used to crash with AttributeError (exit 1, raw traceback).
    with pytest.raises(ConfigError, match=rf"\b{named}\b"):
        load_config(overrides=overrides)


def test_a_config_file_that_is_not_a_mapping_is_a_config_error(tmp_path: Path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
