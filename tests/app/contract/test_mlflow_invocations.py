"""MLflow's four input formats all become one table, with one row count."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.contract.mlflow_invocations import InvocationsRequest, Table
from app.http.errors import ApiError


@pytest.mark.parametrize(
    ("body", "table"),
    [
        ({"dataframe_split": {"columns": ["a"], "data": [[1.0]]}}, Table(None, ["a"], [[1.0]])),
        ({"dataframe_records": [{"a": 1.0}]}, Table(records=[{"a": 1.0}])),
        ({"instances": [[1.0], [2.0]]}, Table(data=[[1.0], [2.0]])),
        (
            {"inputs": {"a": [1.0, 2.0], "b": [3.0, 4.0]}},
            Table(None, ["a", "b"], [[1.0, 3.0], [2.0, 4.0]]),
        ),
    ],
)
def test_every_format_becomes_a_table(body, table):
    request = InvocationsRequest.model_validate(body)
    assert request.table == table
    assert request.row_count() == len(table.records or table.data or [])


def test_exactly_one_format_is_accepted():
    with pytest.raises(ValidationError, match="exactly one"):
        InvocationsRequest.model_validate({"instances": [], "inputs": []})


def test_ragged_columns_are_refused_as_invalid_input():
    request = InvocationsRequest.model_validate({"inputs": {"a": [1.0], "b": [1.0, 2.0]}})
    with pytest.raises(ApiError) as refused:
        request.row_count()
    assert refused.value.code == "invalid_input"
