"""Each socket's rooms, kept beside python-socketio's rooms, so that a disconnect
costs the same with ten visitors connected as with ten thousand.

python-socketio's ``BaseManager`` keeps only ``rooms[namespace][room] -> {sid:
eio_sid}``. To find a socket's rooms it copies that table and asks every room
whether the socket is in it: on every disconnect (and every ``get_rooms``).
Each web chat socket has two rooms (its own and its visitor's), so with 2,000
visitors connected one disconnect walked 4,000 rooms, ~1.5 ms of the event
loop; a wave of visitors leaving (the end of a campaign, a deploy closing
every socket) stalled the answers of everyone still chatting for seconds
(seen in ``bench/webchat_load.py``: 0.6 s p50 while 1,000 visitors left).

:class:`RoomIndex` records the rooms each socket enters and leaves through the
manager's own ``basic_*`` methods, which are the only ones that change the
table, and answers those two questions from the record. The library's table
stays the truth for everything else; a socket missing from the record (which
would be a bug) is disconnected the library's way.
"""

from __future__ import annotations

from typing import Any


class RoomIndex:
    """Mixed in before a python-socketio manager class."""

    _rooms_of: dict[tuple[str, str], dict[Any, None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (namespace, sid) -> its rooms, in the order it entered them (None included).
        self._rooms_of = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self._rooms_of[namespace, sid]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """What the library's does (leave every room, forget the socket's callbacks
        and pending states), with the socket's rooms read from the record."""
        manager: Any = self
        rooms = self._rooms_of.pop((namespace, sid), None)
        if rooms is None or namespace not in manager.rooms:
            super().basic_disconnect(sid, namespace, **kwargs)  # type: ignore[misc]
            return
        for room in rooms:
            super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        manager.callbacks.pop(sid, None)
        for pending in (manager.pending_connect, manager.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms ``sid`` is in (not the namespace-wide ``None`` one)."""
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]
