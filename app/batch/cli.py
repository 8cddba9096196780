"""``python -m app.batch``: score a CSV or Parquet file with the registry's served model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from app.batch.job import score_file
from app.batch.tables import TableError, open_input
from app.lifecycle.model_swapper import ModelSwapper, RefreshOutcome
from app.lifecycle.registry_client import Registry
from app.lifecycle.served_model import ServedModel
from app.metrics import ApiMetrics
from app.wiring.settings import ApiSettings

cli = typer.Typer(help="Score a file with the served model, offline.", add_completion=False)


class SnapshotError(RuntimeError):
    """No model version could be loaded and verified."""


def load_snapshot(settings: ApiSettings, registry: Registry | None = None) -> ServedModel:
    """The alias's current version, loaded exactly as the server loads it (signed, probed)."""
    swapper = ModelSwapper(settings, ApiMetrics(), registry)
    outcome = swapper.refresh()
    if outcome is not RefreshOutcome.LOADED or swapper.current is None:
        reason = swapper.last_error or f"{settings.model_name}@{settings.model_alias} is not set"
        raise SnapshotError(f"cannot load the model: {reason}")
    return swapper.current


def batch_settings(model_name: str | None, alias: str | None) -> ApiSettings:
    """The API's settings from the environment; this job serves no HTTP, so needs no keys."""
    chosen: dict[str, object] = {"auth_enabled": False, "metrics_port": None}
    if model_name:
        chosen["model_name"] = model_name
    if alias:
        chosen["model_alias"] = alias
    return ApiSettings(**chosen)  # type: ignore[arg-type]


@cli.command()
def score(
    input_path: Annotated[Path, typer.Option("--input", help="CSV with a header, or .parquet.")],
    output: Annotated[Path, typer.Option(help="Predictions: .csv, or .parquet.")],
    errors: Annotated[
        Path | None,
        typer.Option(help="Refused rows, one line per problem; default: <output>.errors.csv."),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows read and scored at a time.")
    ] = 10_000,
    extra_columns: Annotated[
        str, typer.Option(help="'reject' a file with columns the model lacks, or 'ignore' them.")
    ] = "reject",
    model_name: Annotated[str | None, typer.Option(help="Default: MLSYS_API_MODEL_NAME.")] = None,
    alias: Annotated[str | None, typer.Option(help="Default: MLSYS_API_MODEL_ALIAS.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Exit 0: every row scored; 1: some rows refused (see the errors file); 2: nothing done."""
    if extra_columns not in ("reject", "ignore"):
        raise typer.BadParameter("use 'reject' or 'ignore'", param_hint="--extra-columns")
    extra: Literal["reject", "ignore"] = "ignore" if extra_columns == "ignore" else "reject"
    errors = errors or output.with_name(f"{output.stem}.errors.csv")
    stderr = Console(stderr=True)
    try:
        table = open_input(input_path)
        model = load_snapshot(batch_settings(model_name, alias))
        with Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=stderr,
            disable=not progress,
        ) as bar:
            task = bar.add_task(f"scoring with v{model.version.version}", total=table.total_rows)
            result = score_file(
                table,
                model,
                output,
                errors,
                chunk_rows=chunk_rows,
                extra=extra,
                progress=lambda rows: bar.advance(task, rows),
            )
    except (TableError, SnapshotError, ValidationError, OSError) as exc:
        print(f"batch scoring failed: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(
        f"{result.scored} of {result.rows} rows scored with {model.version.name} "
        f"v{model.version.version} into {output}; {result.refused} refused (see {errors})",
        file=sys.stderr,
    )
    raise typer.Exit(1 if result.refused else 0)
