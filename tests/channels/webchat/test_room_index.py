"""The web chat's Socket.IO manager keeps each socket's rooms beside python-socketio's
table; whatever happens, it must answer exactly as the library's own manager."""

from __future__ import annotations

import random
from typing import Any

import socketio

from channels.webchat.direct_emit import DirectManager


class _Eio:
    def __init__(self) -> None:
        self.n = 0

    def generate_id(self) -> str:
        self.n += 1
        return f"sid{self.n}"


class _Server:
    packet_class = socketio.packet.Packet

    def __init__(self) -> None:
        self.eio = _Eio()


def _manager(cls: type[Any]) -> Any:
    manager = cls()
    manager.set_server(_Server())
    return manager


def _state(manager: Any, sids: list[str]) -> Any:
    rooms = {
        ns: {room: dict(members) for room, members in table.items()}
        for ns, table in manager.rooms.items()
    }
    return (
        rooms,
        {ns: sorted(room_sids) for ns, room_sids in manager.pending_connect.items()},
        {ns: sorted(room_sids) for ns, room_sids in manager.pending_disconnect.items()},
        sorted(manager.callbacks),
        {
            (ns, sid): (sorted(manager.get_rooms(sid, ns)), manager.is_connected(sid, ns))
            for sid in sids
            for ns in ("/", "/other")
        },
    )


async def test_rooms_callbacks_and_pending_states_match_the_library_manager() -> None:
    ours, theirs = _manager(DirectManager), _manager(socketio.AsyncManager)
    rng = random.Random(20261123)
    sids: list[str] = []
    for step in range(1200):
        action = rng.choice(
            ["connect", "connect", "enter", "enter", "leave", "close", "ack"] * 2
            + ["disconnect", "pre_disconnect", "half_connect"]
        )
        ns = rng.choice(["/", "/", "/other"])
        room = f"visitor:{rng.randrange(40)}"
        sid = rng.choice(sids) if sids else None
        left = rng.choice([room, sid, None])
        for manager in (ours, theirs):
            if action in ("connect", "half_connect"):
                new = await manager.pre_connect(f"eio{step}", ns)
                if action == "connect":
                    await manager.connect(new, ns)
            elif sid is None:
                continue
            elif action == "enter" and manager.is_connected(sid, ns):
                await manager.enter_room(sid, ns, room)
            elif action == "leave":
                await manager.leave_room(sid, ns, left)
            elif action == "close":
                await manager.close_room(room, ns)
            elif action == "ack" and manager.is_connected(sid, ns):
                manager._generate_ack_id(sid, print)
            elif action == "pre_disconnect" and manager.is_connected(sid, ns):
                manager.pre_disconnect(sid, ns)
            elif action == "disconnect":
                await manager.disconnect(sid, ns)
        if action in ("connect", "half_connect"):
            sids.append(f"sid{ours.server.eio.n}")
        if step % 7 == 0 or action in ("disconnect", "close"):
            assert _state(ours, sids) == _state(theirs, sids), f"step {step}: {action}"
    assert _state(ours, sids) == _state(theirs, sids)
    assert len(sids) > 200  # the sequence did exercise many sockets


async def test_a_disconnect_leaves_other_sockets_rooms_alone() -> None:
    manager = _manager(DirectManager)
    a = await manager.pre_connect("eio-a", "/")
    await manager.connect(a, "/")
    b = await manager.pre_connect("eio-b", "/")
    await manager.connect(b, "/")
    for sid in (a, b):
        await manager.enter_room(sid, "/", "visitor:shared")
    await manager.disconnect(a, "/")
    assert manager.get_rooms(b, "/") == [b, "visitor:shared"]
    assert dict(manager.rooms["/"]["visitor:shared"]) == {b: "eio-b"}
    assert manager.get_rooms(a, "/") == [] and not manager.is_connected(a, "/")
