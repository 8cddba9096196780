"""The folder where steps hand their outputs to the next step (locally or in one pod each)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model_contract import MODEL_FILE, REFERENCE_FILE, sha256_file


class StepOrderError(RuntimeError):
    """A step ran before the step whose output it needs."""


@dataclass(frozen=True)
class Workspace:
    """``root`` is the local folder steps read and write; ``location`` names it in messages
    when it is a copy of a remote workspace (``s3://...``)."""

    root: Path
    location: str = ""

    @property
    def where(self) -> str:
        return self.location or str(self.root)

    @property
    def dataset(self) -> Path:
        return self.root / "dataset.csv"

    @property
    def holdout(self) -> Path:
        return self.root / "holdout.csv"

    @property
    def model(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def reference(self) -> Path:
        return self.root / REFERENCE_FILE

    @property
    def confusion_matrix(self) -> Path:
        return self.root / "confusion_matrix.png"

    def write(self, step: str, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / f"{step}.json").write_text(json.dumps(data, indent=2, sort_keys=True))

    @property
    def incoming(self) -> Path:
        return self.root / "incoming.csv"

    def read_for(self, step: str, trained: dict[str, Any]) -> dict[str, Any]:
        """A step's output, refused unless it belongs to the run and model that train wrote."""
        data = self.read(step)
        for key in ("run_id", "model_sha256"):
            if data.get(key) != trained[key]:
                raise StepOrderError(
                    f"step '{step}' output in {self.where} belongs to run {data.get('run_id')} "
                    f"(model {str(data.get('model_sha256'))[:12]}), but train last wrote run "
                    f"{trained['run_id']} (model {trained['model_sha256'][:12]}); "
                    f"run '{step}' again"
                )
        return data

    def checked(self, path: Path, trained: dict[str, Any], key: str) -> Path:
        """``path`` if it still hashes to what train recorded under ``key``.

        The holdout decides evaluation and promotion and the reference decides the next
        drift check, so a file swapped after train must not be scored or registered.
        """
        expected = trained.get(key)
        actual = sha256_file(path) if path.is_file() else "missing"
        if actual != expected:
            raise StepOrderError(
                f"{path.name} in {self.where} is not the file train wrote for run "
                f"{trained['run_id']} (sha256 {actual[:12]}, expected {str(expected)[:12]}); "
                "run 'train' again"
            )
        return path

    def read(self, step: str) -> dict[str, Any]:
        path = self.root / f"{step}.json"
        if not path.is_file():
            raise StepOrderError(f"step '{step}' has not run in {self.where}; run it first")
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def clear(self, keep: Path | None = None) -> None:
        """Forget earlier outputs (all but ``keep``) so a new run cannot pick up stale results."""
        if self.root.is_dir():
            for path in self.root.iterdir():
                if path.is_file() and path != keep:
                    path.unlink()
