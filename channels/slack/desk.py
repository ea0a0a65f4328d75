"""The Slack desk: the object the core loads by the entry-point name ``slack``.

``create_slack_desk`` runs when the app is built: it checks the configuration
(so a missing token stops the server at start), builds the slack-bolt app on
the desk's Web API client and, in HTTP mode, mounts ``POST /slack/events`` on
the core's aiohttp app. ``start`` opens the pooled HTTP session, checks the
token (``auth.test``, so a wrong one is logged at start, not at the first
request) and, in Socket Mode, connects; ``notify`` is what the outbox
dispatcher calls for every desk delivery.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from slack_bolt.async_app import AsyncApp

from channels.slack.bolt_app import build_app
from channels.slack.config import SlackConfig, load_config
from channels.slack.handlers import Handlers
from channels.slack.http_events import EVENTS_PATH, events_view
from channels.slack.identity import BotIdentity
from channels.slack.intake import Intake
from channels.slack.notifier import Notifier
from channels.slack.socket_mode import SocketTransport
from channels.slack.store import SlackStore
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
        self.intake = Intake(config, self.store, self.handlers)
        self.identity = BotIdentity(self.web, config.bot_token)
        self.bolt: AsyncApp = build_app(config, self.web, self.identity, self.intake)
        self.started = False
        self.socket: SocketTransport | None = None

    async def start(self, deliver: Deliver) -> None:
        """Agents reach the core through AgentActions, so ``deliver`` is not used."""
        await self.web.open()
        try:
            me = await self.identity.learn()
            log.info("slack desk connected", extra={"team": me.team, "bot": me.bot_user_id})
        except SlackError as exc:
            # Asked again on the first request (not acked until it works); say it loudly now.
            log.error("slack auth.test failed: %s (check CONTACTCENTER_SLACK_BOT_TOKEN)", exc)
        try:
            await self.store.prune_events()
        except Exception:
            log.warning("could not prune old slack event ids", exc_info=True)
        self.started = True
        if self.config.mode == "socket":
            self.socket = SocketTransport(self.bolt, self.config.app_token or "")
            await self.socket.start()

    async def stop(self) -> None:
        self.started = False
        if self.socket is not None:
            await self.socket.stop()
            self.socket = None
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
        ctx.app.router.add_post(
            EVENTS_PATH, events_view(config, lambda: desk.bolt if desk.started else None)
        )
    return desk
