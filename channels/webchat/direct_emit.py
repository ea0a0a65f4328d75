"""An emit to one socket, sent straight away instead of through a task.

python-socketio's ``AsyncManager.emit`` starts one task per recipient and waits
for them all with ``asyncio.wait``, even when the room holds a single socket,
which is the usual web chat visitor: every bot answer paid a task, its
scheduling and the wait (measured ~2% of a message's CPU at 1,000 msg/s). Here
an emit without a callback whose room holds exactly one socket to send to is
encoded once, as the library does, and handed to that socket's queue in this
coroutine. Anything else (several recipients, a callback) goes to the library.

A failure to send now reaches the caller, who can fall back to the outbox,
where the library's ``asyncio.wait`` would have left it in the task unseen.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from .room_index import RoomIndex


async def emit_to_one(
    manager: Any,
    event: str,
    data: Any,
    namespace: str,
    room: object,
    skip_sid: Any,
    callback: Any,
) -> bool:
    """Send ``event`` if ``room`` holds exactly one socket to send it to; True if sent."""
    if callback is not None or not isinstance(room, str):
        return False  # the library's: a callback per recipient, a list of rooms, everyone
    members = manager.rooms.get(namespace, {}).get(room)
    if not members or len(members) > 2:  # more than one besides a skipped one
        return False
    skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
    targets = [(sid, eio_sid) for sid, eio_sid in members.items() if sid not in skipped]
    if len(targets) != 1:
        return False
    if isinstance(data, tuple):
        args = list(data)
    elif data is not None:
        args = [data]
    else:
        args = []
    pkt = manager.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args])
    encoded = pkt.encode()
    for part in encoded if isinstance(encoded, list) else [encoded]:
        message = eio_packet.Packet(eio_packet.MESSAGE, part)
        await manager.server._send_eio_packet(targets[0][1], message)
    return True


class DirectManager(RoomIndex, socketio.AsyncManager):  # type: ignore[misc]
    """The one-process manager: :func:`emit_to_one` first, and each socket's rooms
    indexed (``room_index.py``)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> Any:
        target = to or room
        if await emit_to_one(self, event, data, namespace, target, skip_sid, callback):
            return None
        return await super().emit(
            event, data, namespace, room=target, skip_sid=skip_sid, callback=callback, **kwargs
        )
