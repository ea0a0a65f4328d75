"""The sockets this process holds, and the per-visitor lock.

Per-client order comes from Socket.IO itself (``async_handlers=False``: one
client's events are handled one after the other). A visitor may have several
tabs, i.e. several sockets writing to one conversation; their messages are
serialised by one lock per visitor, which is the per-conversation lock: a
visitor has one current conversation, and locking by visitor also covers the
first message, before the conversation exists (two tabs must not open two).
Across processes the database row lock (PostgreSQL ``FOR UPDATE``) orders them.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from .identity import Visitor
from .keyed_locks import KeyedLocks


@dataclass(slots=True)
class Connection:
    sid: str
    visitor: Visitor
    remote: str


class Sessions:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_address: dict[str, set[str]] = {}
        self._conversation: dict[str, int] = {}  # visitor address -> current conversation
        self._locks = KeyedLocks()

    def add(self, conn: Connection) -> None:
        self._by_sid[conn.sid] = conn
        self._by_address.setdefault(conn.visitor.address, set()).add(conn.sid)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def remove(self, sid: str) -> Connection | None:
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None
        address = conn.visitor.address
        sids = self._by_address.get(address, set())
        sids.discard(sid)
        if not sids:
            self._by_address.pop(address, None)
            self._conversation.pop(address, None)
        return conn

    def sids_of(self, address: str) -> list[str]:
        return sorted(self._by_address.get(address, ()))

    def __len__(self) -> int:
        return len(self._by_sid)

    def conversation(self, address: str) -> int | None:
        return self._conversation.get(address)

    def set_conversation(self, address: str, conversation_id: int) -> bool:
        """Remember the visitor's current conversation; True when it changed."""
        changed = self._conversation.get(address) != conversation_id
        self._conversation[address] = conversation_id
        return changed

    def locked(self, address: str) -> AbstractAsyncContextManager[None]:
        """Held while one of the visitor's messages is handled (see the module docstring)."""
        return self._locks.hold(address)
