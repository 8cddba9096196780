"""``python -m app.batch``: exit status says whether every row was scored."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.batch import cli as batch_cli
from app.lifecycle.served_model import ServedModel
from app.wiring.settings import ApiSettings
from tests.app.conftest import Dataset
from tests.app.registry_double import InMemoryRegistry


@pytest.fixture(autouse=True)
def registry_double(
    monkeypatch: pytest.MonkeyPatch, api_settings: ApiSettings, registry: InMemoryRegistry
) -> None:
    """The command's own settings, but the model comes from the in-memory registry."""
    real = batch_cli.load_snapshot

    def load(settings: ApiSettings, _: object = None) -> ServedModel:
        assert settings.auth_enabled is False  # the job needs no API keys
        trusted = settings.model_copy(
            update={"model_signing_public_key_file": api_settings.model_signing_public_key_file}
        )
        return real(trusted, registry)

    monkeypatch.setattr(batch_cli, "load_snapshot", load)


def _input(tmp_path: Path, dataset: Dataset, bad_row: bool) -> Path:
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(dataset.names)
        writer.writerows(dataset.holdout[:5].tolist())
        if bad_row:
            writer.writerow(["x"] * len(dataset.names))
    return path


@pytest.mark.parametrize(("bad_row", "status"), [(False, 0), (True, 1)])
def test_exit_status_and_files(
    tmp_path: Path, dataset: Dataset, bad_row: bool, status: int
) -> None:
    source = _input(tmp_path, dataset, bad_row)
    out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(
        batch_cli.cli, ["--input", str(source), "--output", str(out), "--no-progress"]
    )
    assert result.exit_code == status, result.output
    assert len(out.read_text().splitlines()) == 6
    errors = (tmp_path / "predictions.errors.csv").read_text().splitlines()
    assert len(errors) == 1 + (len(dataset.names) if bad_row else 0)
    assert "5 of" in result.output


def test_nothing_is_done_for_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        batch_cli.cli, ["--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "is not a file" in result.output
    assert not (tmp_path / "o.csv").exists()
