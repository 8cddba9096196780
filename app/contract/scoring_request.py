"""What every scoring request body shares: strict finite numbers and a row count."""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any

from pydantic import BaseModel, Field

# strict: booleans and numeric strings ("1", "NaN") are not numbers; NaN and +/-Infinity
# are refused in every spelling JSON parsers accept.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class ScoringRequest(BaseModel):
    """A body a scoring route parses; the route checks ``row_count()`` against its limits."""

    # pydantic's model metaclass is an ABCMeta: a body model without these cannot be built.
    @abstractmethod
    def row_count(self) -> int:
        """Rows in the validated body."""

    @classmethod
    @abstractmethod
    def raw_row_count(cls, raw: Any) -> int:
        """Rows of the body as plain JSON (before validation); 0 when it cannot tell."""


def length(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0
