"""OIP v2 tensors become the feature matrix: one [N, F] tensor, or one tensor per column."""

from __future__ import annotations

import numpy as np
import pytest

from app.contract.open_inference import InferRequest, to_matrix
from app.http.errors import ApiError
from app.model_contract import InputColumn

COLUMNS = [InputColumn("a", "number"), InputColumn("b", "number")]


def _request(inputs, outputs=None) -> InferRequest:
    return InferRequest.model_validate({"inputs": inputs, "outputs": outputs})


def test_one_matrix_tensor_in_signature_order():
    request = _request([{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}])
    assert request.row_count() == 2
    np.testing.assert_array_equal(to_matrix(request, COLUMNS, "reject"), [[1, 2], [3, 4]])


def test_one_tensor_per_column_by_name():
    request = _request(
        [
            {"name": "b", "shape": [2], "datatype": "FP64", "data": [3, 4]},
            {"name": "a", "shape": [2, 1], "datatype": "FP64", "data": [[1], [2]]},
        ]
    )
    np.testing.assert_array_equal(to_matrix(request, COLUMNS, "reject"), [[1, 3], [2, 4]])


def test_mismatched_shapes_are_refused():
    request = _request(
        [
            {"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 2]},
            {"name": "b", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]},
        ]
    )
    with pytest.raises(ApiError, match="same shape"):
        to_matrix(request, COLUMNS, "reject")


def test_outputs_default_to_both_and_unknown_ones_are_refused():
    tensor = [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]
    assert _request(tensor).wanted_outputs() == ["label", "probabilities"]
    with pytest.raises(ApiError, match="unknown output"):
        _request(tensor, [{"name": "logits"}]).wanted_outputs()


def _refusal(tensor: dict) -> ApiError:
    with pytest.raises(ApiError) as refused:
        to_matrix(_request([tensor]), COLUMNS, "reject")
    assert refused.value.status == 422
    return refused.value


@pytest.mark.parametrize(
    ("shape", "data"),
    [
        ([2, 2], [[1, 2], [3]]),  # ragged rows gave a 500 from numpy
        ([2, 2], [[1, 2, 3], [4]]),  # ragged, with the right total count
        ([2, 2], [[1, 2]]),  # too few rows
        ([1, 2], [[1, 2], [3, 4]]),  # more rows than declared
        ([2, 2], [1, 2, 3]),  # flat, too short
    ],
)
def test_data_that_does_not_fit_its_shape_is_refused_naming_the_tensor(shape, data):
    error = _refusal({"name": "x", "shape": shape, "datatype": "FP64", "data": data})
    assert error.details[0].field == "inputs[0].data"
    assert "'x'" in error.details[0].message


@pytest.mark.parametrize(
    ("datatype", "inside", "outside"),
    [
        ("UINT8", [0, 255], [-5, 256]),
        ("UINT16", [0, 65535], [-1, 65536]),
        ("UINT32", [0, 2**32 - 1], [-1, 2**32]),
        ("UINT64", [0, 2**63], [-1, 2**64]),
        ("INT8", [-128, 127], [-129, 128]),
        ("INT16", [-(2**15), 2**15 - 1], [-(2**15) - 1, 2**15]),
        ("INT32", [-(2**31), 2**31 - 1], [-(2**31) - 1, 2**31]),
        ("INT64", [-(2**63), 2**62], [-(2**64), 2**64]),
        ("FP16", [-65504.0, 65504.0], [-70000.0, 1e300]),
        ("FP32", [-3.4e38, 3.4e38], [-3.5e38, 1e300]),
    ],
)
def test_every_datatype_is_range_checked(datatype, inside, outside):
    fits = _request([{"name": "x", "shape": [1, 2], "datatype": datatype, "data": inside}])
    assert to_matrix(fits, COLUMNS, "ignore").shape == (1, 2)
    for value in outside:
        tensor = {"name": "x", "shape": [1, 2], "datatype": datatype, "data": [0, value]}
        error = _refusal(tensor)
        assert error.details[0].field == "inputs[0].data"
        assert datatype in error.details[0].message and "'x'" in error.details[0].message


def test_bool_tensors_hold_booleans_only():
    request = _request([{"name": "x", "shape": [1, 2], "datatype": "BOOL", "data": [True, False]}])
    np.testing.assert_array_equal(to_matrix(request, COLUMNS, "reject"), [[1, 0]])
    error = _refusal({"name": "x", "shape": [1, 2], "datatype": "BOOL", "data": [1, 0]})
    assert "BOOL" in error.details[0].message
    error = _refusal({"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [True, False]})
    assert error.details[0].field == "inputs[0].data"
