"""The API-key command line: create keys and print the hash line the server stores."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from app.http.auth import SCOPES, key_line, new_key, parse_keys, parse_scopes

cli = typer.Typer(help="Manage API keys for the prediction API.", no_args_is_help=True)


def _checked(key_id: str, scopes: str) -> list[str]:
    """The scopes as the server will read them; refuses what it would refuse."""
    spelled = ",".join(s.strip() for s in scopes.split(",") if s.strip())
    try:
        wanted = sorted(parse_scopes(spelled)) if spelled else []
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from None
    if not wanted:
        raise typer.BadParameter(f"name at least one of {sorted(SCOPES)}", param_hint="--scopes")
    if not key_id.replace("-", "").replace("_", "").isalnum():
        raise typer.BadParameter("use letters, digits, '-' and '_'", param_hint="--id")
    return wanted


def _refuse_link(path: Path | None, option: str) -> None:
    # Writing through a link would put a secret wherever the link points.
    if path is not None and path.is_symlink():
        raise typer.BadParameter(
            f"{path} is a symbolic link; name the file itself", param_hint=option
        )


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with a new file of mode 0600 holding ``text``.

    The text goes to a fresh temporary file first (created 0600, exclusively) and is then
    renamed over ``path``: the old file's broader mode never carries over, a link at ``path``
    is replaced rather than followed, and a reader (the server) sees the old or the new file,
    never a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@cli.command()
def create(
    key_id: Annotated[str, typer.Option("--id", help="Name of the key, logged with requests.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: predict, admin.")] = "predict",
    append: Annotated[
        Path | None, typer.Option(help="Add the hash line to this key file (left mode 0600).")
    ] = None,
    key_out: Annotated[
        Path | None,
        typer.Option(help="Write the key itself to this file (mode 0600) instead of stdout."),
    ] = None,
) -> None:
    """Make a new random key; only its SHA-256 ever goes into the key file."""
    wanted = _checked(key_id, scopes)
    _refuse_link(append, "--append")
    _refuse_link(key_out, "--key-out")
    key = new_key()
    line = key_line(key_id, key, wanted)
    if append is not None:
        existing = append.read_text() if append.exists() else ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        updated = existing + line + "\n"
        parse_keys(updated, str(append))  # refuses a duplicate id before writing
        _write_private(append, updated)
        typer.echo(f"appended key {key_id!r} to {append}", err=True)
    else:
        typer.echo(f"hash line to store: {line}", err=True)
    if key_out is not None:
        _write_private(key_out, key + "\n")
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
