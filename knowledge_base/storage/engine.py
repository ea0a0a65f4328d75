"""A minimal database handle for the ``contactcenter kb`` commands.

The commands run outside the server and may not import the core's
``Database``, so this is the small part of it they need (the
:class:`~knowledge_base.contracts.DatabaseLike` shape), and the same rules for
finding the database as the core's settings: ``--data-dir`` (default
``./data``) holding ``contactcenter.db``, overridden by ``database_url`` in the
``--config`` TOML file, overridden by ``CONTACTCENTER_DATABASE_URL``.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

ENV_PREFIX = "CONTACTCENTER_"


class DatabaseConfigError(ValueError):
    """The database location cannot be worked out; the message says why."""


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` / ``sqlite:///`` URLs get their async drivers (as the core does)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def database_location(
    config_file: Path | None,
    data_dir: Path | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, str | None]:
    """``(url, schema)`` by the core's precedence: defaults < TOML < environment < flags."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    if path is not None:
        try:
            values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise DatabaseConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise DatabaseConfigError(f"config file {path} is not valid TOML: {exc}") from None
    for key in ("database_url", "database_schema", "data_dir"):
        if env.get(ENV_PREFIX + key.upper()):
            values[key] = env[ENV_PREFIX + key.upper()]
    if data_dir is not None:
        values["data_dir"] = data_dir
    url = values.get("database_url")
    if not url:
        folder = Path(values.get("data_dir") or "./data")
        url = f"sqlite+aiosqlite:///{(folder / 'contactcenter.db').resolve()}"
    schema = values.get("database_schema")
    return str(url), (str(schema) if schema else None)


class StandaloneDatabase:
    """An async engine with ``session()``/``transaction()`` like the core's ``Database``."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = normalise_url(url)
        self._is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self._is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        elif schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        self._engine = create_async_engine(self.url, **kwargs)
        if self._is_sqlite:
            event.listen(self._engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._is_sqlite

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self._engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
