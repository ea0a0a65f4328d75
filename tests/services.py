"""Real services for tests: PostgreSQL and Redis on loopback.

On a machine without one, its tests skip with the reason; in CI (CI=true) a
missing service is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

POSTGRES_URL = os.environ.get(
    "CONTACTCENTER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CONTACTCENTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(available: bool, what: str) -> None:
    """Skip (or, in CI, fail) when a service the test needs is not there."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")


def require_postgres() -> None:
    require(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")


def require_redis() -> None:
    require(port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[dict[str, Any]]:
    """Database settings for a fresh PostgreSQL schema, dropped afterwards."""
    import asyncpg  # only where PostgreSQL is used

    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield {"database_url": POSTGRES_URL, "database_schema": schema}
    finally:
        # A connection the app failed to release can hold a lock on the schema; the
        # schema's name is unique, so leaving it behind is harmless, hanging is not.
        try:
            await conn.execute("SET lock_timeout = '10s'")
            await asyncio.wait_for(conn.execute(f'DROP SCHEMA "{schema}" CASCADE'), 20)
        except (asyncpg.PostgresError, TimeoutError) as exc:
            print(f"\nWARNING: test schema {schema} left behind: {type(exc).__name__}: {exc}")
        finally:
            conn.terminate()
