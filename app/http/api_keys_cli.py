"""The API-key command line: create keys and print the hash line the server stores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from app.http.auth import SCOPES, key_line, new_key, parse_keys

cli = typer.Typer(help="Manage API keys for the prediction API.", no_args_is_help=True)


def _checked(key_id: str, scopes: str) -> list[str]:
    """The scopes as the server will read them; refuses what it would refuse."""
    wanted = sorted({s.strip() for s in scopes.split(",") if s.strip()})
    if not wanted or not set(wanted) <= SCOPES:
        raise typer.BadParameter(f"scopes must be among {sorted(SCOPES)}", param_hint="--scopes")
    if not key_id.replace("-", "").replace("_", "").isalnum():
        raise typer.BadParameter("use letters, digits, '-' and '_'", param_hint="--id")
    return wanted


@cli.command()
def create(
    key_id: Annotated[str, typer.Option("--id", help="Name of the key, logged with requests.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: predict, admin.")] = "predict",
    append: Annotated[
        Path | None, typer.Option(help="Append the hash line to this key file (mode 0600).")
    ] = None,
    key_out: Annotated[
        Path | None, typer.Option(help="Write the key itself to this file instead of stdout.")
    ] = None,
) -> None:
    """Make a new random key; only its SHA-256 ever goes into the key file."""
    wanted = _checked(key_id, scopes)
    key = new_key()
    line = key_line(key_id, key, wanted)
    if append is not None:
        existing = append.read_text() if append.exists() else ""
        parse_keys(existing + line + "\n", str(append))  # refuses a duplicate id before writing
        append.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(append, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(line + "\n")
        typer.echo(f"appended key {key_id!r} to {append}", err=True)
    else:
        typer.echo(f"hash line to store: {line}", err=True)
    if key_out is not None:
        fd = os.open(key_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        typer.echo(
            f"wrote the key to {key_out} (mode 0600); it is not stored anywhere else", err=True
        )
    else:
        typer.echo(key)


@cli.command("hash")
def hash_line(
    key_id: Annotated[str, typer.Option("--id")],
    scopes: Annotated[str, typer.Option()] = "predict",
) -> None:
    """Read an existing key from stdin and print the line to store for it."""
    wanted = _checked(key_id, scopes)
    key = typer.get_text_stream("stdin").read().strip()
    if not key:
        raise typer.BadParameter("pipe the key on stdin")
    typer.echo(key_line(key_id, key, wanted))
