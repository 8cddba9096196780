"""Real processes for integration tests: start, wait until they answer, always stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def mlflow_server_argv(backend_store_uri: str, artifacts_destination: str, port: int) -> list[str]:
    """``mlflow server`` from this interpreter's environment, one worker, on 127.0.0.1."""
    return [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        artifacts_destination,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    argv: Sequence[str],
    health_url: str,
    *,
    env: dict[str, str] | None = None,
    log: Path,
    timeout: float = 90.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until ``health_url`` answers 200; the log file explains any failure."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(argv), env={**os.environ, **(env or {})}, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    pytest.fail(f"{argv[0]} exited with {process.returncode}:\n{log.read_text()}")
                try:
                    if httpx.get(health_url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{argv[0]} not healthy after {timeout}s:\n{log.read_text()}")
                time.sleep(0.2)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
