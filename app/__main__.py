"""``python -m app``: serve the API with uvicorn using the validated settings."""

from __future__ import annotations

from app.wiring.server import serve

if __name__ == "__main__":
    serve()
