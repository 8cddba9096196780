"""Processes a drill starts, stops and restarts itself; each wait is bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

import httpx


class DrillError(RuntimeError):
    """A drill step did not reach its expected state in time."""


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> float:
    """Poll ``check`` until it holds; returns the seconds it took, raises after ``timeout``."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except (httpx.HTTPError, OSError):
            pass
        if time.monotonic() - started > timeout:
            raise DrillError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


def answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == status
    except httpx.HTTPError:
        return False


class Service:
    """One child process with a health URL; ``stop`` then ``start`` is a real restart."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        health_url: str | None,
        log: Path,
        env: dict[str, str] | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.name, self.argv, self.health_url, self.log = name, list(argv), health_url, log
        self.env = {**os.environ, **(env or {})}
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise DrillError(f"{self.name} is not running")
        return self.process.pid

    def start(self) -> float:
        """Start and wait until healthy; returns the seconds that took."""
        with self.log.open("ab") as sink:
            # A session of its own: `mlflow server` runs uvicorn as a child, which must go too.
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process

        def healthy() -> bool:
            if process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise DrillError(f"{self.name} exited with {process.returncode}:\n{tail}")
            return self.health_url is None or answers(self.health_url)

        return wait_until(healthy, self.start_timeout, f"{self.name} healthy")

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0, *, group: bool = True
    ) -> int | None:
        """Signal the process (its whole group, or as Kubernetes does, the process alone),
        wait for it to exit (killed after ``timeout``), then end anything it left behind."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            if group:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(10)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return code

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
