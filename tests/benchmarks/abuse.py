"""``make bench-abuse``: /healthz latency and server memory while the API is being abused.

The API runs as in ``make bench`` (one process, the pipeline's champion from an MLflow
tracking server) with its default connection limits. Each attack is sustained: an attacker
whose connection is closed opens another. Attackers run in a child process, so their threads
do not slow the probe; everything stays on 127.0.0.1 and each scenario lasts seconds.
Results go to the terminal and to this benchmark's section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks.report import write_section
from tests.benchmarks.servers import (
    API_PYTHON,
    REPORT,
    machine,
    process,
    registered_model,
    rss_mb,
    wait_ready,
)
from tests.servers import free_port

HOST = "127.0.0.1"
PROBES = int(os.environ.get("BENCH_ABUSE_PROBES", "300"))
PROBE_GAP_SECONDS = 0.02
SLOW_LINE_SECONDS = 1.0
# Long enough to see a connection outlive every timeout the API has (5 s by default).
SINGLE_CONNECTION_SECONDS = 45.0


@dataclass(frozen=True)
class Attack:
    label: str
    kind: str  # "none", "slow_head", "big_head" or "large_body"
    connections: int = 0
    head_bytes: int = 0
    # How long an attacker waits, once its connection is closed, before opening another.
    pause_seconds: float = 0.0


ATTACKS = [
    Attack("none", "none"),
    Attack("50 slow-header connections, a header line every 1 s", "slow_head", 50),
    Attack("4 parallel 64 MiB headers, re-sent at once", "big_head", 4, 64 << 20),
    Attack(
        "50 unfinished 8 MiB headers, re-sent 1 s after each refusal", "big_head", 50, 8 << 20, 1
    ),
    Attack("50 unfinished 8 MiB headers, re-sent at once (a flood)", "big_head", 50, 8 << 20),
    Attack("10 parallel large bodies (1,000 rows x 90 unknown keys)", "large_body", 10),
]


@dataclass
class Outcome:
    """What one scenario measured."""

    latencies_ms: list[float] = field(default_factory=list)
    probe_failures: int = 0
    peak_rss_mb: float = 0.0
    rss_after_mb: float = 0.0
    attack: Counter[str] = field(default_factory=Counter)
    seconds_to_answer: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _status(data: bytes) -> str:
    if data.startswith(b"HTTP/1.1 "):
        return data[9:12].decode()
    return "closed"


def _read_until_closed(sock: socket.socket, stop: Callable[[], bool] = lambda: False) -> bytes:
    data = b""
    sock.settimeout(0.5)
    while not stop():
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


# Attackers (in the child process): each records (outcome, seconds from connect to answer).


def _slow_head(port: int, stop: threading.Event, seen: list[tuple[str, float]], _: Any) -> None:
    while not stop.is_set():
        opened = time.monotonic()
        try:
            with socket.create_connection((HOST, port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
                line = 0
                while not stop.is_set():
                    if select.select([sock], [], [], SLOW_LINE_SECONDS)[0]:
                        seen.append((_status(_read_until_closed(sock)), time.monotonic() - opened))
                        break
                    sock.sendall(b"X-Slow-%d: a\r\n" % line)
                    line += 1
        except OSError:
            seen.append(("reset", time.monotonic() - opened))


def _big_head(port: int, stop: threading.Event, seen: list[tuple[str, float]], arg: Any) -> None:
    size, pause = arg
    chunk = b"a" * 65536
    while not stop.is_set():
        opened = time.monotonic()
        try:
            with socket.create_connection((HOST, port), timeout=10) as sock:
                with suppress(OSError):  # a refusal may reset the connection mid-send
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Big: ")
                    sent = 0
                    while sent < size and not stop.is_set():
                        if select.select([sock], [], [], 0)[0]:
                            break  # the server answered before the head was all sent
                        sock.sendall(chunk)
                        sent += len(chunk)
                # Sent (or refused): hold the unfinished head until the server closes it.
                answer = _read_until_closed(sock, stop.is_set)
                seen.append((_status(answer), time.monotonic() - opened))
        except OSError:
            seen.append(("reset", time.monotonic() - opened))
        stop.wait(pause)


def _large_body(port: int, stop: threading.Event, seen: list[tuple[str, float]], arg: Any) -> None:
    body, key = arg
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as http:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = str(
                    http.post("/v1/predict", content=body, headers=_headers(key)).status_code
                )
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            seen.append((status, time.monotonic() - started))


def _headers(key: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}


ATTACKERS = {"slow_head": _slow_head, "big_head": _big_head, "large_body": _large_body}


def _attack(
    kind: str, port: int, connections: int, arg: Any, stop: Event, ready: Event, out: Any
) -> None:
    """Child process: run ``connections`` attackers until ``stop``; report what they saw."""
    halt = threading.Event()
    records: list[list[tuple[str, float]]] = [[] for _ in range(connections)]
    threads = [
        threading.Thread(target=ATTACKERS[kind], args=(port, halt, records[i], arg), daemon=True)
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # let every attacker connect and start sending
    ready.set()
    stop.wait()
    halt.set()
    for thread in threads:
        thread.join(15)
    out.put([record for per_thread in records for record in per_thread])


# The probe and the memory sampler (in this process).


def _probe_once(port: int) -> float | None:
    started = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = _read_until_closed(sock)
    except OSError:
        return None
    return (time.perf_counter() - started) * 1000 if answer.startswith(b"HTTP/1.1 200") else None


def _measure(port: int, pid: int, outcome: Outcome) -> None:
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.025):
            outcome.peak_rss_mb = max(outcome.peak_rss_mb, rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for _ in range(PROBES):
        latency = _probe_once(port)
        if latency is None:
            outcome.probe_failures += 1
        else:
            outcome.latencies_ms.append(latency)
        time.sleep(PROBE_GAP_SECONDS)
    done.set()
    sampler.join()


def run_scenario(attack: Attack, port: int, pid: int, body: bytes, key: str) -> Outcome:
    outcome = Outcome()
    if attack.kind == "none":
        _measure(port, pid, outcome)
        outcome.rss_after_mb = rss_mb(pid)
        return outcome
    ctx = multiprocessing.get_context("spawn")
    stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
    arg: Any = (
        (body, key) if attack.kind == "large_body" else (attack.head_bytes, attack.pause_seconds)
    )
    child = ctx.Process(
        target=_attack, args=(attack.kind, port, attack.connections, arg, stop, ready, out)
    )
    child.start()
    try:
        if not ready.wait(60):
            raise RuntimeError(f"attackers for {attack.label!r} did not start")
        started = time.monotonic()
        _measure(port, pid, outcome)
        outcome.seconds = time.monotonic() - started
    finally:
        stop.set()
        records = out.get(timeout=60)
        child.join(30)
    outcome.attack = Counter(status for status, _ in records)
    outcome.seconds_to_answer = [seconds for _, seconds in records]
    time.sleep(1.0)  # what the server keeps once the attack is over
    outcome.rss_after_mb = rss_mb(pid)
    return outcome


# One connection at a time, as in the issue: how long does each stay open?


def _single(port: int, send: Callable[[socket.socket], None]) -> str:
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=10) as sock:
        deadline = started + SINGLE_CONNECTION_SECONDS

        def sender() -> None:
            with suppress(OSError):  # the server closed the connection: what is measured
                send(sock)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        answer = _read_until_closed(sock, lambda: time.monotonic() > deadline)
    elapsed = time.monotonic() - started
    if elapsed >= SINGLE_CONNECTION_SECONDS:
        return f"still open after {SINGLE_CONNECTION_SECONDS:.0f} s"
    status = _status(answer)
    return f"{'closed' if status == 'closed' else status} after {elapsed:.2f} s"


def single_connections(port: int) -> dict[str, str]:
    def idle(_: socket.socket) -> None:
        return

    def unfinished(sock: socket.socket) -> None:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")

    def trickle(sock: socket.socket) -> None:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
        for line in range(100):
            time.sleep(4)
            sock.sendall(b"X-Line-%d: a\r\n" % line)

    def huge(sock: socket.socket) -> None:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Big: ")
        chunk = b"a" * 65536
        for _ in range(1024):  # 64 MiB
            sock.sendall(chunk)

    cases = {
        "one 64 MiB header": huge,
        "an idle connection": idle,
        "an unfinished head, then nothing": unfinished,
        "a header line every 4 s": trickle,
    }
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=lambda n=name, s=send: results.__setitem__(n, _single(port, s)))
        for name, send in cases.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SINGLE_CONNECTION_SECONDS + 15)
    return {name: results.get(name, "no result") for name in cases}


def large_body(rows: int = 1000, unknown_keys: int = 90) -> bytes:
    """Rows of keys the model does not know: cheap to send, the parser's worst case."""
    row = {f"k{i}": 0 for i in range(unknown_keys)}
    return json.dumps({"rows": [row] * rows}, separators=(",", ":")).encode()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlsys-bench-abuse-"))
    api_port, metrics_port = free_port(), free_port()
    body = large_body()
    with registered_model(work) as model:
        env = {
            **model.api_env(api_port, metrics_port),
            # Every large body must be parsed, the server's worst case, not refused as too costly.
            "MLSYS_API_RATE_LIMIT_ROWS_PER_SECOND": "1000000000",
            "MLSYS_API_RATE_LIMIT_ROWS_BURST": "1000000000",
        }
        with process([API_PYTHON, "-m", "app"], env, work / "api.log") as api:
            wait_ready(f"http://{HOST}:{api_port}/readyz", api)
            with httpx.Client(base_url=f"http://{HOST}:{api_port}", timeout=30) as http:
                for _ in range(20):  # warm every path once before the idle figure
                    http.get("/healthz")
                    http.post(
                        "/v1/predict", json={"rows": model.rows[:10]}, headers=_headers(model.key)
                    )
                    http.post("/v1/predict", content=body, headers=_headers(model.key))
            time.sleep(1.0)
            idle_rss = rss_mb(api.pid)
            load = os.getloadavg()[0]
            singles = single_connections(api_port)
            outcomes = {}
            for attack in ATTACKS:
                outcomes[attack.label] = run_scenario(attack, api_port, api.pid, body, model.key)
                print(attack.label, _row(attack, outcomes[attack.label], idle_rss), flush=True)
    report = _render(outcomes, singles, idle_rss, len(body), load)
    print(report)
    write_section(REPORT, "abuse", report)
    shutil.rmtree(work, ignore_errors=True)


def _attack_summary(outcome: Outcome) -> str:
    if not outcome.attack:
        return ""
    parts = [f"{status} x{count:,}" for status, count in outcome.attack.most_common(3)]
    median = statistics.median(outcome.seconds_to_answer)
    rate = outcome.attack.total() / outcome.seconds if outcome.seconds else 0.0
    return f"{', '.join(parts)} ({rate:,.0f}/s); median {median:.2f} s from sending to the answer"


def _row(attack: Attack, outcome: Outcome, idle_rss: float) -> str:
    return (
        f"| {attack.label} | {outcome.percentile(0.5):.1f} | {outcome.percentile(0.99):.1f} "
        f"| {outcome.probe_failures} | {outcome.peak_rss_mb:.0f} "
        f"({outcome.peak_rss_mb - idle_rss:+.0f}) | {outcome.rss_after_mb:.0f} "
        f"| {_attack_summary(outcome)} |"
    )


def _render(
    outcomes: dict[str, Outcome],
    singles: dict[str, str],
    idle_rss: float,
    body_bytes: int,
    load: float,
) -> str:
    lines = [
        "## Under abuse: slow, oversized and large requests",
        "",
        "Written by `make bench-abuse` (tests/benchmarks/abuse.py); do not edit by hand.",
        "",
        f"- Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{load:.1f} at the start (the machine is shared).",
        f"- Probe: {PROBES} `GET /healthz`, each on a new connection as a kubelet probe makes "
        f"them, {PROBE_GAP_SECONDS * 1000:.0f} ms apart, while the attack runs; resident memory "
        "of the API sampled every 25 ms.",
        "- Attacks run from a separate process on the same machine and are sustained: an "
        "attacker whose connection is closed opens another (at once unless the row says "
        "otherwise). Each connection's outcome is counted: a status, `closed` without an answer, "
        "or `reset` when the refusal reset the connection before the attacker read it. None "
        f"sends a key, except the large bodies ({body_bytes / 1000:.0f} KB each, with a valid "
        "key; the row rate limit is raised so that every body is parsed).",
        "- The API: `python -m app` with the default limits (docs/api.md, Limits).",
        "",
        f"Targets: `/healthz` p99 < 50 ms; memory within ~50 MB of idle ({idle_rss:.0f} MB).",
        "",
        "| attack | /healthz p50 ms | p99 ms | probes failed | peak RSS MB (vs idle) "
        "| RSS 1 s after, MB | what the attackers got |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for attack in ATTACKS:
        lines.append(_row(attack, outcomes[attack.label], idle_rss))
    lines += [
        "",
        "| one connection | what the server did |",
        "|---|---|",
        *(f"| {name} | {result} |" for name, result in singles.items()),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
