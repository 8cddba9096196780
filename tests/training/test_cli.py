"""The CLI as a data scientist or an Airflow pod uses it: one subcommand per step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from app.model_contract import CHAMPION, ArtifactError
from training import pipeline
from training.cli import cli, parse_overrides
from training.config import DEFAULT_CONFIG, ConfigError
from training.registry import RegistryError
from training.train import train

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_steps_one_by_one_reach_a_champion(mlsys_home: Path, tmp_path: Path):
    workdir = ["--workdir", str(tmp_path / "ws")]
    ingested = _invoke("ingest", *workdir)
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.stdout)["rows"] == 569
    assert "no violations" in _invoke("validate", *workdir).output
    assert json.loads(_invoke("train", *workdir).stdout)["run_id"]
    assert json.loads(_invoke("evaluate", *workdir).stdout)["roc_auc"] > 0.97
    assert "registered breast-cancer-classifier v1" in _invoke("register", *workdir).output
    promoted = _invoke("promote", *workdir)
    assert "PROMOTED to @champion" in promoted.output
    out = tmp_path / "req.json"
    assert _invoke("example-request", "--out", str(out)).exit_code == 0
    body = json.loads(out.read_text())
    assert len(body["rows"]) == 1 and len(body["rows"][0]) == 30


def test_a_step_out_of_order_says_what_to_run(mlsys_home: Path, tmp_path: Path):
    result = runner.invoke(cli, ["train", "--workdir", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "step 'ingest' has not run" in result.output


def test_invalid_dataset_exits_non_zero_with_every_violation(mlsys_home: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("mean_radius,target\nabc,0\n1.0,9\n")
    result = runner.invoke(
        cli, ["run", "--workdir", str(tmp_path / "ws"), "--set", f"dataset.uri={bad}"]
    )
    assert result.exit_code == 1
    for expected in ("missing column(s)", "row_count", "not float", "label_set"):
        assert expected in result.output
    assert not (mlsys_home / "mlflow.db").exists()


def test_bad_config_exits_2_naming_the_key(mlsys_home: Path):
    result = runner.invoke(cli, ["run", "--set", "split.test_size=2"])
    assert result.exit_code == 2
    assert "split.test_size" in result.output


def test_parse_overrides():
    assert parse_overrides(["a.b=1", "a.c=x", "d=[1, 2]"]) == {"a": {"b": 1, "c": "x"}, "d": [1, 2]}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["novalue"])


@pytest.mark.parametrize(
    "error",
    [
        ArtifactError("model holds untrusted types"),
        RegistryError("cannot resolve m@champion"),
        MlflowException("API request to http://mlflow failed"),
    ],
    ids=["artifact", "registry", "mlflow"],
)
def test_registry_and_artifact_failures_are_one_clear_message(
    error: Exception, mlsys_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "step_promote", fail)
    monkeypatch.setattr(pipeline, "example_request", fail)
    promoted = runner.invoke(cli, ["promote", "--workdir", str(tmp_path / "ws")])
    example = runner.invoke(cli, ["example-request", "--out", str(tmp_path / "req.json")])
    for result in (promoted, example):
        assert result.exit_code == 1
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.output.strip() == str(error)
    assert not (tmp_path / "req.json").exists()


def test_example_request_defaults_to_the_champion(mlsys_home: Path, tmp_path: Path, monkeypatch):
    asked = []

    def example(config, alias):
        asked.append(alias)
        return {"rows": [{"a": 1.0}]}

    monkeypatch.setattr(pipeline, "example_request", example)
    out = tmp_path / "req.json"
    result = _invoke("example-request", "--out", str(out))
    assert asked == [CHAMPION]
    assert f"@{CHAMPION}" in result.output
    assert json.loads(out.read_text()) == {"rows": [{"a": 1.0}]}


@pytest.mark.slow
def test_example_request_without_a_champion_says_to_run_the_pipeline(
    mlsys_home: Path, tmp_path: Path
):
    result = runner.invoke(cli, ["example-request", "--out", str(tmp_path / "req.json")])
    assert result.exit_code == 1
    assert "breast-cancer-classifier@champion is not set; run the pipeline first" in result.output


def test_help_names_the_exit_codes_and_the_environment():
    text = _invoke("--help").output
    for expected in (
        "Exit codes: 0",
        "2 the configuration is invalid",
        "MLSYS_HOME",
        "MLFLOW_TRACKING_URI",
        "MLSYS_DATASET_STORE",
    ):
        assert expected in " ".join(text.split()), expected


def test_a_missing_columns_file_exits_2_naming_the_key(mlsys_home: Path, tmp_path: Path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(DEFAULT_CONFIG.read_text().replace("dataset_columns.yaml", "nope.yaml"))
    result = runner.invoke(cli, ["ingest", "--config", str(config)])
    assert result.exit_code == 2
    assert "dataset.columns_file: cannot read" in result.output


@pytest.mark.slow
def test_no_promotion_on_borrowed_metrics(trained_home: Path, tmp_path: Path):
    """The sequence from issue 9: a weak model must not register with another run's metrics."""
    workdir = ["--workdir", str(tmp_path / "ws")]
    for step in ("ingest", "validate", "train", "evaluate"):
        assert _invoke(step, *workdir).exit_code == 0, step
    weak = _invoke("train", *workdir, "--set", "model.params.C=0.0005")
    assert weak.exit_code == 0
    weak_run = json.loads(weak.stdout)["run_id"]
    registered = runner.invoke(cli, ["register", *workdir])
    assert registered.exit_code == 1
    assert f"step 'evaluate' output in {tmp_path / 'ws'} belongs to run" in registered.output
    assert weak_run in registered.output
    promoted = runner.invoke(cli, ["promote", *workdir])
    assert promoted.exit_code == 1
    assert "step 'register' has not run" in promoted.output
    client = MlflowClient()
    assert [
        str(v.version) for v in client.search_model_versions("name='breast-cancer-classifier'")
    ] == ["1"]
    assert (
        str(client.get_model_version_by_alias("breast-cancer-classifier", CHAMPION).version) == "1"
    )
    # Evaluated now, the weak model registers honestly and promote refuses it on its own score.
    assert _invoke("evaluate", *workdir).exit_code == 0
    assert "registered breast-cancer-classifier v2" in _invoke("register", *workdir).output
    decision = _invoke("promote", *workdir).output
    assert "REJECTED" in decision and "below the threshold" in decision
    assert (
        str(client.get_model_version_by_alias("breast-cancer-classifier", CHAMPION).version) == "1"
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        # Used to crash with AttributeError and a raw traceback, exit 1.
        (["--set", "model=5"], "model"),
        # Each value is valid alone; scikit-learn refused the pair inside fit() (exit 1).
        (["--set", "model.params.l1_ratio=1.0"], "model.params"),
    ],
)
def test_bad_overrides_exit_2_with_one_line(
    mlsys_home: Path, monkeypatch: pytest.MonkeyPatch, overrides, named
):
    def train_small(config, ws):
        # Tiny in-memory data: the config error must surface without any data or registry.
        names = config.dataset.feature_names
        frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, len(names))), columns=names)
        frame[config.dataset.label] = [0, 1] * 20
        return train(frame, config.dataset, config.model, config.split.seed)

    monkeypatch.setattr(pipeline, "step_train", train_small)
    result = runner.invoke(cli, ["train", *overrides])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert named in result.output
    assert len(result.output.strip().splitlines()) == 1
