"""What the knowledge base needs of its host, as structural types.

This package is a leaf: it must not import the contact-center core, yet its
plugin is handed the core's ``ChannelContext``. These protocols name the few
attributes it actually uses, so mypy checks the use without an import, and any
host (the core, a test, the CLI's own small database) that has them fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


class DatabaseLike(Protocol):
    """The core's ``Database``: an async engine plus its way of opening transactions.

    Writes must go through :meth:`transaction`, because on SQLite the host
    serialises writers with a lock of its own.
    """

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def is_sqlite(self) -> bool: ...

    def session(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class SettingsLike(Protocol):
    @property
    def data_dir(self) -> Path: ...


class ServicesLike(Protocol):
    @property
    def db(self) -> DatabaseLike: ...

    @property
    def settings(self) -> SettingsLike: ...


class ContextLike(Protocol):
    """The core's ``ChannelContext``: our ``[kb]`` config table, the web app, the core."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def app(self) -> Any: ...

    @property
    def services(self) -> ServicesLike: ...
