"""MLflow's scoring protocol (/invocations): its four input formats and its answer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from app.contract.scoring_request import Number, ScoringRequest, length
from app.http.errors import ApiError


class DataframeSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    data: list[list[Number]]
    index: list[Any] | None = None


@dataclass(frozen=True)
class Table:
    """The rows of any format: records, or ``data`` with ``columns`` (None: signature order)."""

    records: list[dict[str, float]] | None = None
    columns: list[str] | None = None
    data: list[list[float]] | None = None


class InvocationsRequest(ScoringRequest):
    """Exactly one of MLflow's four input formats, plus optional (unused) ``params``."""

    model_config = ConfigDict(extra="forbid")
    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, Number]] | None = None
    instances: list[dict[str, Number]] | list[list[Number]] | None = None
    inputs: dict[str, list[Number]] | list[dict[str, Number]] | list[list[Number]] | None = None
    params: dict[str, Any] | None = Field(default=None, description="Accepted and ignored.")

    @model_validator(mode="after")
    def _one_format(self) -> InvocationsRequest:
        given = [
            name
            for name in ("dataframe_split", "dataframe_records", "instances", "inputs")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of dataframe_split, dataframe_records, instances, inputs"
            )
        return self

    @cached_property
    def table(self) -> Table:
        """The rows, whichever format carried them; 422 for ragged column-major ``inputs``."""
        if self.dataframe_split is not None:
            return Table(columns=self.dataframe_split.columns, data=self.dataframe_split.data)
        value: Any = next(
            v for v in (self.dataframe_records, self.instances, self.inputs) if v is not None
        )
        if isinstance(value, dict):  # {"inputs": {"col": [values...]}} is column-major
            if len({len(v) for v in value.values()}) > 1:
                raise ApiError(
                    422, "invalid_input", "every column in 'inputs' needs the same length"
                )
            return Table(
                columns=list(value), data=[list(row) for row in zip(*value.values(), strict=True)]
            )
        if value and isinstance(value[0], list):
            return Table(data=value)
        return Table(records=value)

    @classmethod
    def raw_row_count(cls, raw: Any) -> int:
        if not isinstance(raw, dict):
            return 0
        split = raw.get("dataframe_split")
        inputs = raw.get("inputs")
        columns = [length(v) for v in inputs.values()] if isinstance(inputs, dict) else []
        return max(
            length(split.get("data")) if isinstance(split, dict) else 0,
            length(raw.get("dataframe_records")),
            length(raw.get("instances")),
            length(inputs) if not columns else max(columns),
        )

    def row_count(self) -> int:
        table = self.table
        return len(table.records) if table.records is not None else len(table.data or [])


class InvocationsResponse(TypedDict):
    predictions: list[Any]
