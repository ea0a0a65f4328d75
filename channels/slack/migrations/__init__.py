"""The Slack desk's alembic branch (``slack``), announced to the core through the
``contactcenter.migrations`` entry point ``slack = "channels.slack.migrations:versions_path"``.

The desk's tables live in their own ``MetaData`` (``channels.slack.store``), so
merely importing the desk never changes what the core's schema check expects.
When the core loads this entry point (it does whenever it migrates), the tables
are also registered on ``SQLModel.metadata``: from then on the database has
them, and the core's check compares them instead of reporting them as unknown.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import SQLModel


def location() -> str:
    """The folder of this branch's revision files (no side effect)."""
    return str(Path(__file__).with_name("versions"))


def versions_path() -> str:
    """The entry point: register the desk's tables with the core's metadata, return the folder."""
    from channels.slack.store import metadata

    for table in metadata.tables.values():
        if table.name not in SQLModel.metadata.tables:
            table.to_metadata(SQLModel.metadata)
    return location()
