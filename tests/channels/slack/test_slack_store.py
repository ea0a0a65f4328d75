"""The desk's tables: its alembic branch creates exactly what the models declare, and
the store's idempotency holds (event ids, thread mapping, agent linking)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from channels.slack.store import SlackStore, metadata
from contactcenter.services import Services
from contactcenter.storage.migrate import current_revision, upgrade


async def test_migration_matches_the_models(services: Services) -> None:
    await upgrade(services.db)
    assert "slack_0001" in (await current_revision(services.db) or "")

    def diff(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name in metadata.tables
                )
            },
        )
        return list(compare_metadata(ctx, metadata))

    async with services.db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_store_is_idempotent(services: Services) -> None:
    await upgrade(services.db)
    store = SlackStore(services.db)
    assert await store.first_time("Ev1") is True
    assert await store.first_time("Ev1") is False
    await store.forget("Ev1")
    assert await store.first_time("Ev1") is True
    await store.prune_events()
    assert await store.first_time("Ev1") is False  # pruned only after a day

    first = await store.link_agent("U1", "T1", "Ana", "ana@example.org")
    again = await store.link_agent("U1", "T1", "Ana", "ana@example.org")
    same_email = await store.link_agent("U2", "T2", "Ana (other workspace)", "ana@example.org")
    assert first == again == same_email
    assert await store.agent_names(["U1", "U9"]) == {"U1": "Ana"}
    assert await store.slack_user_of(first) in ("U1", "U2")


async def test_a_second_card_for_a_conversation_loses(services: Services) -> None:
    await upgrade(services.db)
    store = SlackStore(services.db)
    first = await store.save_thread(1, "C1", "100.000001")
    second = await store.save_thread(1, "C1", "100.000002")
    assert first.thread_ts == second.thread_ts == "100.000001"
    assert await store.conversation_at("C1", "100.000001") == 1
    assert await store.conversation_at("C1", "100.000002") is None


def test_the_entry_point_registers_the_tables_for_the_core_schema_check() -> None:
    from sqlmodel import SQLModel

    from channels.slack.migrations import location, versions_path

    target = SQLModel.metadata
    before = {name: target.tables[name] for name in metadata.tables if name in target.tables}
    try:
        assert versions_path() == location()
        assert set(metadata.tables) <= set(target.tables)
        assert versions_path() == location()  # idempotent
    finally:
        for name in metadata.tables:
            if name not in before and name in target.tables:
                target.remove(target.tables[name])
