"""Steps run again out of order, as a retried cluster pod would run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from training.pipeline import step_evaluate, step_promote, step_register, step_train
from training.tracking import configure
from training.workspace import StepOrderError, Workspace

pytestmark = pytest.mark.slow
NAME = "breast-cancer-classifier"


def _versions(config) -> list[str]:
    configure(config.experiment)
    return sorted(v.version for v in MlflowClient().search_model_versions(f"name='{NAME}'"))


def test_register_again_for_the_same_run_adds_no_version(trained_home: Path, config):
    # A retried register pod used to create a second version from the same run and model,
    # so promote compared a model against itself and the registry filled with copies.
    before = _versions(config)
    again = step_register(config, Workspace(trained_home / "work"))
    assert _versions(config) == before
    assert str(again.version) == str(before[-1])


@pytest.mark.parametrize("step", [step_evaluate, step_promote])
def test_a_holdout_trimmed_after_train_is_refused(trained_home: Path, config, step):
    # Dropping the rows the model gets wrong used to inflate evaluate and promote alike.
    ws = Workspace(trained_home / "work")
    ws.holdout.write_text(ws.holdout.read_text().rsplit("\n", 3)[0] + "\n")
    with pytest.raises(StepOrderError, match=r"holdout\.csv .* not the file train wrote"):
        step(config, ws)


@pytest.mark.parametrize("dirty", ["false", "true"])
def test_a_reference_edited_after_train_is_not_registered(
    trained_home: Path, config, dirty: str, monkeypatch: pytest.MonkeyPatch
):
    # The registered reference is the next run's drift baseline: an edited one hid drift.
    # A clean tree takes the "unchanged re-run" shortcut, which must check the files too.
    monkeypatch.setenv("GIT_DIRTY", dirty)
    ws = Workspace(trained_home / "work")
    step_train(config, ws)
    step_evaluate(config, ws)
    ws.reference.write_text(ws.reference.read_text().replace('"rows"', '"rows" ', 1))
    with pytest.raises(StepOrderError, match=r"reference_stats\.json .* not the file train wrote"):
        step_register(config, ws)
