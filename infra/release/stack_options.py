"""Options shared by the commands that edit a stack file, and how they print a change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra.release.stack_config import (
    ReleaseState,
    StackConfigError,
    read_release_state,
    stack_file,
    write_release_state,
)

StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack whose Pulumi.<stack>.yaml is edited.")
]
RootOption = Annotated[
    Path,
    typer.Option(help="Folder holding the stack files (the repository root in the workflow)."),
]


def apply_change(stack: str, root: Path, change: str, new: ReleaseState) -> None:
    """Write ``new`` into the stack file and print each key before and after."""
    path = stack_file(stack, root)
    old = read_release_state(path)
    write_release_state(path, new)
    typer.echo(f"{change} on stack {stack} ({path.name}):")
    for key, value in new.as_config().items():
        previous = old.as_config()[key]
        mark = "changed" if previous != value else "kept"
        typer.echo(f"  {key:<20} {previous!s:>12} -> {value!s}  ({mark})")


def current_state(stack: str, root: Path) -> ReleaseState:
    """The release keys of ``stack`` now; a bad file exits 2 with the reason."""
    return read_release_state(stack_file(stack, root))


def refuse(error: StackConfigError) -> typer.Exit:
    """Print why a stack edit was refused; the caller raises the returned exit (code 2)."""
    typer.echo(f"refused: {error}", err=True)
    return typer.Exit(2)
