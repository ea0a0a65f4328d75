"""The email channel: IMAP watchers in, SMTP out, the quarantine on the API.

Built by :func:`create_email_channel` (the ``contactcenter.channels`` entry
point) when the app is assembled: it reads the ``[email]`` configuration,
mounts the quarantine views on the app and wires the parts. ``start`` runs
one watcher task per mailbox with the router's ``handle``; ``send`` is called
by the outbox dispatcher for every reply to an email customer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from contactcenter.channel import ChannelContext, Deliver
from contactcenter.domain import OutboundMessage
from contactcenter.storage.database import Database

from . import api
from .blobs import BlobStore
from .config import EmailConfig, MailboxConfig, parse_config
from .ingest import Ingestor
from .lock import MailboxLock
from .secret import load_secret
from .smtp import SmtpSender
from .store import EmailStore
from .watcher import MailboxWatcher

log = logging.getLogger(__name__)


class EmailChannel:
    name: ClassVar[str] = "email"

    def __init__(
        self,
        config: EmailConfig,
        db: Database,
        blobs: BlobStore,
        secret: bytes,
        *,
        schema: str | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.schema = schema
        self.store = EmailStore(db)
        self.blobs = blobs
        self.secret = secret
        self.sender = SmtpSender(config, self.store, secret)
        self.watchers: list[MailboxWatcher] = []
        self._tasks: list[asyncio.Task[None]] = []

    def ingestor(self, deliver: Deliver) -> Ingestor:
        return Ingestor(self.config, self.store, self.blobs, self.secret, deliver)

    def watcher(self, box: MailboxConfig, deliver: Deliver) -> MailboxWatcher:
        lock = MailboxLock(self.db, box.name, schema=self.schema)
        return MailboxWatcher(box, self.config, self.store, self.ingestor(deliver), lock)

    # -- Channel protocol -------------------------------------------------------------

    async def start(self, deliver: Deliver) -> None:
        if not self.config.watch:
            log.info("email: watching is off; sending only")
            return
        for box in self.config.mailboxes:
            if not box.imap_host:
                log.warning("email: mailbox %s has no imap_host; not watched", box.name)
                continue
            watcher = self.watcher(box, deliver)
            self.watchers.append(watcher)
            self._tasks.append(asyncio.create_task(watcher.run(), name=f"email-watch-{box.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self.watchers.clear()

    async def send(self, message: OutboundMessage) -> str:
        return await self.sender.send(message)


def build_channel(
    raw_config: Mapping[str, Any], db: Database, data_dir: Path, *, schema: str | None = None
) -> EmailChannel:
    """The channel without a web app (the CLI and the benchmark use this)."""
    config = parse_config(raw_config)
    root = Path(data_dir)
    secret = load_secret(config.secret, root)
    return EmailChannel(config, db, BlobStore(root), secret, schema=schema)


def create_email_channel(context: ChannelContext) -> EmailChannel:
    settings = context.services.settings
    channel = build_channel(
        context.config,
        context.services.db,
        settings.data_dir,
        schema=settings.database_schema,
    )
    if context.app is not None:
        api.add_routes(context.app, api.QuarantineViews(channel.store, channel.blobs))
    return channel
