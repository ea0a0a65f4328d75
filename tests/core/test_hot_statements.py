"""The hot path's statements run below SQLAlchemy (``storage/hot.py``) and must not notice.

What a user or operator would notice if this broke: a message stored with its
attachments or flags mangled, a conversation read back with a string where a
time belongs, a failed message half stored, a resent message stored twice or
failing with an error the router does not retry on, a PostgreSQL server
answering the hot path with a syntax error after SQLite ran the same statement.

Every comparison here is with what SQLAlchemy itself returns for the same
statement and data, read through a separate session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter import conversations, customers, router
from contactcenter.storage import hot, rows
from contactcenter.storage.database import Database
from contactcenter.storage.migrate import upgrade
from contactcenter.storage.models import Conversation, Customer, Event, Identity, Message
from tests.services import postgres_schema

_messages = rows.table_of(Message)
_conversations = rows.table_of(Conversation)
_customers = rows.table_of(Customer)
_events = rows.table_of(Event)

#: A first statement for a transaction: on PostgreSQL it goes through SQLAlchemy (which
#: begins the transaction), so every statement after it takes the raw asyncpg path.
_WARM_UP = select(literal(1).label("one"))
# Statements are built once, as the application's are: the hot path keeps a plan per object.
_INSERT_EVENTS = insert(_events)
_EVENT_IDS = select(_events.c.id)
_MESSAGE_BY_ID = select(_messages).where(_messages.c.id == bindparam("mid"))

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


# ---------------------------------------------------------------------- helpers


async def open_database(settings: Mapping[str, Any]) -> Database:
    db = Database(settings["database_url"], schema=settings.get("database_schema"))
    await upgrade(db)
    return db


@pytest.fixture
async def db(db_settings: dict[str, Any]) -> AsyncIterator[Database]:
    """A migrated database with the project's tables: SQLite (inline writer) or PostgreSQL."""
    database = await open_database(db_settings)
    try:
        yield database
    finally:
        await database.dispose()


async def warm_up(s: AsyncSession) -> None:
    assert await hot.first(s, _WARM_UP) == {"one": 1}


def plan_of(stmt: Executable, dialect: str, keys: Any) -> Any:
    """The cached plan for ``stmt`` with these parameter names, in whatever order."""
    found = [
        plan
        for (stmt_id, name, names), plan in hot._plans.items()
        if stmt_id == id(stmt) and name == dialect and set(names) == set(keys)
    ]
    if not found:
        raise KeyError((stmt, dialect, keys))
    return found[0]


def assert_fast_path(db: Database, s: AsyncSession, stmt: Executable, keys: Any) -> None:
    """This statement really ran on the driver, from a compiled plan, in this session."""
    target = s.info[hot._KEY]
    if db.is_sqlite:
        assert target.inline is not None
    else:
        assert target.pg is not None and target.pg_started
    plan = plan_of(stmt, db.dialect, keys)
    assert plan is not None


async def fast_fetch(db: Database, stmt: Executable, params: Mapping[str, Any]) -> list[dict]:
    """The rows of ``stmt`` through the hot path's raw execution, in a write transaction."""
    async with db.transaction() as s:
        await warm_up(s)
        got = await hot.fetch(s, stmt, params)
        assert_fast_path(db, s, stmt, params.keys())
    return got


async def sqlalchemy_fetch(db: Database, stmt: Executable, params: Any = None) -> list[dict]:
    """The rows of ``stmt`` as SQLAlchemy itself returns them, through a read session."""
    async with db.session() as s:
        conn = await s.connection()
        result = await conn.execute(stmt, params or {})
        return [dict(row) for row in result.mappings()]


def assert_same_rows(got: Sequence[Mapping[str, Any]], want: Sequence[Mapping[str, Any]]) -> None:
    """Equal values, the same keys in the same order, and the same Python types."""
    assert [list(row) for row in got] == [list(row) for row in want]
    assert list(got) == list(want)
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            assert type(g[key]) is type(value), (key, g[key], value)
            if isinstance(value, datetime):
                assert g[key].utcoffset() == value.utcoffset(), key


async def count(db: Database, table: Any) -> int:
    rows_ = await sqlalchemy_fetch(db, select(func.count().label("n")).select_from(table))
    return int(rows_[0]["n"])


def message_values(conversation_id: int, cmid: str | None, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "conversation_id": conversation_id,
        "channel": "api",
        "channel_message_id": cmid,
        "direction": "in",
        "author_kind": "customer",
        "text": "Où est ma commande ? 📦",
        "internal": True,
        "attachments": [{"url": "https://x.test/a.png", "size": 3, "inline": False}],
        "meta": {"ip": None, "tags": ["a", "b"], "nested": {"ok": True, "n": 1.5}},
        "created_at": T0,
    }
    values.update(kw)
    return values


async def seed(s: AsyncSession, *, address: str = "alice", cmid: str = "m1") -> dict[str, int]:
    """A customer, an identity, a conversation and one message, written as the router does."""
    customer_id, _ = await rows.insert_returning_id(
        s, Customer, {"name": None, "email": "alice@example.com", "created_at": T0}
    )
    identity_id, _ = await rows.insert_returning_id(
        s,
        Identity,
        {"channel": "api", "address": address, "verified": True, "customer_id": customer_id},
    )
    conversation_id, _ = await rows.insert_returning_id(
        s,
        Conversation,
        {
            "customer_id": customer_id,
            "identity_id": identity_id,
            "channel": "api",
            "tags": ["vip", "fr"],
            "suggestions": [{"article_id": "returns", "score": 0.9, "url": None}],
            "awaiting_feedback": True,
            "bot_misses": 2,
            "created_at": T0,
            "updated_at": T0 + timedelta(minutes=1),
            "last_customer_message_at": T0,
        },
    )
    message_id, _ = await rows.insert_returning_id(
        s, Message, message_values(conversation_id, cmid)
    )
    return {
        "customer": customer_id,
        "identity": identity_id,
        "conversation": conversation_id,
        "message": message_id,
    }


async def seeded(db: Database, **kw: Any) -> dict[str, int]:
    async with db.transaction() as s:
        return await seed(s, **kw)


# ---------------------------------------------------------------- 1. equivalence


async def test_router_reads_return_what_sqlalchemy_returns(db: Database) -> None:
    ids = await seeded(db)
    cases: list[tuple[Executable, dict[str, Any]]] = [
        (router._DEDUPE, {"channel": "api", "cmid": "m1"}),
        (router._DEDUPE, {"channel": "api", "cmid": "no-such-message"}),
        (customers._FIND_IDENTITY, {"channel": "api", "address": "alice"}),
        (conversations._BY_ID, {"conv_id": ids["conversation"]}),
        (
            conversations._LATEST_BY_IDENTITY,
            {"customer_id": ids["customer"], "channel": "api", "identity_id": ids["identity"]},
        ),
        (_MESSAGE_BY_ID, {"mid": ids["message"]}),
        # One parameter used twice, and a constant (the LIMIT) the caller does not pass.
        (
            select(_messages.c.id, _messages.c.channel_message_id)
            .where(
                or_(
                    _messages.c.channel_message_id == bindparam("key"),
                    _messages.c.external_key == bindparam("key"),
                )
            )
            .limit(5),
            {"key": "m1"},
        ),
    ]
    for stmt, params in cases:
        got = await fast_fetch(db, stmt, params)
        want = await sqlalchemy_fetch(db, stmt, params)
        assert_same_rows(got, want)
    # Spot checks that the comparison compares something: real rows, real Python types.
    assert (await fast_fetch(db, *cases[0]))[0]["status"] == "bot"
    found = (await fast_fetch(db, *cases[2]))[0]
    assert found["verified"] is True and found["name"] is None
    assert found["merged_into_id"] is None
    conv = (await fast_fetch(db, *cases[3]))[0]
    assert conv["tags"] == ["vip", "fr"] and conv["awaiting_feedback"] is True
    assert conv["suggestions"] == [{"article_id": "returns", "score": 0.9, "url": None}]
    assert isinstance(conv["updated_at"], datetime) and conv["resolved_at"] is None
    message = (await fast_fetch(db, *cases[5]))[0]
    assert message["meta"] == message_values(0, None)["meta"]
    assert message["attachments"] == message_values(0, None)["attachments"]
    assert message["internal"] is True and message["agent_id"] is None


async def test_a_message_inserted_raw_is_stored_as_sqlalchemy_stores_it(db: Database) -> None:
    ids = await seeded(db)
    conv = ids["conversation"]
    local = timezone(timedelta(hours=2))
    values = message_values(
        conv,
        "raw-1",
        internal=False,
        created_at=datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=local),
        meta={"list": [1, None, "x"], "empty": {}, "flag": False},
        attachments=[],
    )
    async with db.transaction() as s:
        await warm_up(s)
        new_id, row = await rows.insert_returning_id(s, Message, values)
        # SQLite: the plain INSERT and the rowid; PostgreSQL: INSERT ... RETURNING.
        inserted = rows._insert(_messages, returning_id=not db.is_sqlite)
        assert_fast_path(db, s, inserted, row.keys() - {"id"})
        # The same row, inserted by SQLAlchemy on the same transaction's connection.
        conn = await s.connection()
        same = (
            await conn.execute(
                rows._insert(_messages, returning_id=True),
                rows.new_row(Message, {**values, "channel_message_id": "sa-1"}),
            )
        ).one()
    assert type(new_id) is int and row["id"] == new_id
    assert row["meta"] == values["meta"] and row["agent_id"] is None  # the model's defaults

    stored = await sqlalchemy_fetch(
        db,
        select(_messages).where(_messages.c.id.in_([new_id, same.id])).order_by(_messages.c.id),
    )
    assert len(stored) == 2
    raw, by_sqlalchemy = (
        {k: v for k, v in r.items() if k not in ("id", "channel_message_id")} for r in stored
    )
    assert_same_rows([raw], [by_sqlalchemy])
    assert raw["meta"] == {"list": [1, None, "x"], "empty": {}, "flag": False}
    assert raw["attachments"] == [] and raw["internal"] is False and raw["external_key"] is None
    assert isinstance(raw["created_at"], datetime)
    # And the raw path reads both back the same way SQLAlchemy does.
    for message_id in (new_id, same.id):
        assert_same_rows(
            await fast_fetch(db, _MESSAGE_BY_ID, {"mid": message_id}),
            await sqlalchemy_fetch(db, _MESSAGE_BY_ID, {"mid": message_id}),
        )


async def test_inserted_ids_are_the_stored_rows_ids_without_returning_on_sqlite(
    db: Database,
) -> None:
    """The id comes back from the driver (SQLite's rowid, PostgreSQL's RETURNING),
    matches the row stored, and keeps counting up when SQLAlchemy inserts in between."""
    ids = await seeded(db)
    conv = ids["conversation"]
    statements: list[str] = []
    got: list[int] = []
    async with db.transaction() as s:
        await warm_up(s)
        target = s.info[hot._KEY]
        if target.inline is not None:
            target.inline.raw.set_trace_callback(statements.append)
        for n in range(3):
            new_id, _ = await rows.insert_returning_id(
                s, Message, message_values(conv, f"id-{n}", text=f"text {n}")
            )
            got.append(new_id)
            conn = await s.connection()  # SQLAlchemy's own insert, between two of ours
            await conn.execute(
                insert(_messages), rows.new_row(Message, message_values(conv, f"sa-{n}"))
            )
        if target.inline is not None:
            target.inline.raw.set_trace_callback(None)
    assert got == sorted(got) and len(set(got)) == 3
    for n, message_id in enumerate(got):
        stored = await sqlalchemy_fetch(db, _MESSAGE_BY_ID, {"mid": message_id})
        assert stored[0]["text"] == f"text {n}"
    if db.is_sqlite:
        ours = [sql for sql in statements if "'id-" in sql]  # traced with the values bound
        assert len(ours) == 3 and not any("RETURNING" in sql for sql in ours)


async def test_a_bind_with_a_default_value_is_a_constant_unless_given(db: Database) -> None:
    ids = await seeded(db)
    await seeded(db, address="bob", cmid="m2")
    out = {"conversation_id": ids["conversation"], "direction": "out", "author_kind": "bot"}
    async with db.transaction() as s:
        await rows.insert_returning_id(s, Message, message_values(cmid="o1", **out))
    stmt = (
        select(_messages.c.id, _messages.c.direction)
        .where(_messages.c.direction == bindparam("direction", "in"))
        .order_by(_messages.c.id)
    )
    default = await fast_fetch(db, stmt, {})
    given = await fast_fetch(db, stmt, {"direction": "out"})
    assert [r["direction"] for r in default] == ["in", "in"]
    assert [r["direction"] for r in given] == ["out"]
    assert_same_rows(default, await sqlalchemy_fetch(db, stmt))
    assert_same_rows(given, await sqlalchemy_fetch(db, stmt, {"direction": "out"}))


# ------------------------------------------------------ 2. transaction integrity


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as s:
            ids = await seed(s)  # the first statement via SQLAlchemy on PostgreSQL, then raw
            found = await hot.first(
                s, customers._FIND_IDENTITY, {"channel": "api", "address": "alice"}
            )
            assert found is not None and found["customer_id"] == ids["customer"]
            assert (
                await hot.run(s, customers._SET_NAME, {"b_id": ids["customer"], "b_name": "Al"})
                == 1
            )
            await hot.run_many(s, _INSERT_EVENTS, [rows.new_row(Event, {"kind": "x"})] * 3)
            # Everything so far is visible inside the transaction...
            assert len(await hot.fetch(s, _EVENT_IDS)) == 3
            assert_fast_path(db, s, customers._FIND_IDENTITY, {"channel", "address"})
            raise RuntimeError("boom")
    # ...and none of it outside, afterwards.
    for table in (_customers, rows.table_of(Identity), _conversations, _messages, _events):
        assert await count(db, table) == 0
    # The database goes on working.
    await seeded(db)
    assert await count(db, _messages) == 1


async def test_a_committed_transaction_keeps_everything(db: Database) -> None:
    async with db.transaction() as s:
        ids = await seed(s)
        await hot.run(s, customers._SET_NAME, {"b_id": ids["customer"], "b_name": "Alice"})
        await hot.run_many(s, _INSERT_EVENTS, [rows.new_row(Event, {"kind": "k"})] * 2)
        assert_fast_path(db, s, customers._SET_NAME, {"b_id", "b_name"})
    for table, n in ((_customers, 1), (_conversations, 1), (_messages, 1), (_events, 2)):
        assert await count(db, table) == n
    found = await sqlalchemy_fetch(
        db, customers._FIND_IDENTITY, {"channel": "api", "address": "alice"}
    )
    assert found[0]["name"] == "Alice" and found[0]["verified"] is True


# ------------------------------------------------------------ 3. integrity errors


async def test_a_duplicate_message_raises_sqlalchemys_integrity_error(db: Database) -> None:
    ids = await seeded(db)
    dup = message_values(ids["conversation"], "m1", text="again")
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            # An earlier statement first, so the insert takes the raw path on PostgreSQL too.
            assert await hot.first(s, router._DEDUPE, {"channel": "api", "cmid": "other"}) is None
            await rows.insert_returning_id(s, Message, message_values(ids["conversation"], "new"))
            await rows.insert_returning_id(s, Message, dup)
    # Rolled back: neither the duplicate nor the message before it in that transaction.
    stored = await sqlalchemy_fetch(db, select(_messages.c.channel_message_id))
    assert [r["channel_message_id"] for r in stored] == ["m1"]
    # Still usable, on the same pooled connections: a write and a read go through.
    async with db.transaction() as s:
        await warm_up(s)
        await rows.insert_returning_id(s, Message, message_values(ids["conversation"], "m2"))
        got = await hot.fetch(s, router._DEDUPE, {"channel": "api", "cmid": "m2"})
        assert got and got[0]["conversation_id"] == ids["conversation"]
    assert await count(db, _messages) == 2


# --------------------------------------------------------- 4. rowcounts, many rows


async def test_run_returns_the_number_of_rows_touched(db: Database) -> None:
    ids = await seeded(db)
    conv = ids["conversation"]
    async with db.transaction() as s:
        for n in range(3):
            await rows.insert_returning_id(s, Message, message_values(conv, f"extra-{n}"))
    retitle = (
        update(_messages)
        .where(_messages.c.conversation_id == bindparam("conv"))
        .values(text=bindparam("new_text"))
    )
    async with db.transaction() as s:
        # The transaction's first statement (SQLAlchemy's path on PostgreSQL) counts too.
        assert await hot.run(s, retitle, {"conv": -1, "new_text": "x"}) == 0
        assert await hot.run(s, retitle, {"conv": -1, "new_text": "x"}) == 0
        assert await hot.run(s, customers._MARK_VERIFIED, {"b_id": ids["identity"]}) == 1
        assert await hot.run(s, retitle, {"conv": conv, "new_text": "all"}) == 4
        assert_fast_path(db, s, retitle, {"conv", "new_text"})
    texts = await sqlalchemy_fetch(db, select(_messages.c.text))
    assert [r["text"] for r in texts] == ["all"] * 4


async def test_run_many_inserts_every_row(db: Database) -> None:
    ids = await seeded(db)
    many = [
        rows.new_row(
            Event, {"kind": f"e{i}", "conversation_id": ids["conversation"], "data": {"i": i}}
        )
        for i in range(300)  # more than one chunk of the inline writer's executemany
    ]
    async with db.transaction() as s:
        await warm_up(s)
        await hot.run_many(s, rows._insert(_events, returning_id=False), many)
        assert_fast_path(db, s, rows._insert(_events, returning_id=False), many[0].keys())
        await hot.run_many(s, _INSERT_EVENTS, [])  # nothing to do
    stored = await sqlalchemy_fetch(
        db, select(_events.c.kind, _events.c.data).order_by(_events.c.id)
    )
    assert stored == [{"kind": f"e{i}", "data": {"i": i}} for i in range(300)]


async def run_many_mixed(db: Database, mixed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``run_many`` on Event rows whose key sets differ; the rows stored, in order."""
    async with db.transaction() as s:
        await warm_up(s)
        await hot.run_many(s, _INSERT_EVENTS, mixed)
    return await sqlalchemy_fetch(
        db,
        select(_events.c.kind, _events.c.customer_id, _events.c.conversation_id).order_by(
            _events.c.id
        ),
    )


async def test_run_many_keeps_the_columns_only_later_rows_have(db: Database) -> None:
    ids = await seeded(db)
    customer, conv = ids["customer"], ids["conversation"]
    base = {"created_at": T0, "data": {}}
    stored = await run_many_mixed(
        db,
        [
            {**base, "kind": "plain"},
            {**base, "kind": "with-customer", "customer_id": customer},
            {**base, "kind": "with-both", "customer_id": customer, "conversation_id": conv},
        ],
    )
    assert stored == [
        {"kind": "plain", "customer_id": None, "conversation_id": None},
        {"kind": "with-customer", "customer_id": customer, "conversation_id": None},
        {"kind": "with-both", "customer_id": customer, "conversation_id": conv},
    ]


async def test_run_many_inserts_later_rows_that_lack_a_column(db: Database) -> None:
    ids = await seeded(db)
    customer = ids["customer"]
    base = {"created_at": T0, "data": {}}
    stored = await run_many_mixed(
        db,
        [
            {**base, "kind": "with-customer", "customer_id": customer},
            {**base, "kind": "plain"},
        ],
    )
    assert stored == [
        {"kind": "with-customer", "customer_id": customer, "conversation_id": None},
        {"kind": "plain", "customer_id": None, "conversation_id": None},
    ]


# -------------------------------------------------------------------- 5. fallback


async def test_an_expanding_in_falls_back_to_sqlalchemy(db: Database) -> None:
    first = await seeded(db)
    second = await seeded(db, address="bob", cmid="m2")
    stmt = (
        select(_messages.c.id, _messages.c.meta, _messages.c.created_at)
        .where(_messages.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(_messages.c.id)
    )
    wanted = {"ids": [first["message"], second["message"], -5]}
    async with db.transaction() as s:
        await warm_up(s)
        got = await hot.fetch(s, stmt, wanted)
        assert await hot.fetch(s, stmt, {"ids": []}) == []
        # No plan: SQLAlchemy ran it.
        assert plan_of(stmt, db.dialect, {"ids"}) is None
    assert [r["id"] for r in got] == [first["message"], second["message"]]
    assert_same_rows(got, await sqlalchemy_fetch(db, stmt, wanted))


async def test_a_missing_required_parameter_is_sqlalchemys_error(db: Database) -> None:
    await seeded(db)
    with pytest.raises(StatementError, match="cmid"):
        async with db.transaction() as s:
            await warm_up(s)
            await hot.fetch(s, router._DEDUPE, {"channel": "api"})
    assert plan_of(router._DEDUPE, db.dialect, {"channel"}) is None
    assert await count(db, _messages) == 1


async def test_fetch_in_a_read_session(db: Database) -> None:
    ids = await seeded(db)
    params = {"conv_id": ids["conversation"]}
    async with db.session() as s:
        got = await hot.fetch(s, conversations._BY_ID, params)
        again = await hot.first(s, conversations._BY_ID, params)  # raw on PostgreSQL
        dedupe = await hot.first(s, router._DEDUPE, {"channel": "api", "cmid": "m1"})
        none = await hot.first(s, router._DEDUPE, {"channel": "api", "cmid": "zzz"})
        target = s.info[hot._KEY]
        assert target.inline is None  # reads never go through the inline writer
    want = await sqlalchemy_fetch(db, conversations._BY_ID, params)
    assert_same_rows(got, want)
    assert again is not None
    assert_same_rows([again], want)
    assert dedupe is not None and dedupe["id"] == ids["message"] and none is None


# ------------------------------------------------------- 6. plans are per dialect


async def test_one_statement_runs_on_sqlite_then_on_postgres(tmp_path: Path) -> None:
    # Fresh statement objects: no plan for them exists yet in this process.
    by_cmid = (
        select(_messages.c.id, _messages.c.meta, _messages.c.internal)
        .where(_messages.c.channel == bindparam("channel"))
        .where(_messages.c.channel_message_id == bindparam("cmid"))
        .limit(1)
    )
    touch = update(_messages).where(_messages.c.id == bindparam("mid")).values(text="seen")
    sqlite = await open_database({"database_url": f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}"})
    try:
        async with postgres_schema() as pg_settings:
            pg = await open_database(pg_settings)
            try:
                for n, db in enumerate((sqlite, pg, sqlite)):
                    async with db.transaction() as s:
                        ids = await seed(s, address=f"a{n}", cmid=f"m{n}")
                        found = await hot.first(s, by_cmid, {"channel": "api", "cmid": f"m{n}"})
                        assert found is not None and found["id"] == ids["message"]
                        assert found["meta"]["tags"] == ["a", "b"] and found["internal"] is True
                        assert await hot.run(s, touch, {"mid": ids["message"]}) == 1
                        assert_fast_path(db, s, by_cmid, {"channel", "cmid"})
                        assert_fast_path(db, s, touch, {"mid"})
            finally:
                await pg.dispose()
    finally:
        await sqlite.dispose()
    sqlite_plan = plan_of(by_cmid, "sqlite", {"channel", "cmid"})
    pg_plan = plan_of(by_cmid, "postgresql", {"channel", "cmid"})
    assert sqlite_plan is not None and pg_plan is not None
    assert "?" in sqlite_plan.sql and "$1" in pg_plan.sql


async def test_a_type_the_fast_path_cannot_process_falls_back(db: Database) -> None:
    """A Float result on asyncpg needs a live cursor to build its processor: that
    statement keeps going through SQLAlchemy instead of failing."""
    from sqlalchemy import Float

    stmt = select(literal(1.5, Float).label("x"))
    async with db.transaction() as s:
        await warm_up(s)
        assert await hot.fetch(s, stmt) == [{"x": 1.5}]
        assert await hot.fetch(s, stmt) == [{"x": 1.5}]


async def test_statements_built_per_call_stop_being_planned_past_the_cap(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that builds a new statement object per call must not grow the plan
    cache for ever: past MAX_PLANS the statement simply runs through SQLAlchemy."""
    monkeypatch.setattr(hot, "_plans", {})
    monkeypatch.setattr(hot, "_pinned", [])
    monkeypatch.setattr(hot, "MAX_PLANS", 5)
    async with db.transaction() as s:
        await warm_up(s)
        for n in range(20):
            stmt = select(literal(n).label("n"))  # a new object each time
            assert await hot.fetch(s, stmt) == [{"n": n}]
    assert len(hot._plans) <= 5
