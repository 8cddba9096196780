"""``python -m app.batch``: the batch-scoring command line (app/batch/cli.py)."""

from __future__ import annotations

from app.batch.cli import cli

if __name__ == "__main__":
    cli()
