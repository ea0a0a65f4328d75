"""The Slack desk: the object the core loads by the entry-point name ``slack``.

``create_slack_desk`` runs when the app is built: it checks the configuration
(so a missing token stops the server at start) and, in HTTP mode, mounts
``POST /slack/events`` on the core's aiohttp app. ``start`` learns who the bot
is (``auth.test``) and, in Socket Mode, connects; ``notify`` is what the outbox
dispatcher calls for every desk delivery.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from channels.slack.config import SlackConfig, load_config
from channels.slack.handlers import Handlers
from channels.slack.notifier import Notifier
from channels.slack.parse import Self
from channels.slack.store import SlackStore
from channels.slack.transport import EVENTS_PATH, Intake, SocketTransport, http_handler
from channels.slack.web import SlackError, SlackWeb
from contactcenter.channel import ChannelContext, Deliver
from contactcenter.config import ConfigError
from contactcenter.domain import DeskNotification
from contactcenter.services import Services

log = logging.getLogger(__name__)


class SlackDesk:
    name: ClassVar[str] = "slack"

    def __init__(self, config: SlackConfig, services: Services) -> None:
        self.config = config
        self.services = services
        self.web = SlackWeb(config.bot_token, config.api_url)
        self.store = SlackStore(services.db)
        self.notifier = Notifier(config, self.web, self.store, services.db)
        self.handlers = Handlers(config, self.web, self.store, services)
        self.me = Self()
        self.intake: Intake | None = None
        self.socket: SocketTransport | None = None

    async def start(self, deliver: Deliver) -> None:
        """Agents reach the core through AgentActions, so ``deliver`` is not used."""
        await self.web.open()
        try:
            auth = await self.web.call("auth.test")
            self.me = Self(bot_user_id=auth.get("user_id"), bot_id=auth.get("bot_id"))
            log.info(
                "slack desk connected", extra={"team": auth.get("team"), "bot": auth.get("user")}
            )
        except SlackError as exc:
            # Bot messages are ignored by their bot_id anyway; keep running, say it loudly.
            log.error("slack auth.test failed: %s (check CONTACTCENTER_SLACK_BOT_TOKEN)", exc)
        try:
            await self.store.prune_events()
        except Exception:
            log.warning("could not prune old slack event ids", exc_info=True)
        self.intake = Intake(self.config, self.store, self.handlers, lambda: self.me)
        if self.config.mode == "socket":
            self.socket = SocketTransport(self.config, self.intake)
            await self.socket.start()

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.stop()
            self.socket = None
        if self.intake is not None:
            await self.intake.drain()
        await self.web.close()

    async def notify(self, notification: DeskNotification) -> str | None:
        return await self.notifier.notify(notification)


def create_slack_desk(ctx: ChannelContext) -> SlackDesk:
    """Entry point ``slack`` in ``contactcenter.channels``."""
    config = load_config(ctx.config)
    desk = SlackDesk(config, ctx.services)
    if config.mode == "http":
        if ctx.app is None:
            raise ConfigError("slack: HTTP mode needs the web app to mount /slack/events")
        ctx.app.router.add_post(EVENTS_PATH, http_handler(config, lambda: desk.intake))
    return desk
