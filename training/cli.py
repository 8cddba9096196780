"""Command line: one subcommand per step and ``run`` for the whole pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from mlflow.exceptions import MlflowException

from app.model_contract import CHAMPION, ArtifactError
from training import pipeline
from training.config import DEFAULT_CONFIG, ConfigError, PipelineConfig, load_config
from training.ingest import IngestError
from training.reevaluate import reevaluate as reevaluate_version
from training.register import Registered, RegistrationError
from training.registry import RegistryError
from training.remote_workspace import RemoteWorkspaceError, open_workspace
from training.tracking import TrackingSettings
from training.train import TrainingError
from training.validate import DatasetValidationError
from training.workspace import StepOrderError, Workspace

_HELP = """Train, evaluate, register and promote the model.

Exit codes: 0 done (a rejected candidate is a normal outcome), 1 the data or a step
failed, 2 the configuration is invalid (the message names the key).

Environment: MLSYS_HOME holds the embedded MLflow store, the work folder and the kept
dataset snapshots [.mlsys]; MLFLOW_TRACKING_URI switches to a tracking server;
MLSYS_DATASET_STORE keeps snapshots elsewhere (e.g. s3://datasets-bucket/snapshots);
MLSYS_DVC_REPO is the DVC repository for dvc:// URIs [.].
"""

cli = typer.Typer(help=_HELP, no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Pipeline config YAML.")]
# A string, not a Path: Path would fold the '//' of an s3:// URI.
WorkdirOption = Annotated[
    str | None,
    typer.Option(
        help="Folder or s3://bucket/prefix where steps hand over outputs [$MLSYS_HOME/work]."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set model.params.C=0.5"),
]
AcceptShiftOption = Annotated[
    str | None,
    typer.Option(
        "--accept-shift",
        metavar="REASON",
        help="Train on data that drifted from the champion on purpose; REASON becomes a run tag.",
    ),
]

_EXPECTED_FAILURES = (
    ConfigError,
    IngestError,
    DatasetValidationError,
    StepOrderError,
    RemoteWorkspaceError,
    ArtifactError,
    RegistryError,
    RegistrationError,
    TrainingError,
    # The tracking server or store refused a write (unreachable, unauthorised, ...).
    MlflowException,
)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``a.b=value`` pairs into a nested dict; values are parsed as YAML scalars."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw)
    return result


def _run(
    step: Callable[[PipelineConfig, Workspace], Any],
    config: Path,
    workdir: str | None,
    overrides: list[str] | None,
    accept_shift: str | None = None,
) -> Any:
    try:
        pairs = [
            *(overrides or []),
            *([f"checks.accept_shift={accept_shift}"] if accept_shift else []),
        ]
        loaded = load_config(config, parse_overrides(pairs))
        with open_workspace(workdir, TrackingSettings().home / "work") as ws:
            return step(loaded, ws)
    except _EXPECTED_FAILURES as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2 if isinstance(exc, ConfigError) else 1) from None


def _registered_line(registered: Registered) -> str:
    if registered.unchanged:
        return (
            f"unchanged: same data, settings and code as {registered.name} "
            f"v{registered.version}; nothing registered"
        )
    return (
        f"registered {registered.name} v{registered.version} "
        f"(sha256 {registered.artifact_sha256[:12]})"
    )


@cli.command()
def ingest(
    config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None, set_: SetOption = None
) -> None:
    """Fetch the dataset and record its SHA-256 and row count."""
    typer.echo(json.dumps(_run(pipeline.step_ingest, config, workdir, set_)))


@cli.command()
def validate(
    config: ConfigOption = DEFAULT_CONFIG,
    workdir: WorkdirOption = None,
    set_: SetOption = None,
    accept_shift: AcceptShiftOption = None,
) -> None:
    """Check the dataset against its contract and its drift against the champion."""
    typer.echo(_run(pipeline.step_validate, config, workdir, set_, accept_shift).render())


@cli.command()
def train(
    config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None, set_: SetOption = None
) -> None:
    """Fit the model on the training split and open an MLflow run."""
    typer.echo(json.dumps(_run(pipeline.step_train, config, workdir, set_)))


@cli.command()
def evaluate(
    config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None, set_: SetOption = None
) -> None:
    """Score the model on the holdout and log metrics and the plot."""
    typer.echo(json.dumps(_run(pipeline.step_evaluate, config, workdir, set_), indent=2))


@cli.command()
def register(
    config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None, set_: SetOption = None
) -> None:
    """Log the model in skops format and register a new version."""
    typer.echo(_registered_line(_run(pipeline.step_register, config, workdir, set_)))


@cli.command()
def promote(
    config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None, set_: SetOption = None
) -> None:
    """Make the new version @champion if it passes the gates and does not regress."""
    typer.echo(_run(pipeline.step_promote, config, workdir, set_).render())


@cli.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    workdir: WorkdirOption = None,
    set_: SetOption = None,
    accept_shift: AcceptShiftOption = None,
) -> None:
    """Run all six steps in order."""
    result = _run(pipeline.run_all, config, workdir, set_, accept_shift)
    typer.echo(_registered_line(result.registered))
    typer.echo(result.decision.render())


@cli.command()
def reevaluate(
    version: Annotated[str, typer.Argument(help="Version number or alias, e.g. 3 or champion.")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Score a registered version again on its own holdout, rebuilt from the kept snapshot."""

    def step(loaded: PipelineConfig, ws: Workspace) -> dict[str, Any]:
        return reevaluate_version(loaded, version)

    typer.echo(json.dumps(_run(step, config, None, None), indent=2))


@cli.command("example-request")
def example_request(
    out: Annotated[Path, typer.Option(help="Where to write the JSON body.")],
    config: ConfigOption = DEFAULT_CONFIG,
    alias: Annotated[str, typer.Option(help="Registry alias to take the example from.")] = CHAMPION,
) -> None:
    """Write a /v1/predict body built from the served model's stored input example."""
    try:
        loaded = load_config(config)
        body = pipeline.example_request(loaded, alias)
    except _EXPECTED_FAILURES as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(body, indent=2))
    typer.echo(f"wrote an example request for {loaded.model_name}@{alias} to {out}")


def main() -> None:
    cli()
