"""Workspace: the hand-over folder between steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model_contract import MODEL_FILE, REFERENCE_FILE, sha256_file
from training.workspace import StepOrderError, Workspace


def test_outputs_round_trip_and_use_the_contract_names(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    ws.write("ingest", {"rows": 3, "sha256": "abc"})
    assert ws.read("ingest") == {"rows": 3, "sha256": "abc"}
    assert ws.model.name == MODEL_FILE
    assert ws.reference.name == REFERENCE_FILE
    assert {ws.dataset.parent, ws.holdout.parent, ws.confusion_matrix.parent} == {ws.root}


def test_reading_a_step_that_has_not_run_says_which(tmp_path: Path):
    with pytest.raises(StepOrderError, match=r"step 'train' has not run in .*; run it first"):
        Workspace(tmp_path / "ws").read("train")


def test_clear_forgets_files_but_keeps_folders(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    ws.write("ingest", {})
    ws.dataset.write_text("a\n1\n")
    (ws.root / "registered-model").mkdir()
    ws.clear()
    assert [path.name for path in ws.root.iterdir()] == ["registered-model"]
    Workspace(tmp_path / "never-created").clear()


def test_an_output_of_another_run_or_model_is_refused(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    trained = {"run_id": "run-b", "model_sha256": "b" * 64}
    ws.write("evaluate", {"run_id": "run-a", "model_sha256": "a" * 64, "metrics": {}})
    with pytest.raises(StepOrderError, match=r"belongs to run run-a .* train last wrote run run-b"):
        ws.read_for("evaluate", trained)
    ws.write("evaluate", {"run_id": "run-b", "model_sha256": "a" * 64, "metrics": {}})
    with pytest.raises(StepOrderError, match=r"model aaaaaaaaaaaa"):
        ws.read_for("evaluate", trained)
    ws.write("evaluate", {**trained, "metrics": {"f1": 1.0}})
    assert ws.read_for("evaluate", trained)["metrics"] == {"f1": 1.0}


def test_clear_can_keep_one_file(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    ws.write("ingest", {})
    ws.incoming.write_text("a\n1\n")
    ws.clear(keep=ws.incoming)
    assert [path.name for path in ws.root.iterdir()] == [ws.incoming.name]


def test_a_file_changed_after_train_is_refused(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    ws.holdout.write_text("f0,target\n1.0,0\n2.0,1\n")
    trained = {"run_id": "r1", "holdout_sha256": sha256_file(ws.holdout)}
    assert ws.checked(ws.holdout, trained, "holdout_sha256") == ws.holdout
    # Dropping the rows the model gets wrong would inflate evaluate and promote alike.
    ws.holdout.write_text("f0,target\n2.0,1\n")
    with pytest.raises(StepOrderError, match=r"holdout\.csv .* not the file train wrote"):
        ws.checked(ws.holdout, trained, "holdout_sha256")
    ws.holdout.unlink()
    with pytest.raises(StepOrderError, match="sha256 missing"):
        ws.checked(ws.holdout, trained, "holdout_sha256")
