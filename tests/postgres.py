"""The local PostgreSQL server used by integration tests, or a clear skip without it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason on a machine without PostgreSQL; fail where CI requires it."""
    if os.environ.get("MLSYS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (MLSYS_REQUIRE_POSTGRES=1) but: {reason}")
    pytest.skip(reason)


def require_postgres() -> None:
    """The local server on 127.0.0.1:5432, or ``unavailable`` naming what is wrong."""
    import psycopg2

    try:
        psycopg2.connect(connect_timeout=3, **PG).close()
    except psycopg2.OperationalError as exc:
        unavailable(f"needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth): {exc}")
