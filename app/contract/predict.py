"""The /v1/predict body: rows as records or as columns plus data, and the prediction answer."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field, PrivateAttr, model_validator
from typing_extensions import TypedDict

from app.contract.scoring_request import Number, ScoringRequest, length


class PredictRequest(ScoringRequest):
    """Rows either as records (``rows``) or as ``columns`` plus ``data``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"rows": [{"mean_radius": 14.1, "mean_texture": 19.3}]},
                {"columns": ["mean_radius", "mean_texture"], "data": [[14.1, 19.3]]},
            ]
        },
    )

    rows: list[dict[str, Number]] | None = Field(
        default=None, description="One object per row, keyed by column name."
    )
    columns: list[str] | None = Field(default=None, description="Column names for `data`.")
    data: list[list[Number]] | None = Field(
        default=None, description="Rows as arrays, in the order of `columns`."
    )

    # Set instead of ``rows`` when the body was decoded straight into the served model's
    # matrix (app/contract/records_decoder.py); still checked against its bounds.
    _matrix: np.ndarray | None = PrivateAttr(default=None)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> PredictRequest:
        """A records body the decoder already turned into the model's matrix."""
        request = cls.model_construct()
        request._matrix = matrix
        return request

    @property
    def decoded_matrix(self) -> np.ndarray | None:
        return self._matrix

    @model_validator(mode="after")
    def _one_layout(self) -> PredictRequest:
        records = self.rows is not None
        split = self.columns is not None or self.data is not None
        if records == split:
            raise ValueError("send either 'rows' or 'columns' with 'data'")
        if split and (self.columns is None or self.data is None):
            raise ValueError("'columns' and 'data' must be sent together")
        return self

    def row_count(self) -> int:
        if self._matrix is not None:
            return len(self._matrix)
        return len(self.rows) if self.rows is not None else len(self.data or [])

    @classmethod
    def raw_row_count(cls, raw: Any) -> int:
        return max(length(raw.get("rows")), length(raw.get("data"))) if isinstance(raw, dict) else 0


# Response bodies of the scoring routes are TypedDicts: the handler builds the data, mypy
# checks its shape, pydantic documents it, and orjson writes it without re-validating.
class PredictResponse(TypedDict):
    model_name: str
    model_version: str
    request_id: str | None
    predictions: Annotated[list[Any], Field(description="One predicted label per row.")]
    probabilities: Annotated[
        list[dict[str, float]], Field(description="Per row, the probability of each class.")
    ]
