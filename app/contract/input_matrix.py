"""The input contract: turns validated rows into the model's feature matrix, per its signature."""

from __future__ import annotations

from operator import itemgetter
from typing import Literal

import numpy as np

from app.contract.predict import PredictRequest
from app.http.errors import ApiError, ErrorDetail
from app.model_contract import InputColumn

MAX_REPORTED = 50


def _refuse(details: list[ErrorDetail]) -> ApiError:
    extra = len(details) - MAX_REPORTED
    shown = details[:MAX_REPORTED]
    if extra > 0:
        shown.append(ErrorDetail(field=None, message=f"... and {extra} more problem(s)"))
    return ApiError(422, "invalid_input", "input does not match the model signature", shown)


def _check_integers(
    matrix: np.ndarray, columns: list[InputColumn], prefix: str
) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for j, column in enumerate(columns):
        if column.kind == "integer":
            for i in np.flatnonzero(np.mod(matrix[:, j], 1) != 0):
                details.append(
                    ErrorDetail(
                        field=f"{prefix}[{i}].{column.name}", message="value must be an integer"
                    )
                )
    return details


def from_records(
    rows: list[dict[str, float]], columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    names = [c.name for c in columns]
    pick = itemgetter(*names)
    try:
        values = [pick(row) for row in rows]
    except KeyError:
        return _from_records_with_problems(rows, columns, extra)
    if extra == "reject" and any(len(row) != len(names) for row in rows):
        # Every name was found, so a longer row can only mean columns we do not know.
        return _from_records_with_problems(rows, columns, extra)
    matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(names))
    problems = _check_integers(matrix, columns, "rows")
    if problems:
        raise _refuse(problems)
    return matrix


def _from_records_with_problems(
    rows: list[dict[str, float]], columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    """The slow path: walk every row to name each missing or unknown column."""
    names = [c.name for c in columns]
    known = set(names)
    details: list[ErrorDetail] = []
    matrix = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, row in enumerate(rows):
        # Optional columns the client left out reach the model as NaN.
        matrix[i] = [row.get(name, np.nan) for name in names]
        details.extend(
            ErrorDetail(field=f"rows[{i}].{c.name}", message="required column is missing")
            for c in columns
            if c.required and c.name not in row
        )
        if extra == "reject" and not known.issuperset(row):
            details.extend(
                ErrorDetail(
                    field=f"rows[{i}].{key}", message="column is not in the model signature"
                )
                for key in row
                if key not in known
            )
    details.extend(_check_integers(matrix, columns, "rows"))
    if details:
        raise _refuse(details)
    return matrix


def from_split(
    request_columns: list[str],
    data: list[list[float]],
    columns: list[InputColumn],
    extra: Literal["reject", "ignore"],
) -> np.ndarray:
    details: list[ErrorDetail] = []
    position = {name: j for j, name in enumerate(request_columns)}
    if len(position) != len(request_columns):
        details.append(ErrorDetail(field="columns", message="column names must be unique"))
    details.extend(
        ErrorDetail(field=f"columns.{c.name}", message="required column is missing")
        for c in columns
        if c.required and c.name not in position
    )
    known = {c.name for c in columns}
    if extra == "reject":
        details.extend(
            ErrorDetail(field=f"columns.{name}", message="column is not in the model signature")
            for name in request_columns
            if name not in known
        )
    details.extend(
        ErrorDetail(
            field=f"data[{i}]",
            message=f"row has {len(row)} values, expected {len(request_columns)}",
        )
        for i, row in enumerate(data)
        if len(row) != len(request_columns)
    )
    if details:
        raise _refuse(details)
    raw = np.asarray(data, dtype=np.float64).reshape(len(data), len(request_columns))
    matrix = np.full((len(data), len(columns)), np.nan, dtype=np.float64)
    for j, column in enumerate(columns):
        if column.name in position:
            matrix[:, j] = raw[:, position[column.name]]
    integer_problems = _check_integers(matrix, columns, "data")
    if integer_problems:
        raise _refuse(integer_problems)
    return matrix


def to_matrix(
    request: PredictRequest, columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    if request.rows is not None:
        return from_records(request.rows, columns, extra)
    # PredictRequest's validator guarantees both are present when rows is absent.
    return from_split(request.columns or [], request.data or [], columns, extra)
