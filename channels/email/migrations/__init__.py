"""The email channel's alembic branch (``email``), announced to the core through
the ``contactcenter.migrations`` entry point
``email = "channels.email.migrations:versions_path"``.

Importing this package registers the channel's tables on ``SQLModel.metadata``
(via :mod:`channels.email.tables`): the core loads this entry point whenever it
migrates, so its schema check then compares our tables too instead of
reporting them as unknown.
"""

from __future__ import annotations

from pathlib import Path

from channels.email import tables as _tables  # noqa: F401  (registers the tables)


def versions_path() -> str:
    """The folder of this branch's revision files."""
    return str(Path(__file__).with_name("versions"))
