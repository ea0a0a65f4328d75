"""The core's moving parts, built once per process and handed to channels and the API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from contactcenter.agent_actions import AgentActions
from contactcenter.answerer import Answerer
from contactcenter.channel import ChannelRegistry
from contactcenter.config import Settings
from contactcenter.deliveries import DeliveryWriter
from contactcenter.metrics import Metrics
from contactcenter.outbox import Dispatcher, RetryPolicy
from contactcenter.router import Router
from contactcenter.storage.database import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    metrics: Metrics
    registry: ChannelRegistry
    router: Router
    actions: AgentActions
    dispatcher: Dispatcher
    api_token: str

    def set_answerer(self, answerer: Answerer) -> None:
        self.router.answerer = answerer

    async def close(self) -> None:
        """What the router is storing is written, then the database closes. Called once
        the channels and the outbox dispatcher have stopped, so nothing new comes in."""
        await self.router.close()
        await self.db.dispose()


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def build_services(settings: Settings, *, answerer: Answerer | None = None) -> Services:
    db = Database(settings.resolved_database_url, schema=settings.database_schema)
    metrics = Metrics()
    registry = ChannelRegistry()
    dispatcher = Dispatcher(
        db,
        registry,
        metrics,
        policy=RetryPolicy(
            base_delay=settings.outbox_base_delay_seconds,
            max_delay=settings.outbox_max_delay_seconds,
            max_age=settings.outbox_max_age_seconds,
        ),
        poll_interval=settings.outbox_poll_seconds,
    )
    router = Router(
        db,
        metrics,
        answerer=answerer,
        desks=settings.desks,
        reopen_window=timedelta(hours=settings.reopen_window_hours),
        max_bot_misses=settings.max_bot_misses,
        on_commit=dispatcher.wake,
    )
    actions = AgentActions(db, DeliveryWriter(settings.desks), on_commit=dispatcher.wake)
    return Services(
        settings, db, metrics, registry, router, actions, dispatcher, api_token=api_token(settings)
    )


def api_token(settings: Settings) -> str:
    """The configured token, or one generated once and kept (mode 0600) in the data dir."""
    if settings.api_token:
        return settings.api_token
    path = Path(settings.data_dir) / "api_token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return token
