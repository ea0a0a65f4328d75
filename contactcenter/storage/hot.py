"""The hot path's statements: run straight on the driver, below SQLAlchemy's execution.

Every inbound message runs the same ten or so small statements. Measured on
the inline SQLite writer (``sqlite_inline.py``), one indexed SELECT costs 5 µs
in sqlite3 and about 120 µs through SQLAlchemy's execution machinery (context
set-up, result objects, the async layer's greenlet switches): most of a
message's cost. So these functions compile a Core statement once per set of
parameter names and run the compiled SQL directly on the driver: the inline
SQLite writer's ``sqlite3`` connection, or the asyncpg connection under
SQLAlchemy's adapter (inside the transaction SQLAlchemy began). Values are
converted with the column types' own SQLAlchemy bind and result processors,
the conversions SQLAlchemy itself would apply, and asyncpg's constraint errors
become SQLAlchemy's ``IntegrityError``. Anywhere else (aiosqlite reads) they
are plain ``connection.execute`` calls.

Statements stay SQLAlchemy Core built from the models; only execution is
shortened. Rows come back as dicts in both cases. A statement the shortcut
cannot run as compiled (an expanding ``IN``, a required parameter left out)
falls back to SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.storage import fast_types
from contactcenter.storage.sqlite_inline import InlineConnection

_KEY = "contactcenter.hot"
#: What a session kept between transactions keeps in ``info`` (database.py): the
#: handle on its connection, which stays the same.
KEPT_INFO = frozenset({_KEY})
Processor = Callable[[Any], Any] | None
R = TypeVar("R")


class _Fallback(Exception):
    """This statement cannot run as compiled: let SQLAlchemy execute it."""


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    #: Per positional parameter: the caller's key, or None for a constant, and its value.
    sources: tuple[tuple[str | None, Any, Processor], ...]
    columns: tuple[str, ...]
    results: tuple[Processor, ...]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for key, constant, process in self.sources:
            value = values[key] if key is not None else constant
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            name: (process(value) if process is not None else value)
            for name, process, value in zip(self.columns, self.results, raw, strict=True)
        }


#: Keyed by the parameter names in the caller's order (a tuple hashes faster than a
#: set is built); each call site passes its dict in one order, so this adds no entries.
_plans: dict[tuple[int, str, tuple[str, ...]], _Plan | None] = {}
_pinned: list[Executable] = []  # keeps planned statements alive, so their ids stay theirs
#: Plans are for module-level statements (a few dozen). A caller that builds a new
#: statement per call would grow the cache for ever: past this many, SQLAlchemy runs it.
MAX_PLANS = 512


def _plan(stmt: Executable, keys: Collection[str], dialect: Dialect) -> _Plan | None:
    key = (id(stmt), dialect.name, tuple(keys))
    if key in _plans:
        return _plans[key]
    if len(_plans) >= MAX_PLANS:
        return None
    try:
        plan: _Plan | None = _compile(stmt, keys, dialect)
    except Exception:  # _Fallback, or a type whose processors need a live cursor
        plan = None
    _plans[key] = plan
    _pinned.append(stmt)
    return plan


def _compile(stmt: Executable, keys: Collection[str], dialect: Dialect) -> _Plan:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    sql = str(compiled)
    if "POSTCOMPILE" in sql or compiled.positiontup is None:
        raise _Fallback
    sources: list[tuple[str | None, Any, Processor]] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = fast_types.bind_processor(bind.type, dialect)
        if name in keys:
            sources.append((name, None, process))
        elif bind.key in keys:
            sources.append((bind.key, None, process))
        elif not bind.required and bind.callable is None:
            sources.append((None, bind.value, process))
        else:
            raise _Fallback
    exported = getattr(stmt, "exported_columns", None)
    columns: list[str] = []
    results: list[Processor] = []
    if exported is not None:
        for name, column in exported.items():
            columns.append(name)
            results.append(fast_types.result_processor(column.type, dialect))
        if len(set(columns)) != len(columns):
            raise _Fallback
    return _Plan(sql, tuple(sources), tuple(columns), tuple(results))


@dataclass(slots=True)
class _Target:
    """Where this transaction's hot statements run."""

    dialect: Dialect
    inline: InlineConnection | None = None  # SQLite's inline writer
    pg: Any = None  # the asyncpg connection under SQLAlchemy's adapter
    pg_started: bool = False  # SQLAlchemy has begun the transaction on it


async def _target(s: AsyncSession) -> _Target:
    target: _Target | None = s.info.get(_KEY)
    if target is None:
        conn = await s.connection()
        driver = (await conn.get_raw_connection()).driver_connection
        target = _Target(conn.dialect)
        if isinstance(driver, InlineConnection):
            target.inline = driver
        elif type(driver).__module__.startswith("asyncpg"):
            target.pg = driver
        s.info[_KEY] = target
    return target


def sqlite_error(exc: sqlite3.Error, sql: str) -> Exception:
    """sqlite3's errors as SQLAlchemy's (IntegrityError, OperationalError...), as the
    rest of the code, which catches SQLAlchemy's, would have got them."""
    return DBAPIError.instance(sql, None, exc, sqlite3.Error)


def _integrity(exc: Exception, sql: str) -> Exception:
    """asyncpg's constraint errors as SQLAlchemy's, which callers retry on."""
    import asyncpg  # type: ignore[import-untyped]  # only reached with asyncpg in use

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, None, exc)
    return exc


async def _sqlalchemy(s: AsyncSession, stmt: Executable, params: Any) -> CursorResult[Any]:
    conn = await s.connection()
    result = await conn.execute(stmt, params)
    assert isinstance(result, CursorResult)
    return result


async def _planned(
    s: AsyncSession, stmt: Executable, keys: Collection[str]
) -> tuple[_Target, _Plan | None]:
    """The target and the plan, or no plan where SQLAlchemy must run this statement.

    On PostgreSQL the first statement of a transaction always goes through
    SQLAlchemy: its adapter begins the transaction lazily, on its first execute,
    and a statement sent around it before that would run outside the transaction.
    """
    target = await _target(s)
    if target.inline is None and target.pg is None:
        return target, None
    if target.pg is not None and not target.pg_started:
        target.pg_started = True
        return target, None
    return target, _plan(stmt, keys, target.dialect)


async def _on_sqlite(inline: InlineConnection, sql: str, call: Callable[[], R]) -> R:
    """``call()`` (the statement and reading its cursor, before the loop may run again)
    on the inline writer, with the write lock taken first; sqlite3's errors become
    SQLAlchemy's."""
    try:
        await inline.before(sql)
        result = call()
    except sqlite3.Error as exc:
        raise sqlite_error(exc, sql) from exc
    await inline.after()
    return result


async def _on_postgres(sql: str, call: Awaitable[R]) -> R:
    """An asyncpg call; its constraint errors become SQLAlchemy's ``IntegrityError``."""
    try:
        return await call
    except Exception as exc:
        raise _integrity(exc, sql) from exc


async def fetch(
    s: AsyncSession, stmt: Executable, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every row of a SELECT (or of an INSERT/UPDATE ... RETURNING), as dicts."""
    params = params or {}
    target, plan = await _planned(s, stmt, params.keys())
    if plan is None:
        result = await _sqlalchemy(s, stmt, dict(params))
        return [dict(row) for row in result.mappings()]
    inline, sql, values = target.inline, plan.sql, plan.params(params)
    if inline is not None:
        raw = await _on_sqlite(inline, sql, lambda: inline.raw.execute(sql, values).fetchall())
    else:
        raw = await _on_postgres(sql, target.pg.fetch(sql, *values))
    return [plan.row(row) for row in raw]


async def insert_id(
    s: AsyncSession, plain: Executable, returning: Executable, params: Mapping[str, Any]
) -> int:
    """Insert one row and return its integer primary key.

    ``plain`` is the INSERT, ``returning`` the same INSERT ... RETURNING the key.
    On the inline SQLite writer the key is the cursor's ``lastrowid`` (an
    ``INTEGER PRIMARY KEY`` is the rowid): RETURNING made SQLite's insert take
    twice as long. Everywhere else, RETURNING.
    """
    target = await _target(s)
    inline = target.inline
    plan = _plan(plain, params.keys(), target.dialect) if inline is not None else None
    if inline is None or plan is None:
        row = await first(s, returning, params)
        assert row is not None
        return int(row["id"])
    sql, values = plan.sql, plan.params(params)
    new_id = await _on_sqlite(inline, sql, lambda: inline.raw.execute(sql, values).lastrowid)
    assert new_id is not None
    return int(new_id)


async def first(
    s: AsyncSession, stmt: Executable, params: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    rows = await fetch(s, stmt, params)
    return rows[0] if rows else None


async def run(s: AsyncSession, stmt: Executable, params: Mapping[str, Any]) -> int:
    """An INSERT/UPDATE/DELETE without RETURNING; the number of rows it touched."""
    target, plan = await _planned(s, stmt, params.keys())
    if plan is None:
        return int((await _sqlalchemy(s, stmt, dict(params))).rowcount)
    inline, sql, values = target.inline, plan.sql, plan.params(params)
    if inline is not None:
        return int(await _on_sqlite(inline, sql, lambda: inline.raw.execute(sql, values).rowcount))
    status: str = await _on_postgres(sql, target.pg.execute(sql, *values))
    last = status.rsplit(" ", 1)[-1]  # "UPDATE 1", "INSERT 0 1"
    return int(last) if last.isdigit() else -1


async def run_many(s: AsyncSession, stmt: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """One statement for many rows (all with the same keys): a multi-row INSERT."""
    if not rows:
        return
    keys = rows[0].keys()
    if not all(row.keys() == keys for row in rows):
        for row in rows:  # one statement cannot serve rows with different columns
            await _sqlalchemy(s, stmt, dict(row))
        return
    target, plan = await _planned(s, stmt, keys)
    if plan is None:
        await _sqlalchemy(s, stmt, [dict(row) for row in rows])
        return
    inline, sql, values = target.inline, plan.sql, [plan.params(row) for row in rows]
    if inline is not None:
        await _on_sqlite(inline, sql, lambda: inline.raw.executemany(sql, values))
    else:
        await _on_postgres(sql, target.pg.executemany(sql, values))
