"""Validate: check a dataset against its contract and report every violation at once."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from training.config import DatasetSpec

_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Violation:
    check: str
    column: str | None
    message: str
    count: int = 0
    example_rows: list[int] = field(default_factory=list)

    def render(self) -> str:
        where = f"[{self.column}] " if self.column else ""
        rows = f" (rows {self.example_rows}{' ...' if self.count > len(self.example_rows) else ''})"
        return f"{self.check}: {where}{self.message}{rows if self.example_rows else ''}"


@dataclass(frozen=True)
class ValidationReport:
    rows: int
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations

    def render(self) -> str:
        if self.ok:
            return f"dataset valid: {self.rows} rows, no violations"
        lines = [f"dataset invalid: {len(self.violations)} violation(s) in {self.rows} rows"]
        lines += [f"  - {violation.render()}" for violation in self.violations]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "ok": self.ok,
            "violations": [asdict(v) for v in self.violations],
        }


class DatasetValidationError(ValueError):
    """The dataset broke its contract; ``report`` lists every violation."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.render())
        self.report = report


def _rows(mask: pd.Series[bool]) -> tuple[int, list[int]]:
    index = [int(i) for i in mask[mask].index[:_EXAMPLE_ROWS]]
    return int(mask.sum()), index


def _check_column(frame: pd.DataFrame, spec: Any) -> list[Violation]:
    found: list[Violation] = []
    raw = frame[spec.name]
    numeric = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna()
    if missing.any() and not spec.nullable:
        count, rows = _rows(missing)
        found.append(
            Violation("missing_values", spec.name, f"{count} missing value(s)", count, rows)
        )
    not_numeric = numeric.isna() & ~missing
    if not_numeric.any():
        count, rows = _rows(not_numeric)
        found.append(
            Violation("type", spec.name, f"{count} value(s) are not {spec.dtype}", count, rows)
        )
    infinite = numeric.isin([math.inf, -math.inf])
    if infinite.any():
        count, rows = _rows(infinite)
        found.append(Violation("type", spec.name, f"{count} infinite value(s)", count, rows))
    found.extend(_unscalable(numeric[numeric.notna() & ~infinite], spec.name))
    if spec.dtype == "int":
        fractional = numeric.notna() & ~infinite & (numeric % 1 != 0)
        if fractional.any():
            count, rows = _rows(fractional)
            found.append(Violation("type", spec.name, f"{count} non-integer value(s)", count, rows))
    if spec.min is not None:
        below = numeric < spec.min
        if below.any():
            count, rows = _rows(below)
            found.append(
                Violation("range", spec.name, f"{count} value(s) < {spec.min}", count, rows)
            )
    if spec.max is not None:
        above = (numeric > spec.max) & ~infinite
        if above.any():
            count, rows = _rows(above)
            found.append(
                Violation("range", spec.name, f"{count} value(s) > {spec.max}", count, rows)
            )
    return found


def _unscalable(finite: pd.Series[float], name: str) -> list[Violation]:
    # Finite but huge values (1e308) pass a column without a max, then the scaler's variance
    # overflows to inf and training dies in scikit-learn; refuse them here with the rows.
    values = finite.to_numpy(dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        variance = float(np.var(values)) if len(values) else 0.0
    if math.isfinite(variance):
        return []
    limit = math.sqrt(float(np.finfo(np.float64).max) / max(len(values), 1))
    count, rows = _rows(finite.abs() >= limit)
    return [
        Violation(
            "range",
            name,
            f"{count} value(s) too large to scale (|x| >= {limit:.1e}); their variance overflows",
            count,
            rows,
        )
    ]


def _check_label(frame: pd.DataFrame, spec: DatasetSpec) -> list[Violation]:
    labels = pd.to_numeric(frame[spec.label], errors="coerce")
    unknown = ~labels.isin(spec.classes)
    found: list[Violation] = []
    if unknown.any():
        count, rows = _rows(unknown)
        seen = sorted({str(v) for v in frame[spec.label][unknown].head(_EXAMPLE_ROWS)})
        found.append(
            Violation(
                "label_set",
                spec.label,
                f"{count} label(s) outside {spec.classes}: {seen}",
                count,
                rows,
            )
        )
    known = labels[~unknown]
    for cls in spec.classes:
        share = float((known == cls).mean()) if len(known) else 0.0
        if share < spec.min_class_fraction:
            found.append(
                Violation(
                    "label_balance",
                    spec.label,
                    f"class {cls} is {share:.1%} of rows, below {spec.min_class_fraction:.0%}",
                )
            )
    return found


def _constant_columns(frame: pd.DataFrame, spec: DatasetSpec) -> list[Violation]:
    # A feature with one value carries no signal and usually means a broken export.
    return [
        Violation("constant", name, f"every row has the same value {frame[name].iloc[0]!r}")
        for name in spec.feature_names
        if name in frame.columns and len(frame) > 1 and frame[name].nunique(dropna=False) == 1
    ]


def _duplicate_rows(frame: pd.DataFrame) -> list[Violation]:
    # Repeated rows weigh some examples twice and leak between the train and holdout splits.
    repeated = frame.duplicated(keep="first")
    if not repeated.any():
        return []
    count, rows = _rows(repeated)
    return [Violation("duplicates", None, f"{count} row(s) repeat an earlier row", count, rows)]


def validate(
    frame: pd.DataFrame, spec: DatasetSpec, *, allow_duplicates: bool = False
) -> ValidationReport:
    """Check the contract, constant columns and duplicate rows; report every violation."""
    violations: list[Violation] = []
    expected = [*spec.feature_names, spec.label]
    missing_columns = [name for name in expected if name not in frame.columns]
    unexpected = [str(name) for name in frame.columns if name not in expected]
    if missing_columns:
        violations.append(Violation("schema", None, f"missing column(s): {missing_columns}"))
    if unexpected:
        violations.append(Violation("schema", None, f"unexpected column(s): {unexpected}"))
    if len(frame) < spec.min_rows:
        violations.append(
            Violation("row_count", None, f"{len(frame)} rows, need >= {spec.min_rows}")
        )
    for column in spec.columns:
        if column.name in frame.columns:
            violations.extend(_check_column(frame, column))
    if spec.label in frame.columns:
        violations.extend(_check_label(frame, spec))
    violations.extend(_constant_columns(frame, spec))
    if not allow_duplicates:
        violations.extend(_duplicate_rows(frame))
    return ValidationReport(rows=len(frame), violations=violations)


def require_valid(
    frame: pd.DataFrame, spec: DatasetSpec, *, allow_duplicates: bool = False
) -> ValidationReport:
    """Validate and raise :class:`DatasetValidationError` on any violation."""
    report = validate(frame, spec, allow_duplicates=allow_duplicates)
    if not report.ok:
        raise DatasetValidationError(report)
    return report
