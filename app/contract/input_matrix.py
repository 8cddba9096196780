"""The input contract: turns validated rows into the model's feature matrix, per its signature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

import numpy as np

from app.contract.predict import PredictRequest
from app.http.errors import ApiError, ErrorDetail
from app.model_contract import FLOAT32_MAX, InputColumn

MAX_REPORTED = 50
_OUT_OF_RANGE = f"value must be within +/-{FLOAT32_MAX:.7g} (finite as float32)"


def _refuse(details: list[ErrorDetail], more: int = 0) -> ApiError:
    shown = details[:MAX_REPORTED]
    more += len(details) - len(shown)
    if more > 0:
        shown.append(ErrorDetail(field=None, message=f"... and {more} more problem(s)"))
    return ApiError(422, "invalid_input", "input does not match the model signature", shown)


def _cell_details(
    mask: np.ndarray,
    columns: list[InputColumn],
    prefix: str,
    message: Callable[[int, int], str],
    room: int,
) -> tuple[list[ErrorDetail], int]:
    """Details for the first ``room`` flagged cells, row by row, and how many were left out."""
    cells = np.argwhere(mask)
    shown = [
        ErrorDetail(field=f"{prefix}[{i}].{columns[j].name}", message=message(i, j))
        for i, j in cells[: max(room, 0)].tolist()
    ]
    return shown, len(cells) - len(shown)


@dataclass(frozen=True)
class _Rules:
    """What a signature demands of each column, as arrays to compare a whole matrix with."""

    integer: np.ndarray | None  # None: no integer columns
    low: np.ndarray
    high: np.ndarray
    range_messages: list[str]


def _range_message(column: InputColumn) -> str:
    if column.low <= -FLOAT32_MAX and column.high >= FLOAT32_MAX:
        return _OUT_OF_RANGE
    return (
        f"value must be within [{column.low:.7g}, {column.high:.7g}], the bounds this model takes"
    )


def _rules(columns: list[InputColumn]) -> _Rules:
    """The rules of a signature list, computed once per list (served models keep theirs)."""
    cached = _RULES.get(id(columns))
    if cached is not None and cached[0] is columns:
        return cached[1]
    integer = np.array([c.kind == "integer" for c in columns])
    rules = _Rules(
        integer if integer.any() else None,
        np.array([c.low for c in columns], dtype=np.float64),
        np.array([c.high for c in columns], dtype=np.float64),
        [_range_message(c) for c in columns],
    )
    if len(_RULES) > 16:  # models change rarely; never let the cache grow
        _RULES.clear()
    _RULES[id(columns)] = (columns, rules)
    return rules


_RULES: dict[int, tuple[list[InputColumn], _Rules]] = {}


def _check_values(matrix: np.ndarray, columns: list[InputColumn], prefix: str) -> None:
    """Integers where the signature wants them, and every value within its column's bounds."""
    rules = _rules(columns)
    # NaN (a missing optional column) compares False: it is not out of range.
    if rules.integer is None and not (matrix < rules.low).any() and not (matrix > rules.high).any():
        return
    outside = (matrix < rules.low) | (matrix > rules.high)
    fractional = (np.mod(matrix, 1) != 0) & rules.integer if rules.integer is not None else None
    if not outside.any() and (fractional is None or not fractional.any()):
        return

    def out_of_range(i: int, j: int) -> str:
        # Past float32 no model can take it, whatever the margin says: name that reason.
        return _OUT_OF_RANGE if abs(matrix[i, j]) > FLOAT32_MAX else rules.range_messages[j]

    details, more = _cell_details(outside, columns, prefix, out_of_range, MAX_REPORTED)
    if fractional is not None:
        extra, left = _cell_details(
            fractional & ~outside,
            columns,
            prefix,
            lambda _i, _j: "value must be an integer",
            MAX_REPORTED - len(details),
        )
        details, more = details + extra, more + left
    raise _refuse(details, more)


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
    _check_values(matrix, columns, "rows")
    return matrix


def _from_records_with_problems(
    rows: list[dict[str, float]], columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    """The slow path: walk every row to name each missing or unknown column."""
    names = [c.name for c in columns]
    known = set(names)
    required = [c.name for c in columns if c.required]
    details: list[ErrorDetail] = []
    more = 0  # problems counted but not described: details are capped before they are built
    matrix = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, row in enumerate(rows):
        # Optional columns the client left out reach the model as NaN.
        matrix[i] = [row.get(name, np.nan) for name in names]
        missing = [name for name in required if name not in row]
        unknown = (
            [key for key in row if key not in known]
            if extra == "reject" and not known.issuperset(row)
            else []
        )
        room = MAX_REPORTED - len(details)
        found = [(name, "required column is missing") for name in missing] + [
            (key, "column is not in the model signature") for key in unknown
        ]
        details.extend(ErrorDetail(field=f"rows[{i}].{n}", message=m) for n, m in found[:room])
        more += max(len(found) - max(room, 0), 0)
    if details:
        raise _refuse(details, more)
    _check_values(matrix, columns, "rows")
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
    width = len(request_columns)
    ragged = [i for i, row in enumerate(data) if len(row) != width]
    details.extend(
        ErrorDetail(field=f"data[{i}]", message=f"row has {len(data[i])} values, expected {width}")
        for i in ragged[:MAX_REPORTED]
    )
    if details:
        raise _refuse(details, max(len(ragged) - MAX_REPORTED, 0))
    raw = np.asarray(data, dtype=np.float64).reshape(len(data), len(request_columns))
    matrix = np.full((len(data), len(columns)), np.nan, dtype=np.float64)
    for j, column in enumerate(columns):
        if column.name in position:
            matrix[:, j] = raw[:, position[column.name]]
    _check_values(matrix, columns, "data")
    return matrix


def to_matrix(
    request: PredictRequest, columns: list[InputColumn], extra: Literal["reject", "ignore"]
) -> np.ndarray:
    decoded = request.decoded_matrix
    if decoded is not None:
        _check_values(decoded, columns, "rows")
        return decoded
    if request.rows is not None:
        return from_records(request.rows, columns, extra)
    # PredictRequest's validator guarantees both are present when rows is absent.
    return from_split(request.columns or [], request.data or [], columns, extra)
