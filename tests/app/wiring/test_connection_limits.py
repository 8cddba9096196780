"""Connection limits on the real server: head size, head and idle deadlines, the connection cap.

Each server test (slow) runs uvicorn in a thread with the configuration ``serve()`` uses and
talks to it over raw sockets, since HTTP clients will not send what an attacker sends.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import ValidationError

from app.wiring.factory import create_app
from app.wiring.server import uvicorn_config
from app.wiring.settings import ApiSettings
from tests.app.conftest import Keys, wait_until
from tests.app.registry_double import InMemoryRegistry
from tests.servers import free_port

HEAD_BYTES = 4096
HEAD_TIMEOUT = 0.5
IDLE_TIMEOUT = 0.5
# Timers run on a loaded event loop in a shared CI machine: allow this much lateness.
SLACK = 2.0

Serve = Callable[..., AbstractContextManager[int]]


@pytest.fixture
def serve(
    tmp_path: Path, keys: Keys, signing_public_key: Path, registry: InMemoryRegistry
) -> Serve:
    """Start the API with short limits (overridable) and yield its port once it is ready."""

    @contextmanager
    def run(**overrides: Any) -> Iterator[int]:
        limits: dict[str, Any] = {
            "max_header_bytes": HEAD_BYTES,
            "header_timeout_seconds": HEAD_TIMEOUT,
            "keep_alive_timeout_seconds": IDLE_TIMEOUT,
            "max_connections": 4,
        }
        settings = ApiSettings(
            home=tmp_path / "unused-home",
            model_signing_public_key_file=signing_public_key,
            api_keys_file=keys.file,
            metrics_port=None,
            port=free_port(),
            poll_interval_seconds=3600,
            load_retry_seconds=0.2,
            rate_limit_per_second=10_000,
            rate_limit_burst=10_000,
            **(limits | overrides),
        )
        server = uvicorn.Server(uvicorn_config(create_app(settings, registry), settings))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()

        def ready() -> bool:
            try:
                url = f"http://127.0.0.1:{settings.port}/readyz"
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, what="the server answering ready")
        try:
            yield settings.port
        finally:
            server.should_exit = True
            thread.join(10)

    return run


class Client:
    """One raw connection: send bytes, read whole responses, see when the server closes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill_or_fail()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        assert match, head
        length = int(match.group(1))
        while len(self.buffer) < length:
            self._fill_or_fail()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(head.split(b" ", 2)[1]), body

    def seconds_until_closed(self, started: float) -> float:
        """Read (and keep) everything until the server closes; seconds since ``started``."""
        try:
            while self._fill():
                pass
        except ConnectionResetError:
            pass
        return time.monotonic() - started

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def _fill_or_fail(self) -> None:
        if not self._fill():
            raise AssertionError(f"closed before a whole response: {self.buffer[:200]!r}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect() -> Iterator[Callable[[int], Client]]:
    opened: list[Client] = []

    def open_one(port: int) -> Client:
        opened.append(Client(port))
        return opened[-1]

    yield open_one
    for client in opened:
        client.close()


def _get(path: str, extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


# 64 MiB each, built per test rather than at collection.
OVERSIZED_HEADS: dict[str, Callable[[], bytes]] = {
    "request-line": lambda: b"GET /" + b"a" * (64 << 20),
    "one-header": lambda: b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (64 << 20),
    "many-headers": lambda: _get("/healthz")[:-2] + b"X-Many: a\r\n" * (6 << 20),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", OVERSIZED_HEADS)
def test_an_oversized_head_gets_431_at_once_and_is_not_read(serve: Serve, connect, kind: str):
    head = OVERSIZED_HEADS[kind]()
    with serve() as port:
        client = connect(port)
        sent = 0

        def send_all() -> None:
            nonlocal sent
            try:
                for start in range(0, len(head), 65536):
                    client.sock.sendall(head[start : start + 65536])
                    sent = start + 65536
            except OSError:
                pass  # the server closed the connection: what this test wants

        sender = threading.Thread(target=send_all, daemon=True)
        started = time.monotonic()
        sender.start()
        elapsed = client.seconds_until_closed(started)
        sender.join(10)
    assert client.buffer.startswith(b"HTTP/1.1 431 "), client.buffer[:200]
    assert json.loads(client.buffer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == (
        "headers_too_large"
    )
    assert elapsed < SLACK
    assert sent < len(head) // 4  # refused long before the client could send it all


@pytest.mark.slow
def test_an_unfinished_head_is_closed_at_the_header_timeout(serve: Serve, connect):
    with serve(keep_alive_timeout_seconds=30) as port:
        client = connect(port)
        started = time.monotonic()
        client.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        elapsed = client.seconds_until_closed(started)
    assert client.buffer.startswith(b"HTTP/1.1 408 "), client.buffer[:200]
    assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT + SLACK


@pytest.mark.slow
def test_a_trickled_head_is_closed_at_the_header_timeout_though_bytes_keep_coming(
    serve: Serve, connect
):
    with serve(keep_alive_timeout_seconds=30) as port:
        client = connect(port)
        stop = threading.Event()

        def trickle() -> None:
            client.send(b"GET /healthz HTTP/1.1\r\n")
            line = 0
            while not stop.wait(0.05):
                try:
                    client.send(b"X-Line-%d: a\r\n" % line)
                except OSError:
                    return
                line += 1

        sender = threading.Thread(target=trickle, daemon=True)
        started = time.monotonic()
        sender.start()
        elapsed = client.seconds_until_closed(started)
        stop.set()
        sender.join(10)
    assert client.buffer.startswith(b"HTTP/1.1 408 "), client.buffer[:200]
    assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT + SLACK


@pytest.mark.slow
def test_a_trickled_body_after_an_early_answer_is_closed_at_the_header_timeout(
    serve: Serve, connect
):
    with serve(keep_alive_timeout_seconds=30) as port:
        client = connect(port)
        client.send(
            b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
        assert client.response()[0] == 401  # no key: answered before the body is read
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.05):
                try:
                    client.send(b"1")
                except OSError:
                    return

        sender = threading.Thread(target=trickle, daemon=True)
        started = time.monotonic()
        sender.start()
        elapsed = client.seconds_until_closed(started)
        stop.set()
        sender.join(10)
    assert elapsed < HEAD_TIMEOUT + SLACK


@pytest.mark.slow
@pytest.mark.parametrize("after_a_request", [False, True], ids=["new", "after-a-request"])
def test_an_idle_connection_is_closed_at_the_keep_alive_timeout(
    serve: Serve, connect, after_a_request: bool
):
    with serve(header_timeout_seconds=30) as port:
        client = connect(port)
        if after_a_request:
            client.send(_get("/healthz"))
            assert client.response()[0] == 200
        elapsed = client.seconds_until_closed(time.monotonic())
    assert client.buffer == b""
    assert IDLE_TIMEOUT * 0.9 <= elapsed < IDLE_TIMEOUT + SLACK


@pytest.mark.slow
def test_requests_beyond_the_connection_cap_get_503_but_liveness_answers(serve: Serve, connect):
    with serve(keep_alive_timeout_seconds=30, max_connections=4) as port:
        for _ in range(3):
            connect(port)
        client = connect(port)  # the fourth: still within the cap
        client.send(_get("/readyz"))
        assert client.response()[0] == 200
        connect(port)
        over = connect(port)
        over.send(_get("/readyz"))
        status, body = over.response()
        assert status == 503
        assert json.loads(body)["error"]["code"] == "over_capacity"
        liveness = connect(port)
        liveness.send(_get("/healthz"))
        assert liveness.response()[0] == 200


@pytest.mark.slow
def test_ordinary_requests_are_unaffected(serve: Serve, connect, keys: Keys, feature_rows):
    body = json.dumps({"rows": feature_rows[:50]}).encode()
    assert len(body) > 2 * HEAD_BYTES  # a body is not a head, however large
    predict = (
        b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + keys.predict.encode() + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body
    near_limit = _get("/healthz", b"X-Pad: " + b"a" * (HEAD_BYTES - 64) + b"\r\n")
    assert len(near_limit) <= HEAD_BYTES
    with serve() as port:
        client = connect(port)
        client.send(predict)  # head and body in one write
        status, answer = client.response()
        assert status == 200, answer
        assert len(json.loads(answer)["predictions"]) == 50
        client.send(near_limit)  # the same connection, kept alive
        assert client.response()[0] == 200
        client.send(_get("/healthz") + predict + _get("/readyz"))  # pipelined
        assert [client.response()[0] for _ in range(3)] == [200, 200, 200]


def test_limits_are_settings_with_sane_bounds(signing_public_key: Path, keys: Keys):
    base: dict[str, Any] = {
        "api_keys_file": keys.file,
        "model_signing_public_key_file": signing_public_key,
    }
    defaults = ApiSettings(**base)
    assert defaults.max_header_bytes == 16_384
    assert defaults.header_timeout_seconds == 5
    assert defaults.keep_alive_timeout_seconds == 5
    assert defaults.max_connections == 100
    for bad in (
        {"max_header_bytes": 100},
        {"max_header_bytes": 10 << 20},
        {"header_timeout_seconds": 0},
        {"header_timeout_seconds": 600},
        {"keep_alive_timeout_seconds": -1},
        {"max_connections": 0},
    ):
        with pytest.raises(ValidationError):
            ApiSettings(**base, **bad)
