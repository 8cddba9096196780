"""The options every command that talks to a deployed API shares, and the client it uses."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

import httpx
import typer

BaseUrl = Annotated[str, typer.Option(help="The API's base URL, e.g. https://api.example.com")]
ApiKeyFile = Annotated[
    Path, typer.Option(exists=True, dir_okay=False, help="File holding a predict-scoped key.")
]
AllowHttp = Annotated[
    bool, typer.Option(help="Accept plain http (a local server); TLS is required otherwise.")
]
CaFile = Annotated[Path | None, typer.Option(exists=True, help="Extra CA bundle to trust for TLS.")]


def tls_verification(ca_file: Path | None) -> ssl.SSLContext | bool:
    """The system's trust store, plus ``ca_file`` when given."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else True


def api_client(base_url: str, api_key_file: Path, ca_file: Path | None) -> httpx.Client:
    """A client that sends the key in the file on every request."""
    key = api_key_file.read_text().strip()
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
        verify=tls_verification(ca_file),
    )
