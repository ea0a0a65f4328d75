"""The knowledge base's alembic branch (``kb``), announced to the core through the
``contactcenter.migrations`` entry point ``kb = "knowledge_base.storage.migrations:versions_path"``.

As with the Slack desk's branch, the tables are registered on ``SQLModel.metadata``
only when this entry point is loaded (the core loads it whenever it migrates), so
the core's "schema matches the models" check then expects them.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import SQLModel


def location() -> str:
    """The folder of this branch's revision files (no side effect)."""
    return str(Path(__file__).with_name("versions"))


def versions_path() -> str:
    """The entry point: register our tables with the host's metadata, return the folder."""
    from knowledge_base.storage.tables import metadata

    for table in metadata.tables.values():
        if table.name not in SQLModel.metadata.tables:
            table.to_metadata(SQLModel.metadata)
    return location()
