"""The drills' fault proxy and report sections, on their own (fast)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.fault_proxy import FaultProxy, Mode, free_port
from tests.drills.report import replace_section


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP echo server on a free port."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                while data := connection.recv(1024):
                    connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture
def proxy(echo: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(echo, free_port()).start()
    yield proxy
    proxy.close()


def _round_trip(port: int) -> bytes:
    """The echo, or b"" when the connection was closed or reset without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        try:
            sock.sendall(b"ping")
            return sock.recv(16)
        except ConnectionResetError:
            return b""


def test_pass_forwards_and_slow_delays(proxy: FaultProxy):
    assert _round_trip(proxy.port) == b"ping"
    proxy.set(Mode.SLOW, 0.2)
    started = time.monotonic()
    assert _round_trip(proxy.port) == b"ping"
    assert time.monotonic() - started >= 0.4  # both directions


def test_drop_closes_without_a_byte_and_down_refuses(proxy: FaultProxy):
    proxy.set(Mode.DROP)
    assert _round_trip(proxy.port) == b""
    proxy.set(Mode.DOWN)
    with pytest.raises(ConnectionRefusedError):
        _round_trip(proxy.port)
    proxy.set(Mode.PASS)
    assert _round_trip(proxy.port) == b"ping"


def test_a_section_is_replaced_in_place_and_appended_once(tmp_path: Path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nhand-written\n")
    replace_section(doc, "load", "first")
    replace_section(doc, "load", "second")
    text = doc.read_text()
    assert text.count("<!-- drill:load -->") == 1 and "second" in text and "first" not in text
    assert text.startswith("# Title\n\nhand-written\n")
