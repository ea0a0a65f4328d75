"""SQLite write transactions run inline on the event loop (``storage/sqlite_inline.py``).

What a user or operator would notice if this broke: lost or half-written data,
a server that freezes while another process (an import, a backup) holds the
database's write lock, a WAL file that grows forever, a "database is locked"
error that never comes or comes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import ForeignKey, bindparam, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contactcenter.storage import database as database_module
from contactcenter.storage import hot, sqlite_inline
from contactcenter.storage.database import Database


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    n: Mapped[int] = mapped_column(server_default="0")


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))


class Blob(Base):
    __tablename__ = "blobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes]


ITEMS = Item.__table__


# ---------------------------------------------------------------------- helpers


async def open_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_db(tmp_path)
    try:
        yield database
    finally:
        await database.dispose()


def file_of(db: Database) -> Path:
    database = make_url(db.url).database
    assert database
    return Path(database)


async def insert_item(db: Database, name: str) -> None:
    async with db.transaction() as session:
        conn = await session.connection()
        await conn.execute(insert(ITEMS).values(name=name))


async def item_rows(db: Database) -> list[tuple[str, int]]:
    """What a reader (the other engine) sees."""
    async with db.session() as session:
        conn = await session.connection()
        rows = await conn.execute(select(ITEMS.c.name, ITEMS.c.n).order_by(ITEMS.c.name))
        return [(name, n) for name, n in rows]


async def item_names(db: Database) -> list[str]:
    return [name for name, _ in await item_rows(db)]


def size_of(path: Path) -> int:
    """The file's size, 0 if it does not exist."""
    return path.stat().st_size if path.exists() else 0


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def assert_write_lock_is_free(path: Path) -> None:
    """Another process can take the write lock right now (nothing was left holding it)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


class Ticker:
    """A task that counts how often the event loop let it run."""

    def __init__(self, interval: float = 0.0) -> None:
        self.interval = interval
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.ticks += 1

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class LockHolder:
    """Another process's writer: a plain sqlite3 connection in a thread holding the write
    lock (with one uncommitted row, 'other') until released or ``seconds`` pass."""

    def __init__(self, path: Path, *, seconds: float) -> None:
        self.path = path
        self.seconds = seconds
        self.locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO items(name) VALUES ('other')")
                self.locked.set()
                self._release.wait(self.seconds)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException as exc:
            self.error = exc
            self.locked.set()

    def __enter__(self) -> LockHolder:
        self._thread.start()
        assert self.locked.wait(5) and self.error is None, self.error
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)
        assert not self._thread.is_alive()
        assert self.error is None, self.error


# ---------------------------------------------------------------------- commit and rollback


async def test_a_commit_is_seen_by_readers_and_a_failed_transaction_leaves_nothing(
    db: Database,
) -> None:
    assert db.write_engine is not db.engine  # two engines on the one file
    await insert_item(db, "kept")
    assert await item_rows(db) == [("kept", 0)]

    with pytest.raises(RuntimeError, match="handler failed"):
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(insert(ITEMS).values(name="lost"))
            await conn.execute(update(ITEMS).values(n=99))
            raise RuntimeError("handler failed")

    assert await item_rows(db) == [("kept", 0)]
    assert_write_lock_is_free(file_of(db))
    await insert_item(db, "next")  # and the write connection still works
    assert await item_names(db) == ["kept", "next"]


async def test_a_unique_violation_is_an_integrity_error_and_the_connection_recovers(
    db: Database,
) -> None:
    await insert_item(db, "taken")
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(insert(ITEMS).values(name="before-the-error"))
            await conn.execute(insert(ITEMS).values(name="taken"))
    # A duplicate deep inside a chunked executemany: the earlier chunks go too.
    rows = [{"name": f"bulk{i}"} for i in range(3 * sqlite_inline.CHUNK_ROWS)]
    rows.append({"name": "taken"})
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(insert(ITEMS), rows)

    assert await item_names(db) == ["taken"]
    assert_write_lock_is_free(file_of(db))
    await insert_item(db, "fine")
    assert await item_names(db) == ["fine", "taken"]


async def test_foreign_keys_are_enforced_in_write_transactions(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(insert(Note.__table__).values(item_id=12345))


async def test_concurrent_writers_in_one_process_never_lose_an_update(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-modify-write from many tasks, each transaction yielding mid-way."""
    monkeypatch.setattr(sqlite_inline, "YIELD_EVERY", 0.0)
    await insert_item(db, "counter")

    async def increment() -> None:
        async with db.transaction() as session:
            conn = await session.connection()
            n = (await conn.execute(select(ITEMS.c.n).where(ITEMS.c.name == "counter"))).scalar()
            await asyncio.sleep(0)
            await conn.execute(update(ITEMS).where(ITEMS.c.name == "counter").values(n=n + 1))

    await asyncio.wait_for(asyncio.gather(*(increment() for _ in range(40))), 30)
    assert await item_rows(db) == [("counter", 40)]


# ---------------------------------------------------------------------- another process's lock


async def test_a_writer_waits_for_another_process_without_freezing_the_loop(
    db: Database,
) -> None:
    await insert_item(db, "warm")  # the inline connection exists already
    # (Released by the test; after 2 s on its own, so a frozen loop fails fast.)
    with LockHolder(file_of(db), seconds=2) as holder:
        async with Ticker(0.005) as ticker:
            writer = asyncio.create_task(insert_item(db, "mine"))
            await asyncio.sleep(0.15)
            ticks_while_locked = ticker.ticks
            assert not writer.done()  # waiting for the lock...
            assert await item_names(db) == ["warm"]  # ...while reads still work
            holder.release()
            await asyncio.wait_for(writer, 10)
    assert ticks_while_locked >= 5  # ~30 expected: the loop kept serving other tasks
    assert await item_names(db) == ["mine", "other", "warm"]  # nothing lost on either side


async def test_a_fresh_write_connection_also_waits_for_the_lock(db: Database) -> None:
    """The server starting while an import holds the lock: connecting must not fail."""
    with LockHolder(file_of(db), seconds=5) as holder:
        writer = asyncio.create_task(insert_item(db, "first"))
        await asyncio.sleep(0.1)
        assert not writer.done()
        holder.release()
        await asyncio.wait_for(writer, 10)
    assert await item_names(db) == ["first", "other"]


async def test_a_lock_never_released_fails_after_lock_timeout_with_the_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        database_module,
        "inline_connector",
        functools.partial(sqlite_inline.inline_connector, lock_timeout=0.3),
    )
    db = await open_db(tmp_path)
    try:
        await insert_item(db, "warm")
        with LockHolder(file_of(db), seconds=5) as holder:
            async with Ticker(0.005) as ticker:
                started = time.monotonic()
                with pytest.raises(OperationalError, match="locked"):
                    await asyncio.wait_for(insert_item(db, "mine"), 10)
                waited = time.monotonic() - started
            holder.release()
        assert 0.15 <= waited < 5  # about lock_timeout, not at once and not 30 s
        assert ticker.ticks >= 10  # the wait was asyncio.sleep, not a blocking busy wait
        # Nothing half-done, and the same connection writes once the lock is free.
        await insert_item(db, "after")
        assert await item_names(db) == ["after", "other", "warm"]
    finally:
        await db.dispose()


async def test_a_writer_cancelled_while_waiting_for_the_lock_leaves_no_trace(
    db: Database,
) -> None:
    with LockHolder(file_of(db), seconds=5) as holder:
        writer = asyncio.create_task(insert_item(db, "cancelled"))
        await asyncio.sleep(0.1)
        assert not writer.done()
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        holder.release()
    await asyncio.wait_for(insert_item(db, "after"), 10)
    assert await item_names(db) == ["after", "other"]
    # The cancelled statement's connection went back to the pool (invalidated): only
    # the writer's new one is out.
    assert db.write_engine.pool.checkedout() == 1  # type: ignore[attr-defined]


async def test_a_dropped_writer_goes_back_to_the_pool_even_if_invalidating_it_fails(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise the garbage collector finds the connection still checked out, later,
    in whichever test happens to run then."""
    await insert_item(db, "warm")
    conn = db._writer_conn
    assert conn is not None and db.write_engine.pool.checkedout() == 1  # type: ignore[attr-defined]

    async def broken(self: AsyncConnection, exception: BaseException | None = None) -> None:
        raise RuntimeError("invalidate failed")

    monkeypatch.setattr(AsyncConnection, "invalidate", broken)
    await db._drop_writer()
    assert db.write_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    await insert_item(db, "after")  # a new writer connection is opened
    assert await item_names(db) == ["after", "warm"]


# ---------------------------------------------------------------------- the kept writer session


async def test_each_transaction_reads_rows_afresh_though_the_session_is_kept(
    db: Database,
) -> None:
    """The writer's session outlives its transactions, not what they loaded: a row
    another process changed in between is read as it is now, not as it was."""
    await insert_item(db, "kept")
    async with db.transaction() as session:
        conn = await session.connection()
        item_id = (await conn.execute(select(ITEMS.c.id))).scalar_one()
        first = await session.get(Item, item_id)
        assert first is not None and first.n == 0
        session.info["scratch"] = "only for this transaction"
    with contextlib.closing(sqlite3.connect(file_of(db), isolation_level=None)) as other:
        other.execute("UPDATE items SET n = 7 WHERE name = 'kept'")
    async with db.transaction() as session:
        again = await session.get(Item, item_id)
        assert again is not None and again.n == 7 and again is not first
        assert "scratch" not in session.info
        assert first not in session  # what the last transaction loaded was let go
    assert first.n == 0  # and stays readable as it was (expire_on_commit=False)


async def test_a_failed_transaction_on_the_kept_session_leaves_nothing_and_the_next_works(
    db: Database,
) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(insert(ITEMS).values(name="half"))
            session.add(Item(name="orm-half"))
            await conn.execute(insert(ITEMS).values(name="half"))  # duplicate: fails
    assert await item_names(db) == []
    assert_write_lock_is_free(file_of(db))
    async with db.transaction() as session:
        session.add(Item(name="whole"))
        conn = await session.connection()
        await conn.execute(insert(ITEMS).values(name="whole-too"))
    assert await item_names(db) == ["whole", "whole-too"]


async def test_a_failing_commit_of_hot_path_statements_is_sqlalchemys_error(db: Database) -> None:
    """The hot path's statements can run outside a transaction of the kept session's
    own; their COMMIT is then the database's, and fails as SQLAlchemy's would."""
    async with db.transaction() as session:
        await hot.first(session, select(ITEMS.c.id))  # leaves the handle on the connection
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with db.transaction() as session:
            assert not session.in_transaction()
            await hot.run(session, insert(ITEMS), {"name": "lost"})
            inline = (await hot._target(session)).inline
            assert inline is not None and not session.in_transaction()
            inline.raw.execute("PRAGMA defer_foreign_keys=ON")  # checked at COMMIT
            await hot.run(session, insert(Note.__table__), {"item_id": 999})
    assert await item_names(db) == []
    assert_write_lock_is_free(file_of(db))
    await insert_item(db, "next")
    assert await item_names(db) == ["next"]


async def test_a_task_writing_in_a_loop_still_lets_the_loop_run(db: Database) -> None:
    """Back-to-back transactions await nothing but the SQL: the connection's yield
    clock runs across them, so other tasks keep running."""
    async with Ticker() as ticker:
        started = ticker.ticks
        deadline = time.monotonic() + 0.3
        count = 0
        while time.monotonic() < deadline:
            await insert_item(db, f"row{count}")
            count += 1
        ticks = ticker.ticks - started
    assert count > 10 and ticks >= 5, (count, ticks)


# ---------------------------------------------------------------------- long transactions


async def test_a_long_transaction_lets_readers_finish_meanwhile(db: Database) -> None:
    """Readers neither wait for a long write transaction nor see its uncommitted rows."""
    await insert_item(db, "old")
    async with Ticker() as ticker:
        async with db.transaction() as session:
            conn = await session.connection()
            ticks_before = ticker.ticks
            reader = asyncio.create_task(item_names(db))
            statements = 0
            deadline = time.monotonic() + 10
            while not reader.done() or statements < 100:
                await conn.execute(insert(ITEMS).values(name=f"new{statements}"))
                statements += 1
                assert time.monotonic() < deadline, "the transaction never let the reader run"
            ticks_during = ticker.ticks - ticks_before
            seen_by_reader = reader.result()
    assert seen_by_reader == ["old"]
    assert ticks_during >= 2
    assert len(await item_names(db)) == statements + 1


async def test_every_statement_yields_when_yield_every_is_zero(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "YIELD_EVERY", 0.0)
    async with Ticker() as ticker, db.transaction() as session:
        conn = await session.connection()
        ticks_before = ticker.ticks
        for i in range(50):
            await conn.execute(insert(ITEMS).values(name=f"n{i}"))
        ticks_during = ticker.ticks - ticks_before
    assert ticks_during >= 40
    assert len(await item_names(db)) == 50


# ---------------------------------------------------------------------- executemany


async def test_executemany_over_many_chunks_stores_every_row_and_counts_them_all(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "YIELD_EVERY", 0.0)
    count = 1000
    assert count > 3 * sqlite_inline.CHUNK_ROWS and count % sqlite_inline.CHUNK_ROWS
    async with Ticker() as ticker:
        async with db.transaction() as session:
            conn = await session.connection()
            ticks_before = ticker.ticks
            inserted = await conn.execute(
                insert(ITEMS), [{"name": f"item{i}", "n": i} for i in range(count)]
            )
            ticks_during_insert = ticker.ticks - ticks_before
            updated = await conn.execute(
                update(ITEMS).where(ITEMS.c.name == bindparam("b_name")).values(n=bindparam("b_n")),
                [{"b_name": f"item{i}", "b_n": -i} for i in range(count)],
            )
    assert inserted.rowcount == count
    assert updated.rowcount == count
    assert ticks_during_insert >= 3  # the loop ran between the chunks
    async with db.session() as session:
        conn = await session.connection()
        stored, total = (await conn.execute(select(func.count(), func.sum(ITEMS.c.n)))).one()
    assert (stored, total) == (count, -sum(range(count)))


async def test_orm_bulk_update_by_primary_key_over_many_chunks(db: Database) -> None:
    """The ORM compares executemany's rowcount with the rows it sent (StaleDataError)."""
    count = 700
    async with db.transaction() as session:
        conn = await session.connection()
        await conn.execute(insert(ITEMS), [{"id": i, "name": f"i{i}"} for i in range(1, count + 1)])
    async with db.transaction() as session:
        await session.exec(update(Item), params=[{"id": i, "n": 7} for i in range(1, count + 1)])
    rows = await item_rows(db)
    assert len(rows) == count and {n for _, n in rows} == {7}


# ---------------------------------------------------------------------- WAL checkpoints


async def test_the_wal_is_checkpointed_by_the_database_every_so_many_commits(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 5)
    path = file_of(db)
    checkpoints: dict[str, int] = {"reader": 0, "writer": 0}

    def spy(role: str) -> Callable[..., None]:
        def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "wal_checkpoint" in statement:
                checkpoints[role] += 1

        return before_cursor_execute

    event.listen(db.engine.sync_engine, "before_cursor_execute", spy("reader"))
    event.listen(db.write_engine.sync_engine, "before_cursor_execute", spy("writer"))
    size_before = size_of(path)
    blob = insert(Blob.__table__)

    async def write_blobs(rows: int) -> None:
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(blob, [{"data": b"x" * 4000} for _ in range(rows)])

    # More than SQLite's default auto-checkpoint (1000 pages): the inline writer still
    # never copies the WAL back itself (that would be milliseconds on the event loop).
    for _ in range(4):
        await write_blobs(300)
    assert db._checkpoint is None
    assert size_of(path) == size_before
    assert size_of(wal_of(path)) > 1000 * 4096

    await write_blobs(1)  # the 5th commit
    assert db._checkpoint is not None
    await asyncio.wait_for(db._checkpoint, 10)
    assert size_of(path) > 4 * 300 * 4000  # the rows are in the database file now
    assert checkpoints == {"reader": 1, "writer": 0}  # from a reader's thread, not the loop
    async with db.session() as session:
        conn = await session.connection()
        assert (await conn.execute(select(func.count()).select_from(Blob))).scalar() == 1201


async def test_the_wal_starts_over_under_a_steady_stream_of_writes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers never pause here, yet the WAL file stops growing: once it is past the
    limit a checkpoint runs while writers wait, so it copies every frame and SQLite
    reuses the file. Racing the writers, checkpoints never caught up and the WAL grew
    by every commit."""
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 10)
    monkeypatch.setattr(database_module, "WAL_RESET_BYTES", 1_000_000)
    path = file_of(db)
    blob = insert(Blob.__table__)
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            async with db.transaction() as session:
                conn = await session.connection()
                await conn.execute(blob, [{"data": b"x" * 4000} for _ in range(5)])

    writers = [asyncio.create_task(writer()) for _ in range(4)]
    try:
        sizes = []
        while db._commits < 600:
            await asyncio.sleep(0.05)
            sizes.append(size_of(wal_of(path)))
    finally:
        stop.set()
        await asyncio.gather(*writers)
    written = db._commits * 5 * 4000
    # Without the reset it ends above 600 commits x 5 pages (12 MB); with it, it stays
    # near what 10 commits write, whatever the number of commits.
    assert max(sizes) < written / 4, (max(sizes), written)
    async with db.session() as session:
        conn = await session.connection()
        count = (await conn.execute(select(func.count()).select_from(Blob))).scalar()
    assert count == db._commits * 5


async def test_a_wal_file_left_large_does_not_hold_the_writers_at_every_checkpoint(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reuses the WAL file from its start without shrinking it. Judged by the
    file's size, every checkpoint after the first reset held the writers (every 0.4 s
    under load); judged by the frames in use, only the ones that find it full again."""
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 1_000_000)  # by hand here
    monkeypatch.setattr(database_module, "WAL_RESET_BYTES", 1_000_000)
    blob = insert(Blob.__table__)
    held = 0
    lock = db._write_lock
    assert lock is not None

    class Counting(asyncio.Lock):
        async def acquire(self) -> bool:
            nonlocal held
            task = asyncio.current_task()
            if task is not None and task.get_name() == "checkpoint":
                held += 1
            return await lock.acquire()

        def release(self) -> None:
            lock.release()

    monkeypatch.setattr(db, "_write_lock", Counting())

    async def write(pages: int) -> None:
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(blob, [{"data": b"x" * 4000} for _ in range(pages)])

    async def checkpoint() -> None:
        await asyncio.create_task(db.checkpoint(), name="checkpoint")

    await write(400)  # ~1.6 MB of frames: past the limit
    await checkpoint()
    assert held == 1
    await write(1)  # the WAL starts over at its first frame, in a file still ~1.6 MB
    assert size_of(wal_of(file_of(db))) > 1_000_000
    for _ in range(5):
        await write(5)
        await checkpoint()
    assert held == 1  # none of these found the WAL full


async def test_dispose_during_a_checkpoint_closes_both_engines_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 3)
    db = await open_db(tmp_path)
    path = file_of(db)
    for i in range(3):
        await insert_item(db, f"n{i}")
    task = db._checkpoint
    assert task is not None
    await db.dispose()  # no exception, even though the checkpoint was just starting
    assert task.done() and task.exception() is None
    # SQLite removes the WAL when the last connection to the file closes: none is left open.
    assert not wal_of(path).exists()
    with contextlib.closing(sqlite3.connect(path)) as check:
        rows = check.execute("SELECT name FROM items ORDER BY name").fetchall()
    assert rows == [("n0",), ("n1",), ("n2",)]


# ---------------------------------------------------------------------- in memory


async def test_an_in_memory_database_uses_one_engine_and_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 2)
    db = Database("sqlite+aiosqlite:///:memory:")
    try:
        assert db.write_engine is db.engine
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await insert_item(db, "kept")
        with pytest.raises(IntegrityError):
            await insert_item(db, "kept")
        for i in range(4):
            await insert_item(db, f"n{i}")
        assert db._checkpoint is None  # nothing to checkpoint in memory
        assert await item_names(db) == ["kept", "n0", "n1", "n2", "n3"]
    finally:
        await db.dispose()
