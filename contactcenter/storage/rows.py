"""Plain-row writes for the hot path: every inbound message goes through here.

Measured on SQLite and PostgreSQL, building a SQLModel object (pydantic
validation) and flushing it through the ORM's unit of work cost 0.3-0.9 ms per
row, more than the SQL itself. The router therefore writes plain rows with
SQLAlchemy Core on the session's own connection (same transaction), and rows
nobody reads back inside the transaction (events, outbox deliveries, merge
suggestions) are queued and written by one multi-row INSERT per table just
before the commit (:func:`flush_queued`, called by ``Database``).

The model classes stay the single description of each table: a row built here
gets every Python-side default the model declares (``created_at``, ``status``...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Insert, Integer, Table, insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.storage import hot

_QUEUE_KEY = "contactcenter.queued_rows"
#: Per model: constant defaults, default factories, and every column name.
_Defaults = tuple[dict[str, Any], dict[str, Callable[[], Any]], frozenset[str]]
_defaults_cache: dict[type[SQLModel], _Defaults] = {}


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _defaults(model: type[SQLModel]) -> _Defaults:
    cached = _defaults_cache.get(model)
    if cached is None:
        constants: dict[str, Any] = {}
        factories: dict[str, Callable[[], Any]] = {}
        for name, field in model.model_fields.items():
            if name == "id":
                continue
            if field.default_factory is not None:
                factories[name] = field.default_factory  # type: ignore[assignment]
            elif field.default is not PydanticUndefined:
                constants[name] = field.default
        names = frozenset(model.model_fields)
        cached = _defaults_cache[model] = (constants, factories, names)
    return cached


_inserts: dict[tuple[Table, bool], Insert] = {}


def _insert(table: Table, *, returning_id: bool) -> Insert:
    """One statement object per table, so the hot path compiles it once (hot.py).

    Every model's key is ``id INTEGER PRIMARY KEY``: on SQLite that is the rowid,
    which ``hot.insert_id`` reads instead of using RETURNING."""
    stmt = _inserts.get((table, returning_id))
    if stmt is None:
        key = table.c.get("id")
        if key is None or list(table.primary_key) != [key] or not isinstance(key.type, Integer):
            raise TypeError(f"{table.name}: rows here need an integer primary key 'id'")
        stmt = insert(table).returning(table.c.id) if returning_id else insert(table)
        _inserts[table, returning_id] = stmt
    return stmt


def new_row(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` completed with the model's defaults; unknown columns are a bug, so raise."""
    constants, factories, names = _defaults(model)
    row = dict(constants)
    for name, factory in factories.items():
        if name not in values:
            row[name] = factory()
    row.update(values)
    if not names.issuperset(row):
        unknown = row.keys() - names
        raise TypeError(f"{model.__name__} has no column(s) {sorted(unknown)}")
    return row


async def insert_returning_id(
    session: AsyncSession, model: type[SQLModel], values: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Insert one row now (its id is needed at once); returns (id, the full row)."""
    row = new_row(model, values)
    table = table_of(model)
    new_id = await hot.insert_id(
        session, _insert(table, returning_id=False), _insert(table, returning_id=True), row
    )
    row["id"] = new_id
    return new_id, row


def queue_insert(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> None:
    """Insert this row just before the transaction commits (see module docstring)."""
    queued: dict[type[SQLModel], list[dict[str, Any]]] = session.info.setdefault(_QUEUE_KEY, {})
    queued.setdefault(model, []).append(new_row(model, values))


def has_queued(session: AsyncSession, model: type[SQLModel]) -> bool:
    """Whether this transaction will write rows of ``model`` at its commit."""
    queued: dict[type[SQLModel], list[dict[str, Any]]] = session.info.get(_QUEUE_KEY, {})
    return bool(queued.get(model))


async def flush_queued(session: AsyncSession) -> None:
    """Write every queued row: one multi-row INSERT per table, in first-queued order."""
    queued: dict[type[SQLModel], list[dict[str, Any]]] | None = session.info.pop(_QUEUE_KEY, None)
    if not queued:
        return
    if session.new or session.dirty or session.deleted:
        await session.flush()  # ORM rows first: queued rows may reference them
    for model, rows in queued.items():
        await hot.run_many(session, _insert(table_of(model), returning_id=False), rows)


def discard_queued(session: AsyncSession) -> None:
    session.info.pop(_QUEUE_KEY, None)
