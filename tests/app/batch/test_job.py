"""Batch scoring: the API's answers for good rows, and each bad row named, never the job failed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.batch.cli import load_snapshot
from app.batch.job import output_columns, score_file
from app.batch.tables import TableError, open_input
from app.lifecycle.served_model import ServedModel
from app.wiring.settings import ApiSettings
from tests.app.conftest import Dataset
from tests.app.registry_double import InMemoryRegistry


@pytest.fixture
def model(api_settings: ApiSettings, registry: InMemoryRegistry) -> ServedModel:
    return load_snapshot(api_settings, registry)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_snapshot_is_the_registry_alias_loaded_as_the_server_loads_it(
    model: ServedModel, registry: InMemoryRegistry
) -> None:
    assert model.version.version == registry.aliases["champion"]
    assert model.compiled.engine == "numpy-linear"


@pytest.mark.parametrize("chunk_rows", [1, 7, 10_000])
def test_every_good_row_gets_the_models_answer(
    tmp_path: Path, model: ServedModel, dataset: Dataset, chunk_rows: int
) -> None:
    source = write_csv(tmp_path / "in.csv", dataset.names, dataset.holdout[:40].tolist())
    result = score_file(
        open_input(source),
        model,
        tmp_path / "out.csv",
        tmp_path / "errors.csv",
        chunk_rows=chunk_rows,
        extra="reject",
    )
    assert (result.rows, result.scored, result.refused) == (40, 40, 0)
    written = read_csv(tmp_path / "out.csv")
    expected = model.predict(dataset.holdout[:40])
    assert list(written[0]) == output_columns(model)
    assert [int(r["row"]) for r in written] == list(range(1, 41))
    assert [r["prediction"] for r in written] == [str(x) for x in expected.labels.tolist()]
    got = np.array([[float(r[c]) for c in output_columns(model)[2:]] for r in written])
    np.testing.assert_allclose(got, expected.probabilities, rtol=0, atol=1e-12)
    assert read_csv(tmp_path / "errors.csv") == []


def test_bad_rows_go_to_the_errors_file_by_row_and_column(
    tmp_path: Path, model: ServedModel, dataset: Dataset
) -> None:
    rows: list[list[Any]] = dataset.holdout[:6].tolist()
    first, second = dataset.names[0], dataset.names[3]
    rows[1][0] = "twelve"  # row 2: not a number
    rows[3][3] = ""  # row 4: a required value left empty
    rows[4][0] = 1e30  # row 5: far outside the training range
    source = write_csv(tmp_path / "in.csv", dataset.names, rows)
    progress: list[int] = []
    result = score_file(
        open_input(source),
        model,
        tmp_path / "out.csv",
        tmp_path / "errors.csv",
        chunk_rows=4,
        extra="reject",
        progress=progress.append,
    )
    assert (result.rows, result.scored, result.refused) == (6, 3, 3)
    assert progress == [4, 2]
    errors = read_csv(tmp_path / "errors.csv")
    assert [(e["row"], e["column"]) for e in errors] == [("2", first), ("4", second), ("5", first)]
    assert "not a number" in errors[0]["message"]
    assert "missing" in errors[1]["message"]
    good = [0, 2, 5]
    written = read_csv(tmp_path / "out.csv")
    assert [int(r["row"]) for r in written] == [i + 1 for i in good]
    expected = model.predict(dataset.holdout[good])
    got = np.array([float(r[output_columns(model)[-1]]) for r in written])
    np.testing.assert_allclose(got, expected.probabilities[:, -1], rtol=0, atol=1e-12)


def test_a_header_no_row_could_pass_refuses_the_file(
    tmp_path: Path, model: ServedModel, dataset: Dataset
) -> None:
    rows = dataset.holdout[:2].tolist()
    missing = write_csv(tmp_path / "missing.csv", dataset.names[1:], [r[1:] for r in rows])
    with pytest.raises(TableError, match="lacks required column"):
        score_file(
            open_input(missing),
            model,
            tmp_path / "o.csv",
            tmp_path / "e.csv",
            chunk_rows=10,
            extra="reject",
        )
    extra = write_csv(tmp_path / "extra.csv", ["id", *dataset.names], [["a", *r] for r in rows])
    with pytest.raises(TableError, match="--extra-columns ignore"):
        score_file(
            open_input(extra),
            model,
            tmp_path / "o.csv",
            tmp_path / "e.csv",
            chunk_rows=10,
            extra="reject",
        )
    result = score_file(
        open_input(extra),
        model,
        tmp_path / "o.csv",
        tmp_path / "e.csv",
        chunk_rows=10,
        extra="ignore",
    )
    assert result.scored == 2


def test_parquet_in_and_out(tmp_path: Path, model: ServedModel, dataset: Dataset) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({name: dataset.holdout[:25, j] for j, name in enumerate(dataset.names)})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=10)
    source = open_input(tmp_path / "in.parquet")
    assert source.total_rows == 25
    result = score_file(
        source,
        model,
        tmp_path / "out.parquet",
        tmp_path / "errors.csv",
        chunk_rows=10,
        extra="reject",
    )
    assert result.scored == 25
    written = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert written["row"] == list(range(1, 26))
    expected = model.predict(dataset.holdout[:25])
    column = output_columns(model)[-1]
    np.testing.assert_allclose(written[column], expected.probabilities[:, -1], rtol=0, atol=1e-12)


def test_csv_row_count_for_the_progress_bar(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "b.csv").write_text("x,y\n1,2\n3,4")
    (tmp_path / "c.csv").write_text("x,y\n")
    assert [open_input(tmp_path / f"{n}.csv").total_rows for n in "abc"] == [2, 2, 0]
