"""The channel contract and the registry that loads channels by name.

Channels are found through the ``contactcenter.channels`` entry-point group, so
the core never imports one and a third-party channel is just a package. Each
entry point is a factory ``(ChannelContext) -> Channel``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from contactcenter.domain import (
    AgentReply,
    DeskNotification,
    HandleResult,
    InboundMessage,
    OutboundMessage,
)

if TYPE_CHECKING:
    from aiohttp import web

    from contactcenter.services import Services

log = logging.getLogger(__name__)

CHANNEL_GROUP = "contactcenter.channels"
ANSWERER_GROUP = "contactcenter.answerers"

Deliver = Callable[[InboundMessage], Awaitable[HandleResult]]
# Many messages in order, in shared transactions; one result or refusal each (Router.handle_many).
DeliverMany = Callable[[Sequence[InboundMessage]], Awaitable[list[HandleResult | Exception]]]


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures are not retried (a rejected address)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    name: ClassVar[str]

    async def start(self, deliver: Deliver) -> None: ...
    async def stop(self) -> None: ...
    async def send(self, message: OutboundMessage) -> str:
        """Deliver to the customer; return the channel's native id for the message."""
        ...


@runtime_checkable
class Desk(Protocol):
    """The agents' side (Slack): told of escalations and messages, hands back replies."""

    name: ClassVar[str]

    async def start(self, deliver: Deliver) -> None: ...
    async def stop(self) -> None: ...
    async def notify(self, notification: DeskNotification) -> str | None: ...


AgentReplyHandler = Callable[[AgentReply], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel factory gets: its own configuration, the web app, the core."""

    name: str
    config: Mapping[str, Any]
    app: web.Application | None
    services: Services


ChannelFactory = Callable[[ChannelContext], Any]


class ChannelError(RuntimeError):
    """A configured channel cannot be loaded."""


def find_factory(name: str, group: str = CHANNEL_GROUP) -> ChannelFactory:
    matches = [ep for ep in entry_points(group=group) if ep.name == name]
    if not matches:
        available = sorted(ep.name for ep in entry_points(group=group))
        raise ChannelError(
            f"no {group} entry point named {name!r} (installed: {', '.join(available) or 'none'})"
        )
    factory: ChannelFactory = matches[0].load()
    return factory


class ChannelRegistry:
    """The loaded channels and desks, by name."""

    def __init__(self) -> None:
        self._channels: dict[str, Any] = {}

    def add(self, name: str, channel: Any) -> None:
        if name in self._channels:
            raise ChannelError(f"channel {name!r} registered twice")
        self._channels[name] = channel

    def get(self, name: str) -> Any | None:
        return self._channels.get(name)

    def names(self) -> list[str]:
        return list(self._channels)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._channels.items())
