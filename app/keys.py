"""``python -m app.keys``: the API-key command line (app/http/api_keys_cli.py)."""

from __future__ import annotations

from app.http.api_keys_cli import cli

if __name__ == "__main__":
    cli()
