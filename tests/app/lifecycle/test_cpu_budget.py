"""The CPU budget comes from the cgroup quota, and the scoring thread's pools follow it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.lifecycle import cpu_budget
from app.lifecycle.cpu_budget import cpu_limit, limit_thread_pools


@pytest.fixture(autouse=True)
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_budget, "_available_cores", lambda: 8)


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", 8), ("100000 100000\n", 1), ("150000 100000\n", 2), ("50000 100000", 1)],
)
def test_cgroup_v2_quota_rounds_up(tmp_path: Path, cpu_max: str, expected: int) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert cpu_limit(tmp_path) == expected


def test_a_quota_above_the_visible_cores_is_capped(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("1600000 100000\n")
    assert cpu_limit(tmp_path) == 8


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_limit(tmp_path) == 2
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_limit(tmp_path) == 8


@pytest.mark.parametrize("content", [None, "garbage", ""])
def test_no_readable_quota_means_the_visible_cores(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "cpu.max").write_text(content)
    assert cpu_limit(tmp_path) == 8


def test_limits_apply_to_the_thread_that_sets_them() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    blas_before = max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
    seen: dict[str, list[int]] = {}

    def scoring_thread() -> None:
        limit_thread_pools(1)
        for pool in threadpool_info():
            seen.setdefault(pool["user_api"], []).append(pool["num_threads"])

    worker = threading.Thread(target=scoring_thread)
    worker.start()
    worker.join()
    threadpool_limits(blas_before, user_api="blas")  # BLAS's limit is process-wide
    assert seen["blas"] and set(seen["blas"]) == {1}
    assert set(seen.get("openmp", [1])) == {1}
