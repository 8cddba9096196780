"""``python -m app``: serve the API with uvicorn using the validated settings."""

from __future__ import annotations

import uvicorn

from app.logging_setup import configure_logging
from app.main import create_app
from app.settings import ApiSettings


def main() -> None:
    settings = ApiSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
