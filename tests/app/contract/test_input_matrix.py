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


# Per-feature bounds (issue 8, part 4): refused before the model sees them, by field and row.
BOUNDED = [
    InputColumn("a", "number", low=-10.0, high=20.0),
    InputColumn("n", "integer", low=0.0, high=5.0),
    InputColumn("o", "number", False, low=-1.0, high=1.0),
]


def test_values_on_the_bounds_are_accepted_and_missing_optional_ones_are_not_checked():
    matrix = from_records(
        [{"a": -10.0, "n": 5.0}, {"a": 20.0, "n": 0.0, "o": 1.0}], BOUNDED, "reject"
    )
    np.testing.assert_array_equal(matrix[:, :2], [[-10.0, 5.0], [20.0, 0.0]])
    assert np.isnan(matrix[0, 2])


@pytest.mark.parametrize("layout", ["records", "split"])
def test_values_past_the_bounds_are_refused_naming_field_and_row(layout):
    rows = [{"a": 1.0, "n": 1.0, "o": 0.0}, {"a": 20.5, "n": 1.0, "o": -1.5}, {"a": 0.0, "n": 6.0}]
    names = ["a", "n", "o"]
    data = [[r.get(k, 0.0) for k in names] for r in rows]
    build = (
        (lambda: from_records(rows, BOUNDED, "reject"))
        if layout == "records"
        else (lambda: from_split(names, data, BOUNDED, "reject"))
    )
    with pytest.raises(ApiError) as refused:
        build()
    assert refused.value.status == 422 and refused.value.code == "invalid_input"
    prefix = "rows" if layout == "records" else "data"
    details = refused.value.details
    assert [d.field for d in details] == [f"{prefix}[1].a", f"{prefix}[1].o", f"{prefix}[2].n"]
    assert details[0].message.startswith("value must be within [-10, 20]")
    assert details[0].message.endswith("the bounds this model takes")


def test_a_value_past_float32_says_so_even_when_bounds_are_narrower():
    with pytest.raises(ApiError) as refused:
        from_records([{"a": 1e39, "n": 1.0}], BOUNDED, "reject")
    [detail] = refused.value.details
    assert detail.field == "rows[0].a" and "float32" in detail.message


def test_a_fraction_outside_the_bounds_is_reported_once():
    with pytest.raises(ApiError) as refused:
        from_records([{"a": 1.0, "n": 7.5}], BOUNDED, "reject")
    assert [(d.field, "within" in d.message) for d in refused.value.details] == [
        ("rows[0].n", True)
    ]


def test_bound_problems_are_capped():
    with pytest.raises(ApiError) as refused:
        from_records([{"a": 99.0, "n": 9.0}] * 40, BOUNDED, "reject")
    details = refused.value.details
    assert len(details) == MAX_REPORTED + 1 and details[-1].message == "... and 30 more problem(s)"
