"""Which processes hold a visitor's sockets, so emits skip Redis when only this one does.

With several processes, python-socketio's Redis manager publishes every emit:
the emitting process sends it to Redis and every other process receives it,
decodes it and looks for sockets of that room, which it almost never has (a
visitor's tabs are usually all on one process). Measured with two processes on
PostgreSQL at 300 msg/s, that was a third of the CPU per message (4.28 against
3.28 ms without Redis) and tripled p99 (143 against 45 ms).

So each process records, per visitor room it has sockets in, which other
processes have some too, and an emit to a room known to be this process's alone
stays local. The record:

* Redis keeps one set per room of the processes with sockets in it (added when a
  room gets its first local socket, removed when it loses its last, expiring a
  day after the last join so a crashed process's entries do not stay for ever);
* a process joining a room reads that set, then announces itself on a notice
  channel; the others that have sockets in the room add it to their record, and
  forget it when it announces it left;
* every minute, and whenever it (re)subscribes to the notices, each process adds
  itself to its rooms' sets again (announcing itself where it was missing, after a
  failed join) and re-reads them (repairing a missed notice).

Anything uncertain publishes, as before: a room with no local socket, a process
whose notice listener is down or reconnecting, an emit with a callback. The one
gap is a few milliseconds wide: another tab of the same visitor joining on a
second process, while this process emits before that notice arrives. That tab
still gets the message from "history" on its next (re)connect; it is stored
before it is emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import socketio

from .direct_emit import emit_to_one
from .keyed_locks import KeyedLocks
from .room_index import RoomIndex

log = logging.getLogger(__name__)

#: A room's set of processes expires this long after its last join (seconds).
MEMBERS_TTL = 24 * 3600
#: Every this often each process re-adds itself to its rooms' sets and re-reads them.
REFRESH_SECONDS = 60.0


class Presence:
    """This process's view of which other processes have sockets in its rooms."""

    def __init__(self, url: str, *, channel: str = "socketio", host_id: str | None = None) -> None:
        self.url = url
        self.host_id = host_id or uuid.uuid4().hex
        self._key_prefix = f"{channel}:presence:"
        self._notices = f"{channel}:presence"
        self._redis: Any = None
        #: Room -> the other processes with sockets in it, for rooms with local sockets.
        self._others: dict[str, set[str]] = {}
        #: Whether notices are being received, so ``_others`` is up to date.
        self.listening = False
        #: One join or leave at a time per room.
        self._turns = KeyedLocks()
        self._listener: asyncio.Task[None] | None = None

    def only_here(self, room: str) -> bool:
        """True when this process has sockets in ``room`` and knows no other has."""
        others = self._others.get(room)
        return self.listening and others is not None and not others

    def _client(self) -> Any:
        if self._redis is None:
            # Imported here: `redis` is an optional extra, needed only with a redis_url.
            from redis import asyncio as redis_asyncio

            self._redis = redis_asyncio.Redis.from_url(self.url, socket_connect_timeout=5)
        return self._redis

    def start(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="webchat-presence"
            )

    async def sync(self, room: str, here: Callable[[], bool]) -> None:
        """Record whether this process has sockets in ``room`` (``here()``, asked once it
        is this room's turn): a reload's new socket may connect while its old one is
        still being disconnected, and the record must end up saying "here"."""
        async with self._turns.hold(room):
            if here():
                if room not in self._others:
                    await self._join(room)
            elif room in self._others:
                await self._leave(room)

    async def _join(self, room: str) -> None:
        self._others[room] = {"?"}  # not known yet: publish meanwhile
        try:
            ((_added, others),) = await self._add_and_read([room])
            await self._client().publish(self._notices, _notice("join", room, self.host_id))
        except Exception:
            log.warning("webchat presence: could not record a join; emits go through Redis")
            return
        # Notices that arrived meanwhile are kept: a process that joined after the
        # SMEMBERS above may have announced itself already.
        known = self._others.setdefault(room, set())
        known.discard("?")
        known.update(others)

    async def _add_and_read(self, rooms: list[str]) -> list[tuple[bool, set[str]]]:
        """Add this process to each room's set (renewing its expiry) and read the
        other members, in one round trip: (whether it was missing, the others)."""
        async with self._client().pipeline(transaction=True) as pipe:
            for room in rooms:
                key = self._key_prefix + room
                pipe.sadd(key, self.host_id).expire(key, MEMBERS_TTL).smembers(key)
            replies = await pipe.execute()
        out = []
        for n in range(len(rooms)):
            added, _, members = replies[3 * n : 3 * n + 3]
            out.append((bool(added), {m.decode() for m in members} - {self.host_id}))
        return out

    async def _leave(self, room: str) -> None:
        self._others.pop(room, None)
        redis = self._client()
        try:
            await redis.srem(self._key_prefix + room, self.host_id)
            await redis.publish(self._notices, _notice("leave", room, self.host_id))
        except Exception:
            log.warning("webchat presence: could not record a leave")

    def on_notice(self, raw: bytes | str) -> None:
        """Another process joined or left a room (pure: no I/O)."""
        try:
            notice = json.loads(raw)
            kind, room, host = notice["kind"], notice["room"], notice["host"]
        except (ValueError, TypeError, KeyError):
            return
        others = self._others.get(room)
        if host == self.host_id or others is None:
            return
        if kind == "join":
            others.add(host)
        elif kind == "leave":
            others.discard(host)

    async def _listen(self) -> None:
        """Receive notices, and refresh every room from Redis when (re)subscribed and
        every ``REFRESH_SECONDS``: that repairs what a failed join or a missed notice
        left wrong, here or in the other processes."""
        delay = 0.5
        while True:
            pubsub = None
            try:
                pubsub = self._client().pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._notices)
                await self._refresh()
                self.listening = True
                delay = 0.5
                due = time.monotonic() + REFRESH_SECONDS
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=REFRESH_SECONDS
                    )
                    if message is not None and message.get("type") == "message":
                        self.on_notice(message["data"])
                    if time.monotonic() >= due:
                        await self._refresh()
                        due = time.monotonic() + REFRESH_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webchat presence: notices interrupted; emits go through Redis")
            finally:
                self.listening = False
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _refresh(self) -> None:
        """Add this process to each of its rooms' sets again (announcing it where it was
        missing) and read who else is there, in one round trip."""
        rooms = list(self._others)
        if not rooms:
            return
        for room, (added, others) in zip(rooms, await self._add_and_read(rooms), strict=True):
            if room not in self._others:
                continue  # left meanwhile
            if added:
                await self._client().publish(self._notices, _notice("join", room, self.host_id))
            self._others[room] = others

    async def close(self) -> None:
        """Leave every room (another process must not think it shares them) and stop."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        for room in list(self._others):
            await self.sync(room, lambda: False)
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()


def _notice(kind: str, room: str, host: str) -> str:
    return json.dumps({"kind": kind, "room": room, "host": host})


class LocalFirstRedisManager(RoomIndex, socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, but an emit to a room whose sockets are all in
    this process, or to one of this process's sockets, is sent here only (see the
    module docstring); the rest is published as before."""

    def __init__(self, url: str, *, tracked: Callable[[str], bool], channel: str = "socketio"):
        super().__init__(url, channel=channel)
        self.tracked = tracked
        self.presence = Presence(url, channel=channel, host_id=self.host_id)

    def initialize(self) -> None:
        super().initialize()
        self.presence.start()

    def only_here(self, room: str) -> bool:
        return self.presence.only_here(room)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> Any:
        target = to or room
        if (
            callback is None
            and isinstance(target, str)
            and (self.presence.only_here(target) or self.is_connected(target, namespace or "/"))
        ):
            # This room's sockets, or this socket, are all here.
            if await emit_to_one(self, event, data, namespace or "/", target, skip_sid, None):
                return None
            kwargs["ignore_queue"] = True
        return await super().emit(
            event,
            data,
            namespace=namespace,
            room=target,
            skip_sid=skip_sid,
            callback=callback,
            **kwargs,
        )

    async def enter_room(
        self, sid: str, namespace: str, room: str, eio_sid: str | None = None
    ) -> Any:
        result = await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        await self._sync(namespace, room)
        return result

    async def leave_room(self, sid: str, namespace: str, room: str) -> Any:
        result = await super().leave_room(sid, namespace, room)
        await self._sync(namespace, room)
        return result

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        rooms = self.get_rooms(sid, namespace)
        result = await super().disconnect(sid, namespace, **kwargs)
        for room in rooms:
            await self._sync(namespace, room)
        return result

    async def _sync(self, namespace: str, room: Any) -> None:
        if isinstance(room, str) and self.tracked(room):
            rooms = self.rooms
            await self.presence.sync(room, lambda: bool(rooms.get(namespace or "/", {}).get(room)))
