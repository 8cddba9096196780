"""``python -m app``: serve the API with uvicorn using the validated settings."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from app.auth import KeyFileError
from app.logging_setup import configure_logging
from app.main import create_app
from app.server import DrainingServer
from app.settings import ApiSettings


def main() -> None:
    try:
        settings = ApiSettings()
        configure_logging(settings.log_level)
        app = create_app(settings)
    except (ValidationError, KeyFileError) as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        http="httptools",
        loop="uvloop",
    )
    state = app.state.mlsys
    DrainingServer(config, settings.shutdown_drain_seconds, state.draining.set).run()


if __name__ == "__main__":
    main()
