"""``python -m infra.release``: run the release command line."""

from __future__ import annotations

from infra.release.cli import app

if __name__ == "__main__":
    app()
