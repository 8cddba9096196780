"""The local PostgreSQL server used by integration tests, or a clear skip without it."""

from __future__ import annotations

import os

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def require_postgres() -> None:
    """Skip with the reason when the server is absent; fail instead where CI requires it."""
    import psycopg2

    try:
        psycopg2.connect(connect_timeout=3, **PG).close()
    except psycopg2.OperationalError as exc:
        if os.environ.get("MLSYS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (MLSYS_REQUIRE_POSTGRES=1) but: {exc}")
        pytest.skip(f"needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth): {exc}")
