"""The async engines and the one way to open a transaction.

SQLite is the embedded default; PostgreSQL (asyncpg) is production.
SQLite allows one writer at a time and answers "database is locked" to the
others, so on SQLite transactions are serialised by an asyncio lock in this
process; on PostgreSQL the conversation row is the lock (``FOR UPDATE``).

On SQLite there are two engines on the same file: reads go through aiosqlite
(a thread per connection, so a long query never holds the event loop), and
write transactions through one connection run on the loop itself
(``sqlite_inline.py``: the thread hand-offs cost more than the SQL). The WAL
is checkpointed by a reader thread every ``CHECKPOINT_EVERY`` commits, since
the inline writer never does it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter import jsoncodec
from contactcenter.storage.hot import KEPT_INFO, sqlite_error
from contactcenter.storage.rows import discard_queued, flush_queued
from contactcenter.storage.sqlite_inline import InlineConnection, inline_connector

log = logging.getLogger(__name__)

#: Write transactions between two WAL checkpoints (SQLite).
CHECKPOINT_EVERY = 200
#: A WAL larger than this is checkpointed with the writers waiting, so it starts over.
WAL_RESET_BYTES = 64 * 1024 * 1024
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Database:
    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        json_codec: dict[str, Any] = {
            "json_serializer": jsoncodec.dumps,
            "json_deserializer": jsoncodec.loads,
        }
        kwargs: dict[str, Any] = {"echo": echo, **json_codec}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            database = make_url(self.url).database
            if database and database != ":memory:":
                # A fresh data directory: create it rather than fail with "unable to open".
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
            if schema:
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        #: Where write transactions run: the same engine, or on SQLite the inline one.
        self.write_engine = self.engine
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None
        self._page_bytes: int | None = None
        #: SQLite file: the writer's session and connection, kept between transactions.
        self._writer: AsyncSession | None = None
        self._writer_conn: AsyncConnection | None = None
        self._writer_inline: InlineConnection | None = None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            parsed = make_url(self.url)
            database = parsed.database
            # A plain file path only: ":memory:" and URI forms ("file:...?mode=memory",
            # query options) keep one engine, so reads and writes see one database.
            plain_file = not parsed.query and not (database or ":").startswith((":", "file:"))
            if database and plain_file:
                self.write_engine = create_async_engine(
                    self.url,
                    echo=echo,
                    **json_codec,
                    async_creator=inline_connector(database, pragmas=_PRAGMAS),
                    poolclass=AsyncAdaptedQueuePool,
                    pool_size=1,  # one writer at a time anyway (the lock above)
                    max_overflow=0,
                )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session (no commit)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on success, rolled back on any error."""
        if self._write_lock is not None:
            async with self._write_lock:
                async with self._session_tx() as session:
                    yield session
            self._after_sqlite_commit()
        else:
            async with self._session_tx() as session:
                yield session

    @contextlib.asynccontextmanager
    async def _session_tx(self) -> AsyncIterator[AsyncSession]:
        if self.write_engine is not self.engine:
            async with self._writer_tx() as session:
                yield session
            return
        async with AsyncSession(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                await flush_queued(session)
                await session.commit()
            except BaseException:
                discard_queued(session)
                await session.rollback()
                raise

    @contextlib.asynccontextmanager
    async def _writer_tx(self) -> AsyncIterator[AsyncSession]:
        """A transaction on the one SQLite writer, in a session kept between transactions.

        Writers take turns (the write lock), so one session on one connection serves
        them all: a new ``AsyncSession`` with a pool checkout and check-in, and the
        session's own begin, cost twice the SQL of a lone web chat message (a
        transaction of one statement: 340 -> 110 µs). Between transactions the
        session is left as a closed one would be (nothing in its identity map or
        ``info``) but for the hot path's handle on the connection. The hot path's
        statements may then run without the session having begun a transaction of
        its own, so the connection's transaction is committed (or rolled back) here
        as well. A rollback that fails drops the session and its connection; the
        next transaction opens new ones.
        """
        if self._writer is None:
            conn = await self.write_engine.connect()
            raw = (await conn.get_raw_connection()).driver_connection
            assert isinstance(raw, InlineConnection)
            self._writer_conn, self._writer_inline = conn, raw
            self._writer = AsyncSession(bind=conn, expire_on_commit=False)
        session, inline = self._writer, self._writer_inline
        assert inline is not None
        try:
            yield session
            await flush_queued(session)
            # A transaction of hot-path statements only (the usual inbound message)
            # never began one of the session's own: nothing for it to commit, and
            # asking it anyway cost a tenth of a lone message.
            if session.in_transaction():
                await session.commit()
            try:  # what the hot path ran outside the session's transaction
                await inline.commit()
            except sqlite3.Error as exc:
                raise sqlite_error(exc, "COMMIT") from exc
        except BaseException:
            discard_queued(session)
            await self._roll_back_writer(session, inline)
            raise
        finally:
            if self._writer is session:
                if session.identity_map or session.new:
                    session.expunge_all()
                if session.info.keys() - KEPT_INFO:
                    kept = {k: v for k, v in session.info.items() if k in KEPT_INFO}
                    session.info.clear()
                    session.info.update(kept)

    async def _roll_back_writer(self, session: AsyncSession, inline: InlineConnection) -> None:
        """Roll back; drop the session and its connection if they cannot be trusted
        any more (SQLAlchemy invalidates a connection whose statement was cancelled,
        or the rollback itself failed). A cancellation of the rollback goes on up."""
        try:
            await session.rollback()
            conn = self._writer_conn
            if conn is not None and not conn.invalidated:
                await inline.rollback()
                return
        except asyncio.CancelledError:
            await self._drop_writer()
            raise
        except Exception:
            log.warning("SQLite writer: rollback failed; opening a new connection", exc_info=True)
        await self._drop_writer()

    async def _drop_writer(self) -> None:
        session, conn = self._writer, self._writer_conn
        self._writer = self._writer_conn = self._writer_inline = None
        with contextlib.suppress(Exception):
            if session is not None:
                await session.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()  # its sqlite3 connection is not reused
            with contextlib.suppress(Exception):
                await conn.close()  # and its place in the pool is given back, whatever

    def _after_sqlite_commit(self) -> None:
        if self.write_engine is self.engine:
            return
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._checkpoint = asyncio.create_task(self.checkpoint(), name="sqlite-checkpoint")

    async def checkpoint(self) -> None:
        """Copy the WAL back into the database file, from a reader's thread.

        Usually PASSIVE, racing the writers: it never blocks them, but under a
        steady stream of commits it never catches up, and SQLite starts the WAL
        over only once every frame is copied; so the WAL grows until traffic
        pauses. Once it holds more than ``WAL_RESET_BYTES`` of frames the
        checkpoint runs again while this process's writers wait (the loop does
        not), which lets SQLite start over. That wait is mostly the two fsyncs
        (30-80 ms on the test machine), hence only then and not every time.

        The frames in use, not the file's size: SQLite reuses the file from its
        start without shrinking it, so once past the limit the file stays there,
        and a size test held the writers 30-80 ms at every checkpoint, every
        0.4 s under load (seen with 2,000 web chat visitors: a 79 MB file).
        """
        assert self._write_lock is not None
        try:
            async with self.engine.connect() as conn:
                # (busy, frames in the WAL since it last started over, frames copied)
                row = list((await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")).one())
                if int(row[1]) * await self._page_size(conn) > WAL_RESET_BYTES:
                    async with self._write_lock:
                        await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            log.warning("SQLite WAL checkpoint failed; will try again", exc_info=True)

    async def _page_size(self, conn: AsyncConnection) -> int:
        if self._page_bytes is None:
            self._page_bytes = int(
                (await conn.exec_driver_sql("PRAGMA page_size")).scalar_one() or 4096
            )
        return self._page_bytes

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._checkpoint is not None and not self._checkpoint.done():
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self.write_engine is not self.engine:
            if self._writer_conn is not None:
                async with self._write_lock or contextlib.nullcontext():
                    session, conn = self._writer, self._writer_conn
                    self._writer = self._writer_conn = self._writer_inline = None
                    try:
                        if session is not None:
                            await session.close()
                    finally:
                        await conn.close()  # whatever the session did: back to the pool
            await self.write_engine.dispose()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """The readers' pragmas: the writer's, and a busy timeout (a reader in its own
    thread may wait inside SQLite; the inline writer never does)."""
    cursor = dbapi_conn.cursor()
    for pragma in (*_PRAGMAS, "PRAGMA busy_timeout=30000"):
        cursor.execute(pragma)
    cursor.close()
