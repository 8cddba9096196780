"""Batch scoring: a file in, predictions out, through the API's contract and one snapshot.

Rows are validated by the same input contract as ``/v1/predict`` (app/contract/input_matrix.py)
and scored by one ``ServedModel`` loaded the way the server loads it (signed manifest, hashes,
a probe process), so an offline job and the API cannot disagree about a row. A bad row does
not fail the job: it goes to the errors file, one line per problem naming its row and column,
and the job ends with exit status 1 so a pipeline notices.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from app.batch.tables import Cell, InputTable, OutputTable, TableError
from app.contract.input_matrix import from_records
from app.http.errors import ApiError
from app.lifecycle.served_model import ServedModel

ERROR_COLUMNS = ["row", "column", "message"]
_ROW_FIELD = re.compile(r"^rows\[\d+\]\.?(?P<column>.*)$")
Extra = Literal["reject", "ignore"]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class JobResult:
    rows: int
    scored: int
    refused: int  # rows, each with one or more lines in the errors file


@dataclass(frozen=True)
class _Problem:
    row: int
    column: str
    message: str


def check_header(columns: list[str], model: ServedModel, extra: Extra) -> None:
    """Refuse the whole file when no row could pass: a required column absent, or unknown ones."""
    present = set(columns)
    missing = [c.name for c in model.columns if c.required and c.name not in present]
    if missing:
        raise TableError(f"the file lacks required column(s) {missing}")
    unknown = sorted(present - set(model.feature_names))
    if unknown and extra == "reject":
        raise TableError(
            f"column(s) {unknown} are not in the model signature; pass --extra-columns ignore "
            "to score the file anyway"
        )


def _numbers(
    cells: dict[str, Cell], number: int, wanted: set[str]
) -> tuple[dict[str, float], list[_Problem]]:
    """A row as the JSON contract sees it: missing cells are absent keys, text must parse."""
    row: dict[str, float] = {}
    problems: list[_Problem] = []
    for name, cell in cells.items():
        # Unknown columns were refused with the header unless they are to be ignored.
        if cell is None or cell == "" or name not in wanted:
            continue
        try:
            row[name] = float(cell)
        except (TypeError, ValueError):
            problems.append(_Problem(number, name, f"not a number: {str(cell)[:40]!r}"))
    return row, problems


def _problems_of(error: ApiError, number: int) -> list[_Problem]:
    found = []
    for detail in error.details:
        match = _ROW_FIELD.match(detail.field or "")
        found.append(_Problem(number, match["column"] if match else "", detail.message))
    return found or [_Problem(number, "", error.message)]


def _validate(
    chunk: list[dict[str, Cell]], first: int, model: ServedModel, extra: Extra
) -> tuple[np.ndarray, list[int], list[_Problem]]:
    """The chunk's accepted rows as a matrix, their row numbers, and the refused rows' problems."""
    wanted = set(model.feature_names)
    rows, numbers, problems = [], [], []
    for offset, cells in enumerate(chunk):
        row, row_problems = _numbers(cells, first + offset, wanted)
        if row_problems:
            problems += row_problems
        else:
            rows.append(row)
            numbers.append(first + offset)
    if not rows:
        return np.empty((0, len(model.columns))), [], problems
    try:
        return from_records(rows, model.columns, extra), numbers, problems
    except ApiError:
        pass
    # Some row broke the contract: check each alone so only the bad ones are left out.
    good_rows, good_numbers = [], []
    for row, number in zip(rows, numbers, strict=True):
        try:
            from_records([row], model.columns, extra)
        except ApiError as exc:
            problems += _problems_of(exc, number)
            continue
        good_rows.append(row)
        good_numbers.append(number)
    matrix = (
        from_records(good_rows, model.columns, extra)
        if good_rows
        else np.empty((0, len(model.columns)))
    )
    return matrix, good_numbers, problems


def output_columns(model: ServedModel) -> list[str]:
    return ["row", "prediction", *(f"probability_{name}" for name in model.class_names)]


def score_file(
    table: InputTable,
    model: ServedModel,
    output: Path,
    errors: Path,
    *,
    chunk_rows: int,
    extra: Extra,
    progress: Progress | None = None,
) -> JobResult:
    """Stream ``table`` through ``model`` in chunks of ``chunk_rows``; rows are numbered from 1."""
    check_header(table.columns, model, extra)
    total = scored = 0
    refused: set[int] = set()
    with (
        OutputTable(output, output_columns(model)) as out,
        errors.open("w", newline="") as error_handle,
    ):
        error_writer = csv.writer(error_handle)
        error_writer.writerow(ERROR_COLUMNS)
        for chunk in table.chunks(chunk_rows):
            matrix, numbers, problems = _validate(chunk, total + 1, model, extra)
            lines: list[list[object]] = []
            if len(numbers):
                result = model.predict(matrix)
                finite = np.isfinite(result.probabilities).all(axis=1)
                labels = result.labels.tolist()
                probabilities = result.probabilities.tolist()
                for i, number in enumerate(numbers):
                    if finite[i]:
                        lines.append([number, labels[i], *probabilities[i]])
                    else:
                        problems.append(_Problem(number, "", "the model cannot score this row"))
            out.write(lines)
            error_writer.writerows([p.row, p.column, p.message] for p in problems)
            refused.update(p.row for p in problems)
            scored += len(lines)
            total += len(chunk)
            if progress is not None:
                progress(len(chunk))
    return JobResult(rows=total, scored=scored, refused=len(refused))
