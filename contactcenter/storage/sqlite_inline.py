"""An asyncio face for ``sqlite3`` that runs each call on the event loop's own thread.

Why: aiosqlite runs every call (cursor, execute, fetch, close) in its own
thread and wakes the event loop for each result. A web chat message takes
about ten statements, so about 34 such hand-offs; profiled under load they
(thread wake-ups, the loop's self-pipe, GIL switches) cost more CPU than the
SQL itself. A statement of the write path takes tens of microseconds in
SQLite, less than one hand-off.

It is plugged into SQLAlchemy's aiosqlite dialect through
``create_async_engine(async_creator=...)``, and used only for the core's write
transactions (``Database.transaction``), which a process runs one at a time
anyway. Reads keep aiosqlite's threads, so a long report never holds the loop.

What would otherwise block the loop is handled here:

* **Locks.** The connection has no busy timeout; a transaction starts with
  ``BEGIN IMMEDIATE`` (the write lock up front, so reading then writing in one
  transaction can never fail half way), and when another process holds the
  lock the wait is an ``asyncio.sleep`` with back-off, up to ``lock_timeout``.
* **Long transactions.** Between statements, after ``YIELD_EVERY`` seconds of
  work, the connection yields to the loop (other tasks can read and talk to
  sockets; writers still wait for the transaction); ``executemany`` runs in
  chunks for the same reason. The clock runs on across back-to-back
  transactions, which need not await anything else (``Database`` keeps the
  writer's session between them), so a task writing in a loop yields too.
* **Checkpoints.** The connection never checkpoints the WAL itself
  (``wal_autocheckpoint=0``): ``Database`` asks a reader thread to do it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: Seconds of SQL between two yields to the event loop inside one transaction.
YIELD_EVERY = 0.004
#: A transaction beginning this long after the last yield follows an idle spell.
IDLE_GAP = 0.05
#: Rows per chunk of an ``executemany``.
CHUNK_ROWS = 256


def _starts_transaction(sql: str) -> bool:
    head = sql.lstrip()[:8].upper()
    return not head.startswith(("PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "END"))


class InlineCursor:
    """The subset of ``aiosqlite.Cursor`` SQLAlchemy's adapter uses."""

    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn
        self._cursor = conn.raw.cursor()
        self._many_rowcount: int | None = None  # executemany's total over its chunks

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        if self._many_rowcount is not None:
            return self._many_rowcount
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._conn.before(sql)
        self._many_rowcount = None
        self._cursor.execute(sql, parameters)
        await self._conn.after()
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        await self._conn.before(sql)
        rows = list(seq_of_parameters)
        total = 0
        for start in range(0, max(len(rows), 1), CHUNK_ROWS):
            self._cursor.executemany(sql, rows[start : start + CHUNK_ROWS])
            total += max(self._cursor.rowcount, 0)
            await self._conn.after()
        self._many_rowcount = total
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        return None

    async def nextset(self) -> None:
        return None


class _CursorContext:
    """What ``connection.cursor()`` returns: the adapter enters it with ``__aenter__``."""

    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._conn)

    async def __aexit__(self, *exc: object) -> None:
        return None


class InlineConnection:
    """The subset of ``aiosqlite.Connection`` SQLAlchemy's adapter uses, run inline."""

    def __init__(self, raw: sqlite3.Connection, *, lock_timeout: float) -> None:
        self.raw = raw
        self.lock_timeout = lock_timeout
        self._since_yield = time.perf_counter()
        #: Truthy while open: SQLAlchemy's adapter checks it before commit/rollback.
        self._connection: sqlite3.Connection | None = raw

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(self)

    async def before(self, sql: str) -> None:
        """Take the write lock before the transaction's first statement, waiting politely."""
        if self.raw.in_transaction or not _starts_transaction(sql):
            return
        delay = 0.001
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                now = time.perf_counter()
                if now - self._since_yield > IDLE_GAP:
                    # The loop ran meanwhile. Otherwise the clock runs on across
                    # transactions: back-to-back short ones must yield too.
                    self._since_yield = now
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def after(self) -> None:
        """Let the loop run between statements of a long transaction."""
        now = time.perf_counter()
        if now - self._since_yield > YIELD_EVERY:
            await asyncio.sleep(0)
            self._since_yield = time.perf_counter()

    async def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], **kw: Any
    ) -> None:
        self.raw.create_function(name, num_params, func, **kw)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self.raw.close()

    def stop(self) -> None:
        """SQLAlchemy's ``terminate``: close now."""
        if self._connection is not None:
            self._connection = None
            self.raw.close()


def inline_connector(
    path: str, *, lock_timeout: float = 30.0, pragmas: Sequence[str] = ()
) -> Callable[[], Any]:
    """The ``async_creator`` for ``create_async_engine``: opens ``path`` inline."""

    async def connect() -> InlineConnection:
        raw = sqlite3.connect(
            path,
            timeout=0,  # never wait inside SQLite: BEGIN IMMEDIATE retries with asyncio.sleep
            isolation_level=None,  # transactions are begun here (BEGIN IMMEDIATE)
            check_same_thread=False,  # the pool may close it from its finaliser
        )
        for pragma in pragmas:
            raw.execute(pragma)
        raw.execute("PRAGMA wal_autocheckpoint=0")  # Database checkpoints from a reader thread
        return InlineConnection(raw, lock_timeout=lock_timeout)

    return connect
