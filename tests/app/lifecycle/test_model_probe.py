"""The probe process: a model that crashes, hangs or fails its first load is only a refusal."""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np
import pytest

from app.lifecycle.model_probe import ProbeError, run_in_child
from tests.app.crafted_models import crafted_forest


def _fine(path: str) -> None:
    assert path == "folder"


def _refuse(_: str) -> None:
    raise ValueError("smoke prediction was wrong")


def _segfault(_: str) -> None:
    ctypes.string_at(0)


def _hang(_: str) -> None:
    time.sleep(60)


def _exit_quietly(_: str) -> None:
    os._exit(3)


def _predict_unchecked(seed: int) -> None:
    """What serving did before the tree checks: load the crafted forest and predict."""
    x = np.random.default_rng(seed).normal(size=(50, 4))
    forest = crafted_forest(x, (x[:, 0] > 0).astype(int))
    for _ in range(100):
        forest.predict_proba(x)


def test_a_model_that_loads_passes():
    run_in_child(_fine, ("folder",), timeout=60)


def test_a_refusal_in_the_child_names_the_reason():
    with pytest.raises(ProbeError, match="ValueError: smoke prediction was wrong"):
        run_in_child(_refuse, ("folder",), timeout=60)


def test_a_crash_in_the_child_is_a_refusal_not_a_dead_server():
    with pytest.raises(ProbeError, match="died from signal SIGSEGV"):
        run_in_child(_segfault, ("folder",), timeout=60)


def test_the_issue_crafted_forest_crashes_when_nothing_checks_it():
    """Reproduces the finding: scikit-learn follows the crafted index out of its memory."""
    with pytest.raises(ProbeError, match="died from signal"):
        run_in_child(_predict_unchecked, (0,), timeout=60)


def test_a_hang_is_cut_off():
    started = time.monotonic()
    with pytest.raises(ProbeError, match=r"did not finish within 0\.5s"):
        run_in_child(_hang, ("folder",), timeout=0.5)
    assert time.monotonic() - started < 30


def test_an_exit_without_an_answer_is_a_refusal():
    with pytest.raises(ProbeError, match="exited with status 3"):
        run_in_child(_exit_quietly, ("folder",), timeout=60)
