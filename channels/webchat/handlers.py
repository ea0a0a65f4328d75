"""The Socket.IO event handlers: connect, message, typing, csat, anything else.

The server runs with ``async_handlers=False``, so one client's events are
handled in the order they arrived (python-socketio's default would start each
in its own task, and two quick messages could be stored the other way round).
The handlers do the I/O; what they check is decided by the pure modules.

Every refusal is answered: a connection refusal carries ``{"code", "message"}``
in the connect_error data; an event refusal is an ``"error"`` event
``{"code", "message", "event", ...}`` and, when the client asked for an ack,
the ack ``{"error": {...}}``. The socket stays open: a client that floods is
slowed down, not thrown into a reconnect loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from contactcenter.channel import Deliver
from contactcenter.deliveries import hand_to_outbox
from contactcenter.domain import Address, InboundMessage, OutboundMessage, utcnow
from contactcenter.storage.database import Database

from . import store, wire
from .config import WebchatConfig
from .identity import Refused, Visitor, identify
from .payloads import PayloadError, parse_auth, parse_csat, parse_message, parse_typing
from .ratelimit import RateLimiter
from .sessions import Connection, Sessions

log = logging.getLogger(__name__)

CHANNEL = "webchat"
CustomerTyping = Callable[[int | None, str, bool], Awaitable[None]]


def remote_address(environ: dict[str, Any]) -> str:
    """The peer's IP. engine.io's aiohttp environ hard-codes REMOTE_ADDR, so ask the
    request itself. Behind a proxy this is the proxy: raise the connect limit there."""
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return str(remote) if remote else "unknown"


def refuse(code: str, message: str, **extra: Any) -> SocketRefused:
    return SocketRefused(message, {"code": code, "message": message, **extra})


class Handlers:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        config: WebchatConfig,
        secret: bytes,
        sessions: Sessions,
        db: Database,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sio = sio
        self.config = config
        self.secret = secret
        self.sessions = sessions
        self.db = db
        self.clock = clock
        self.deliver: Deliver | None = None
        self.messages = RateLimiter(config.messages_per_minute, config.message_burst)
        self.typing_limit = RateLimiter(config.typing_per_minute, config.typing_burst)
        self.connects = RateLimiter(config.connects_per_minute, config.connect_burst)
        # Set by whoever wants to show the customer typing (the desk, once it can).
        self.on_customer_typing: CustomerTyping | None = None
        # Called after a reply was handed to the outbox: send it now, not at the next poll.
        self.wake_outbox: Callable[[], None] = lambda: None
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self.sio.on("message", self.message)
        self.sio.on("typing", self.typing)
        self.sio.on("csat", self.csat)
        self.sio.on("*", self.unknown)

    # -- connection -------------------------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        remote = remote_address(environ)
        wait = self.connects.check(remote, self.clock())
        if wait:
            raise refuse(
                "rate_limited",
                f"too many connections; retry in {wait:.0f}s",
                retry_after=round(wait, 1),
            )
        if self.deliver is None:
            raise refuse("unavailable", "the chat is starting; retry in a moment")
        try:
            parsed = parse_auth(auth)
            visitor = identify(parsed, secret=self.secret, config=self.config, now=int(time.time()))
        except (PayloadError, Refused) as exc:
            log.info("webchat connection refused: %s", exc.code)
            raise refuse(exc.code, exc.message) from None
        last_id = parsed.last_id
        try:
            current = await store.current_conversation(self.db, visitor.address)
        except Exception:
            log.exception("webchat: could not read the visitor's conversation")
            raise refuse("unavailable", "the chat is unavailable; retry in a moment") from None
        self.sessions.add(Connection(sid, visitor, remote))
        if current is not None:
            self.sessions.set_conversation(visitor.address, current.conversation_id)
        await self.sio.enter_room(sid, visitor.room)
        task = asyncio.create_task(self._welcome(sid, last_id, current))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _welcome(self, sid: str, last_id: int, current: store.Current | None) -> None:
        """ "session" then "history", once the client has its connect confirmation: an
        event emitted before that would reach a namespace the client has not joined."""
        for _ in range(500):
            if self.sio.manager.is_connected(sid, "/"):
                break
            await asyncio.sleep(0.01)
        conn = self.sessions.get(sid)
        if conn is None:
            return
        visitor = conn.visitor
        await self.sio.emit(
            "session",
            session_payload(
                visitor,
                current.conversation_id if current else None,
                current.status if current else None,
            ),
            to=sid,
        )
        if current is None:  # never wrote: nothing to replay, no query
            await self.sio.emit("history", {"messages": [], "more": False}, to=sid)
            return
        try:
            messages, more = await store.history(
                self.db, visitor.address, last_id, self.config.history_limit
            )
        except Exception:
            log.exception("webchat: could not read history")
            await self._error(sid, "history", "unavailable", "history could not be read")
            return
        await self.sio.emit("history", {"messages": messages, "more": more}, to=sid)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        self.sessions.remove(sid)

    # -- events -----------------------------------------------------------------------

    async def _error(
        self, sid: str, event: str, code: str, message: str, **extra: Any
    ) -> dict[str, Any]:
        body = wire.error(code, message, event=event, **extra)
        await self.sio.emit("error", body, to=sid)
        return {"error": body}

    async def message(self, sid: str, data: Any = None) -> dict[str, Any]:
        conn = self.sessions.get(sid)
        if conn is None or self.deliver is None:
            return await self._error(sid, "message", "not_connected", "connect first")
        client_id = data.get("id") if isinstance(data, dict) else None
        extra = {"id": client_id} if isinstance(client_id, (str, int)) else {}
        try:
            msg = parse_message(data, max_len=self.config.max_text_length)
        except PayloadError as exc:
            return await self._error(sid, "message", exc.code, exc.message, **extra)
        visitor = conn.visitor
        wait = self.messages.check(visitor.address, self.clock())
        if wait:
            return await self._error(
                sid,
                "message",
                "rate_limited",
                f"you are sending messages too fast; retry in {wait:.1f}s",
                id=msg.id,
                retry_after=round(wait, 2),
            )
        if msg.conversation_id is not None:
            try:
                owned = await store.owned_conversation(
                    self.db, visitor.address, msg.conversation_id
                )
            except Exception:
                log.exception("webchat: could not check a conversation")
                return await self._error(
                    sid, "message", "unavailable", "try again", id=msg.id, retry=True
                )
            if owned is None:
                return await self._error(
                    sid,
                    "message",
                    "conversation_not_found",
                    f"conversation {msg.conversation_id} is not one of yours",
                    id=msg.id,
                )
        async with self.sessions.locked(visitor.address):
            inbound = InboundMessage(
                channel_message_id=f"{visitor.address}:{msg.id}",
                sender=Address(CHANNEL, visitor.address),
                text=msg.text,
                display_name=visitor.name,
                email=visitor.email,
                verified=visitor.verified,
                conversation_id=msg.conversation_id or self.sessions.conversation(visitor.address),
                metadata={"client_id": msg.id},
                received_at=utcnow(),
                # The bot's answer is emitted below, not through the outbox: the
                # widget fetches anything it missed from "history".
                replies_in_result=True,
            )
            try:
                result = await self.deliver(inbound)
            except ValueError as exc:
                return await self._error(sid, "message", "bad_text", str(exc), id=msg.id)
            except Exception:
                # Not stored: the client keeps the message queued and resends it with
                # the same id, which is why a retry can never store it twice.
                log.exception("webchat: storing a message failed")
                return await self._error(
                    sid,
                    "message",
                    "unavailable",
                    "the message could not be stored yet; it will be resent",
                    id=msg.id,
                    retry=True,
                )
            changed = self.sessions.set_conversation(visitor.address, result.conversation_id)
        if changed:
            await self.sio.emit(
                "session",
                session_payload(visitor, result.conversation_id, str(result.status)),
                room=visitor.room,
            )
        if not result.duplicate and self._may_have_other_tabs(sid, visitor):
            # The visitor's other tabs show what this one sent.
            await self.sio.emit(
                "message",
                wire.message(
                    id=result.message_id,
                    conversation_id=result.conversation_id,
                    author="customer",
                    text=inbound.text,
                    created_at=inbound.received_at,
                    client_id=msg.id,
                ),
                room=visitor.room,
                skip_sid=sid,
            )
        for reply in result.replies:
            await self._send_reply(visitor, reply)
        return {
            "id": result.message_id,
            "conversation_id": result.conversation_id,
            "client_id": msg.id,
            "duplicate": result.duplicate,
        }

    def _may_have_other_tabs(self, sid: str, visitor: Visitor) -> bool:
        """False only when this process holds every socket and none but ``sid`` is in
        the visitor's room: the usual single tab needs no copy of its own message
        (building and encoding it measured 2% of a message; with several processes,
        publishing it through Redis cost far more)."""
        manager = self.sio.manager
        if isinstance(manager, AsyncPubSubManager):  # shared by processes
            only_here = getattr(manager, "only_here", None)
            if only_here is None or not only_here(visitor.room):
                return True  # other processes may hold other tabs
        return any(other != sid for other, _ in manager.get_participants("/", visitor.room))

    async def _send_reply(self, visitor: Visitor, reply: OutboundMessage) -> None:
        """Emit a bot reply to every tab of the visitor; if the emit fails (the Redis
        manager can), hand it to the outbox, which retries it."""
        try:
            await self.sio.emit("message", wire.outbound(reply), room=visitor.room)
            return
        except Exception:
            log.warning("webchat: emitting a reply failed; the outbox will retry it")
        try:
            async with self.db.transaction() as s:
                hand_to_outbox(s, reply)
            self.wake_outbox()
        except Exception:
            log.exception("webchat: could not queue a reply; it stays in the visitor's history")

    async def typing(self, sid: str, data: Any = None) -> dict[str, Any] | None:
        """Accepted and rate-limited; over the limit it is dropped quietly, because a
        typing indicator is a hint that the next one replaces anyway."""
        conn = self.sessions.get(sid)
        if conn is None:
            return await self._error(sid, "typing", "not_connected", "connect first")
        try:
            typing = parse_typing(data)
        except PayloadError as exc:
            return await self._error(sid, "typing", exc.code, exc.message)
        if self.typing_limit.check(conn.visitor.address, self.clock()):
            return None
        hook = self.on_customer_typing
        if hook is not None:
            try:
                await hook(
                    self.sessions.conversation(conn.visitor.address), conn.visitor.address, typing
                )
            except Exception:
                log.exception("webchat: customer typing hook failed")
        return None

    async def csat(self, sid: str, data: Any = None) -> dict[str, Any]:
        conn = self.sessions.get(sid)
        if conn is None:
            return await self._error(sid, "csat", "not_connected", "connect first")
        try:
            rating = parse_csat(data, comment_max=self.config.csat_comment_max)
        except PayloadError as exc:
            return await self._error(sid, "csat", exc.code, exc.message)
        if self.messages.check(conn.visitor.address, self.clock()):
            return await self._error(sid, "csat", "rate_limited", "too fast; retry later")
        try:
            stored = await store.record_csat(
                self.db,
                conn.visitor.address,
                rating.conversation_id,
                rating.score,
                rating.comment,
            )
        except store.CsatError as exc:
            return await self._error(sid, "csat", exc.code, exc.message)
        except Exception:
            log.exception("webchat: storing a rating failed")
            return await self._error(sid, "csat", "unavailable", "try again", retry=True)
        return {"ok": True, "stored": stored, "conversation_id": rating.conversation_id}

    async def unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        name = event if isinstance(event, str) else repr(event)
        return await self._error(sid, name[:64], "unknown_event", f"unknown event {name[:64]!r}")


def session_payload(
    visitor: Visitor, conversation_id: int | None, status: str | None
) -> dict[str, Any]:
    """What the widget keeps: its token (anonymous visitors), its conversation."""
    out: dict[str, Any] = {
        "visitor_token": visitor.token,
        "conversation_id": conversation_id,
        "status": status,
        "verified": visitor.verified,
    }
    if visitor.verified:
        out["user_id"] = visitor.address.removeprefix("user:")
    return out
