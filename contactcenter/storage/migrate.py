"""Schema migrations (alembic), applied at start and by ``contactcenter migrate``.

Other packages (the knowledge base, a channel) own their tables and ship their
own migrations as an alembic branch; they announce the folder through the
``contactcenter.migrations`` entry-point group (a callable returning the path),
so the core applies them without importing those packages by name.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from contactcenter.storage.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATIONS_GROUP = "contactcenter.migrations"


def version_locations() -> list[str]:
    """The core's versions folder plus every installed package's migrations folder."""
    folders = [str(MIGRATIONS / "versions")]
    for ep in sorted(entry_points(group=MIGRATIONS_GROUP), key=lambda e: e.name):
        folders.append(str(ep.load()()))
    return folders


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Space-separated, as alembic expects; paths here contain no spaces we create.
    cfg.set_main_option("version_locations", " ".join(version_locations()))
    cfg.set_main_option("path_separator", "space")
    return cfg


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to call on every start."""

    def run(sync_conn: Any) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(db: Database) -> str | None:
    """The applied revisions, comma-separated (one per branch)."""

    def read(sync_conn: Any) -> str | None:
        heads = MigrationContext.configure(sync_conn).get_current_heads()
        return ",".join(sorted(heads)) or None

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


def head_revision() -> str | None:
    """Every branch's head, comma-separated, comparable with :func:`current_revision`."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return ",".join(sorted(heads)) or None
