"""A scoring body model must say how it counts rows, or it cannot be built."""

from __future__ import annotations

import pytest

from app.contract.scoring_request import ScoringRequest


def test_a_body_model_without_row_counting_cannot_be_instantiated():
    class NoCount(ScoringRequest):
        value: int = 1

    with pytest.raises(TypeError, match="abstract"):
        NoCount()
