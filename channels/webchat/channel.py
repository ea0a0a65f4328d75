"""The web chat channel: Socket.IO on the app's own aiohttp server.

The factory runs at app build time: it attaches a python-socketio
``AsyncServer`` (``async_mode="aiohttp"``) to ``ChannelContext.app`` at
``/socket.io/`` and adds ``/widget.js`` and ``/chat``. ``start`` is called after
the migrations with the router's ``handle``; the handlers call it for each
visitor message and acknowledge the socket only after it returned, i.e. after
the commit.

Transport is WebSocket only by default. Long-polling spreads one session over
many HTTP requests, which must all reach the process holding that session, so
it is offered only with ``allow_polling = true`` behind a load balancer with
sticky sessions (see README.md). With ``redis_url`` set, emits go through
``socketio.AsyncRedisManager`` so that ``send()`` in any process reaches the
visitor's socket in whichever process holds it.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import socketio
from aiohttp import web

from contactcenter import jsoncodec
from contactcenter.channel import ChannelContext, Deliver, DeliveryError
from contactcenter.config import ConfigError
from contactcenter.domain import CustomerEvent, OutboundMessage
from contactcenter.storage.database import Database

from . import store, wire
from . import web as web_routes
from .config import WebchatConfig, parse_config
from .direct_emit import DirectManager
from .handlers import Handlers
from .identity import is_visitor_room, room_of
from .presence import LocalFirstRedisManager
from .secret import load_secret
from .sessions import Sessions

log = logging.getLogger(__name__)

CSAT_SCALE = [1, 2, 3, 4, 5]


class WebchatChannel:
    name: ClassVar[str] = "webchat"
    # Replies are not threaded by earlier message ids: the outbox skips that query.
    thread_history: ClassVar[bool] = False

    def __init__(self, config: WebchatConfig, secret: bytes, db: Database) -> None:
        self.config = config
        self.db = db
        manager = (
            LocalFirstRedisManager(config.redis_url, tracked=is_visitor_room)
            if config.redis_url
            else DirectManager()
        )
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            async_handlers=False,  # one client's events in arrival order
            json=jsoncodec,
            client_manager=manager,
            cors_allowed_origins=config.cors,
            transports=config.transports,
            max_http_buffer_size=config.max_frame_bytes,
            logger=False,
            engineio_logger=False,
        )
        self.sessions = Sessions()
        self.handlers = Handlers(self.sio, config, secret, self.sessions, db)
        self.handlers.register()

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app)
        web_routes.add_routes(app, title=self.config.title)
        app.on_shutdown.append(self._on_shutdown)

    # -- Channel protocol -------------------------------------------------------------

    async def start(self, deliver: Deliver) -> None:
        self.handlers.deliver = deliver

    async def stop(self) -> None:
        self.handlers.deliver = None
        await self._close_sockets()

    async def send(self, message: OutboundMessage) -> str:
        """Emit to the visitor's room. Offline is not a failure: the message is stored,
        and "history" hands it over when the visitor comes back."""
        address = message.recipient.value
        if not address:
            raise DeliveryError("the delivery has no web chat visitor", permanent=True)
        try:
            await self.sio.emit("message", wire.outbound(message), room=room_of(address))
        except Exception as exc:  # the Redis manager can fail to publish
            raise DeliveryError(f"web chat emit failed: {type(exc).__name__}: {exc}") from exc
        return f"webchat-out-{message.message_id}"

    async def on_event(self, event: CustomerEvent) -> str:
        """The core's status events for the customer, delivered through the outbox after
        the commit: "agent_joined" and "resolved" (with the satisfaction prompt)."""
        status = {"agent_joined": "assigned"}.get(event.kind, event.kind)
        agent_name = event.payload.get("agent_name")
        await self.on_status_changed(
            event.conversation_id,
            status,
            str(agent_name) if agent_name else None,
            address=event.recipient.value,
        )
        return f"webchat-event-{event.delivery_id}"

    # -- what the desk side can call --------------------------------------------------

    async def on_status_changed(
        self,
        conversation_id: int,
        status: str,
        assignee_name: str | None = None,
        *,
        address: str | None = None,
        local_only: bool = False,
    ) -> None:
        """Tell the visitor: "agent_joined" on assignment; "resolved" and the "csat"
        prompt on resolution; "status" otherwise."""
        if address is None:
            address = await store.address_of(self.db, conversation_id)
            if address is None:
                return
        room = room_of(address)
        kw: dict[str, Any] = {"ignore_queue": True} if local_only else {}
        status = str(status)
        if status == "assigned":
            await self.sio.emit(
                "agent_joined",
                {"conversation_id": conversation_id, "agent_name": assignee_name},
                room=room,
                **kw,
            )
        elif status == "resolved":
            await self.sio.emit("resolved", {"conversation_id": conversation_id}, room=room, **kw)
            await self.sio.emit(
                "csat",
                {
                    "conversation_id": conversation_id,
                    "question": self.config.csat_question,
                    "scale": CSAT_SCALE,
                },
                room=room,
                **kw,
            )
        else:
            await self.sio.emit(
                "status", {"conversation_id": conversation_id, "status": status}, room=room, **kw
            )

    async def agent_typing(
        self, conversation_id: int, typing: bool = True, agent_name: str | None = None
    ) -> None:
        address = await store.address_of(self.db, conversation_id)
        if address is None:
            return
        await self.sio.emit(
            "typing",
            {
                "conversation_id": conversation_id,
                "author": "agent",
                "author_name": agent_name,
                "typing": typing,
            },
            room=room_of(address),
        )

    # -- internals --------------------------------------------------------------------

    async def _on_shutdown(self, app: web.Application) -> None:
        await self._close_sockets()

    async def _close_sockets(self) -> None:
        """Open WebSockets would hold the server's shutdown until its timeout."""
        try:
            await self.sio.eio.disconnect()
        except Exception:
            log.debug("webchat: closing sockets failed", exc_info=True)
        thread = getattr(self.sio.manager, "thread", None)
        if thread is not None and hasattr(thread, "cancel"):
            thread.cancel()
        if isinstance(self.sio.manager, LocalFirstRedisManager):
            await self.sio.manager.presence.close()


def create_webchat_channel(context: ChannelContext) -> WebchatChannel:
    """The entry point: read the ``[webchat]`` section, mount the socket, /widget.js, /chat.

    Runs when the app is built, because routes cannot be added once it has started.
    """
    if context.app is None:
        raise ConfigError("webchat: the channel needs the web app to attach to")
    config = parse_config(context.config)
    secret = load_secret(config.secret, context.services.settings.data_dir)
    channel = WebchatChannel(config, secret, context.services.db)
    channel.handlers.wake_outbox = context.services.dispatcher.wake
    channel.attach(context.app)
    return channel
