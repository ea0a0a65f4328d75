"""Exactly one watcher per mailbox: a PostgreSQL session advisory lock.

Two processes reading the same mailbox would both fetch every mail; the
Message-ID dedupe keeps the database right, but checkpoints would race and
the work is doubled. The lock lives on a dedicated connection, so it is
released the moment the holding process dies (its session ends) and
another process's retry picks the mailbox up. SQLite deployments are one
process, so there the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.storage.database import Database

log = logging.getLogger(__name__)


def lock_key(mailbox: str, schema: str | None = None) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` (locks are database-wide)."""
    name = f"contactcenter.email:{schema or ''}:{mailbox}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


class MailboxLock:
    def __init__(self, db: Database, mailbox: str, *, schema: str | None = None) -> None:
        self.db = db
        self.key = lock_key(mailbox, schema)
        self._conn: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self.db.is_sqlite or self._conn is not None

    async def acquire(self) -> bool:
        """Try once; True when this process now watches the mailbox."""
        if self.db.is_sqlite:
            return True
        if self._conn is not None:
            return True
        conn = await self.db.engine.connect()
        try:
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            ).scalar()
            # Leave no transaction open on the lock's connection.
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def alive(self) -> bool:
        """Is the lock's connection still there (and so the lock still ours)?"""
        if self.db.is_sqlite:
            return True
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception:
            log.warning("email: lost the mailbox lock's database connection")
            await self.release()
            return False

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await conn.commit()
        except Exception:
            # Never hand a connection that may still hold the lock back to the pool.
            with contextlib.suppress(Exception):
                await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()
