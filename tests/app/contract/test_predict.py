"""The /v1/predict body: one layout at a time, strict finite numbers, a row count."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.contract.predict import PredictRequest


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rows": [], "columns": ["a"], "data": [[1.0]]},
        {"columns": ["a"]},
        {"rows": [{"a": True}]},
    ],
)
def test_invalid_layouts_and_values_are_refused(body):
    with pytest.raises(ValidationError):
        PredictRequest.model_validate(body)


def test_row_count_for_both_layouts():
    assert PredictRequest.model_validate({"rows": [{"a": 1.0}] * 3}).row_count() == 3
    split = PredictRequest.model_validate({"columns": ["a"], "data": [[1.0], [2.0]]})
    assert split.row_count() == 2
