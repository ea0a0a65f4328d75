"""The email channel: IMAP watchers in, SMTP out, the quarantine on the API.

Built by :func:`create_email_channel` (the ``contactcenter.channels`` entry
point) when the app is assembled: it reads the ``[email]`` configuration,
mounts the quarantine views on the app and wires the parts. ``start`` runs
one watcher task per mailbox with the router's ``handle``; ``send`` is called
by the outbox dispatcher for every reply to an email customer, ``on_event`` for
the customer's status events (a resolved request is mailed, see notify.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from contactcenter.channel import ChannelContext, Deliver, DeliverMany
from contactcenter.domain import CustomerEvent, OutboundMessage
from contactcenter.storage.database import Database

from . import api
from .blobs import BlobStore
from .config import EmailConfig, MailboxConfig, parse_config
from .ingest import Ingestor
from .lock import MailboxLock
from .notify import EventMailer
from .secret import load_secret
from .smtp import SmtpSender
from .store import EmailStore
from .tls import check_tls_settings
from .watcher import MailboxWatcher

log = logging.getLogger(__name__)

# A cancelled watcher finishes the mail in flight (bounded by imap_timeout) first.
STOP_GRACE_SECONDS = 5.0


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
        self.notices = EventMailer(self.store, self.sender)
        self.watchers: list[MailboxWatcher] = []
        # The core's batched path (Router.handle_many), when the app provides it: a
        # window of fetched mail is then stored in shared transactions.
        self.deliver_many: DeliverMany | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def ingestor(self, deliver: Deliver, deliver_many: DeliverMany | None = None) -> Ingestor:
        return Ingestor(
            self.config,
            self.store,
            self.blobs,
            self.secret,
            deliver,
            deliver_many or self.deliver_many,
        )

    def watcher(
        self, box: MailboxConfig, deliver: Deliver, deliver_many: DeliverMany | None = None
    ) -> MailboxWatcher:
        lock = MailboxLock(self.db, box.name, schema=self.schema)
        ingestor = self.ingestor(deliver, deliver_many)
        return MailboxWatcher(box, self.config, self.store, ingestor, lock)

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
        """Cancel the watchers and wait for them, bounded.

        The cancel is repeated every second: on Python 3.11 an ``asyncio.wait_for``
        inside a library (aioimaplib, asyncpg) swallows a cancellation that lands
        just as its operation completes, and the watcher would run on - and
        ``stop`` wait forever.
        """
        pending = {task for task in self._tasks if not task.done()}
        deadline = asyncio.get_running_loop().time() + self.config.imap_timeout
        deadline += STOP_GRACE_SECONDS
        while pending:
            for task in pending:
                task.cancel()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.error(
                    "email: %d watcher task(s) did not stop",
                    len(pending),
                    extra={"tasks": sorted(t.get_name() for t in pending)},
                )
                break
            _, pending = await asyncio.wait(pending, timeout=min(1.0, left))
        for task in self._tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()
        self._tasks.clear()
        self.watchers.clear()

    async def send(self, message: OutboundMessage) -> str:
        return await self.sender.send(message)

    async def on_event(self, event: CustomerEvent) -> str | None:
        return await self.notices.on_event(event)


def build_channel(
    raw_config: Mapping[str, Any], db: Database, data_dir: Path, *, schema: str | None = None
) -> EmailChannel:
    """The channel without a web app (the CLI and the benchmark use this)."""
    config = parse_config(raw_config)
    check_tls_settings(config)
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
    channel.deliver_many = context.services.router.handle_many
    if context.app is not None:
        api.add_routes(context.app, api.QuarantineViews(channel.store, channel.blobs))
    return channel
