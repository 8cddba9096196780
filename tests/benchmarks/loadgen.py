"""HTTP load generators for the benchmarks: wrk when installed, else a small asyncio client."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


def _wrk_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no {percentile}% latency:\n{text}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(
    url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int
) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        script = Path(tmp) / "post.lua"
        header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
        script.write_text(
            f'wrk.method = "POST"\n{header_lines}\n'
            f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*a"); f:close()\n'
        )
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(rps, _wrk_ms(out, "50"), _wrk_ms(out, "99"), errors, "wrk")


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 2"):
                errors.append(1)
    finally:
        writer.close()


def run_python(
    url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int
) -> LoadResult:
    parsed = urlparse(url)
    lines = [
        f"POST {parsed.path} HTTP/1.1",
        f"Host: {parsed.netloc}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _connection(
                    parsed.hostname or "127.0.0.1",
                    parsed.port or 80,
                    request,
                    until,
                    latencies,
                    errors,
                )
                for _ in range(connections)
            )
        )

    asyncio.run(main())
    ordered = sorted(latencies)
    return LoadResult(
        requests_per_second=len(ordered) / seconds,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
        errors=len(errors),
        tool="python-asyncio",
    )


def run_load(
    url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int
) -> LoadResult:
    if shutil.which("wrk"):
        return run_wrk(url, body, headers, connections, seconds)
    return run_python(url, body, headers, connections, seconds)
