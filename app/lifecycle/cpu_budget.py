"""The pod's CPU budget, from its cgroup, and numeric thread pools sized to it once.

BLAS and OpenMP size their pools from the node's cores, not the container's limit: a pod
limited to one CPU on a 16-core node would run 16 threads and be throttled by the CFS quota.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("mlsys.api")

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _quota(root: Path) -> float | None:
    """CPUs allowed by the CFS quota (cgroup v2 ``cpu.max``, else v1), or None: no limit."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def cpu_limit(root: Path = CGROUP_ROOT) -> int:
    """Whole CPUs this process may use: the cgroup quota rounded up, at most the cores it sees."""
    cores = _available_cores()
    quota = _quota(root)
    if quota is None:
        return cores
    return max(1, min(cores, math.ceil(quota)))


def limit_thread_pools(threads: int | None = None) -> list[dict[str, Any]]:
    """Cap BLAS and OpenMP pools at ``threads`` (default: ``cpu_limit()``) and report them.

    OpenMP's limit belongs to the thread that sets it, so the scoring thread calls this
    itself before its first model call; BLAS's is process-wide.
    """
    # Importing scikit-learn loads the BLAS and OpenMP runtimes the models use; a pool that
    # is not loaded yet cannot be limited.
    import sklearn  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = threads or cpu_limit()
    threadpool_limits(limits=threads)
    pools = [{"library": p["internal_api"], "threads": p["num_threads"]} for p in threadpool_info()]
    log.info("numeric thread pools sized", extra={"threads": threads, "pools": pools})
    return pools
