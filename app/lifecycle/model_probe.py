"""Runs a model's first load and smoke prediction in a child process, so a crash there is a
refusal instead of the end of the server.

Children come from a fork server that has already imported scikit-learn and skops, so a
probe costs a fork and a load rather than a fresh interpreter; the server forks from a
process without threads, which keeps the fork safe.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from app.model_contract import ArtifactError

_PRELOAD = ["app.lifecycle.artifact_loader", "sklearn.ensemble", "sklearn.pipeline", "skops.io"]


class ProbeError(ArtifactError):
    """The child process that tried the model crashed, hung, or refused it."""


def _child(target: Callable[..., Any], args: tuple[Any, ...], conn: Connection) -> None:
    try:
        target(*args)
    except BaseException as exc:  # the parent needs every failure as a message
        conn.send(f"{type(exc).__name__}: {exc}")
    else:
        conn.send(None)
    finally:
        conn.close()


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"died from signal {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode} without an answer"


def run_in_child(target: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> None:
    """Call ``target(*args)`` in a child process; raise ProbeError unless it returns."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, args, sender), name="model-probe")
    process.start()
    sender.close()
    try:
        answered = receiver.poll(timeout)
        message = receiver.recv() if answered else None
    except EOFError:
        answered, message = False, None
    finally:
        receiver.close()
    process.join(timeout if answered else 0.1)
    if process.is_alive():
        process.kill()
        process.join()
        raise ProbeError(f"model probe did not finish within {timeout:g}s")
    if message is not None:
        raise ProbeError(f"model refused in the probe process: {message}")
    if not answered or process.exitcode != 0:
        raise ProbeError(f"model probe process {_describe(process.exitcode)}")
