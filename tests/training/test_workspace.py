"""Workspace: the hand-over folder between steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model_contract import MODEL_FILE, REFERENCE_FILE
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
