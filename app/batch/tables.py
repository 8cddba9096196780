"""Chunked readers and writers for batch scoring: CSV always, Parquet when pyarrow is there.

The serving image has no pandas; CSV goes through the standard library, and Parquet through
pyarrow only if it is installed, so the batch job runs from the same image as the API.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

# One input row: the cells as the file gives them (CSV: text; Parquet: numbers or None).
Cell = str | float | int | None


class TableError(ValueError):
    """The file cannot be read or written as asked (format, header, missing library)."""


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in {".parquet", ".pq"}


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise TableError("Parquet needs pyarrow, which this installation lacks; use CSV") from None
    return pyarrow


class InputTable(Protocol):
    columns: list[str]
    total_rows: int

    def chunks(self, size: int) -> Iterator[list[dict[str, Cell]]]: ...


class CsvInput:
    """A CSV file with a header line; an empty cell is a missing value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise TableError(f"{path} has no header line")
        self.columns = header
        with path.open("rb") as raw:  # one fast pass, so the progress bar has a total
            lines = sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b""))
            raw.seek(max(path.stat().st_size - 1, 0))
            unterminated = path.stat().st_size > 0 and raw.read(1) != b"\n"
        self.total_rows = max(lines + int(unterminated) - 1, 0)

    def chunks(self, size: int) -> Iterator[list[dict[str, Cell]]]:
        with self.path.open(newline="") as handle:
            chunk: list[dict[str, Cell]] = []
            for row in csv.DictReader(handle):
                chunk.append(dict(row))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk


class ParquetInput:
    def __init__(self, path: Path) -> None:
        self._file = _pyarrow().parquet.ParquetFile(path)
        self.columns = list(self._file.schema_arrow.names)
        self.total_rows = int(self._file.metadata.num_rows)

    def chunks(self, size: int) -> Iterator[list[dict[str, Cell]]]:
        for batch in self._file.iter_batches(batch_size=size):
            yield batch.to_pylist()


def open_input(path: Path) -> InputTable:
    if not path.is_file():
        raise TableError(f"{path} is not a file")
    return ParquetInput(path) if _is_parquet(path) else CsvInput(path)


class OutputTable:
    """Rows written as they come, so memory stays one chunk whatever the file's size."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self._parquet: Any = None  # created with the first chunk's inferred schema
        self._csv_handle: Any = None
        if not _is_parquet(path):
            self._csv_handle = path.open("w", newline="")
            self._csv = csv.writer(self._csv_handle)
            self._csv.writerow(columns)
        else:
            _pyarrow()  # refuse before any work is done, not at the first chunk

    def write(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        if self._csv_handle is not None:
            self._csv.writerows(rows)
            return
        pa = _pyarrow()
        data = {name: [row[i] for row in rows] for i, name in enumerate(self.columns)}
        if self._parquet is None:
            table = pa.table(data)
            self._parquet = pa.parquet.ParquetWriter(self.path, table.schema)
        else:
            table = pa.table(data, schema=self._parquet.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        if self._csv_handle is None and self._parquet is None:  # no row was scored
            pa = _pyarrow()
            types = {"row": pa.int64(), "prediction": pa.string()}
            schema = pa.schema([(c, types.get(c, pa.float64())) for c in self.columns])
            self._parquet = pa.parquet.ParquetWriter(self.path, schema)
        if self._parquet is not None:
            self._parquet.close()
        if self._csv_handle is not None:
            self._csv_handle.close()

    def __enter__(self) -> OutputTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
