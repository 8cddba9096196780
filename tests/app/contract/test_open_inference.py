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
