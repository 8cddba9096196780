"""The input contract: rows become a matrix in signature order, or every problem is named."""

from __future__ import annotations

import numpy as np
import pytest

from app.contract.input_matrix import MAX_REPORTED, from_records, from_split
from app.http.errors import ApiError
from app.model_contract import InputColumn

COLUMNS = [
    InputColumn("a", "number"),
    InputColumn("n", "integer"),
    InputColumn("o", "number", False),
]


def test_records_come_out_in_signature_order_with_optional_columns_as_nan():
    matrix = from_records([{"n": 2.0, "a": 1.0}], COLUMNS, "reject")
    np.testing.assert_array_equal(matrix[:, :2], [[1.0, 2.0]])
    assert np.isnan(matrix[0, 2])


def test_integer_columns_refuse_fractions():
    with pytest.raises(ApiError) as refused:
        from_records([{"a": 1.0, "n": 2.5, "o": 0.0}], COLUMNS, "reject")
    assert [d.field for d in refused.value.details] == ["rows[0].n"]


def test_unknown_columns_are_refused_or_ignored():
    row = {"a": 1.0, "n": 2.0, "o": 3.0, "zz": 4.0}
    with pytest.raises(ApiError, match="model signature"):
        from_records([row], COLUMNS, "reject")
    assert from_records([row], COLUMNS, "ignore").shape == (1, 3)


def test_split_reorders_columns_and_reports_missing_ones():
    matrix = from_split(["n", "a"], [[2.0, 1.0]], COLUMNS, "reject")
    np.testing.assert_array_equal(matrix[:, :2], [[1.0, 2.0]])
    with pytest.raises(ApiError) as refused:
        from_split(["o"], [[1.0]], COLUMNS, "reject")
    assert [d.field for d in refused.value.details] == ["columns.a", "columns.n"]


def test_reported_problems_are_capped():
    with pytest.raises(ApiError) as refused:
        from_records([{}] * 60, [InputColumn("a", "number")], "reject")
    details = refused.value.details
    assert len(details) == MAX_REPORTED + 1 and "10 more" in details[-1].message
