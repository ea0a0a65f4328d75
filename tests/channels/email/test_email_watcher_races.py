"""The two races behind the once-flaky UIDVALIDITY test, each made deterministic.

1. Mail that arrives while the watcher FETCHes is announced by Dovecot in the
   FETCH answer, once; aioimaplib drops that line. The catch-up must notice
   and go round again, or the mail waits for the next IDLE restart.
2. On Python 3.11, ``asyncio.wait_for`` inside a library can swallow a
   cancellation; stopping the channel must still end its watchers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from channels.email.config import parse_config
from channels.email.imap_client import ImapSession
from channels.email.watcher import MailboxWatcher
from contactcenter.config import Settings
from contactcenter.domain import HandleResult, InboundMessage

from .conftest import EmailApp, email_config
from .servers import Dovecot
from .test_email_e2e import customer_mail, messages


async def test_mail_arriving_during_a_fetch_is_read_in_the_same_catch_up(
    settings: Settings, dovecot: Dovecot
) -> None:
    config = email_config(dovecot, None, watch=False)  # the test drives the watcher itself
    app = EmailApp(
        dataclasses.replace(settings, channels=("api", "email"), channel_config={"email": config})
    )
    await app.start(wait_synced=False)
    session = None
    try:
        for i in (1, 2):
            await dovecot.append(customer_mail(f"<f{i}@example.org>", f"m{i}", sender="f@x.org"))
        handle = app.services.router.handle
        calls = 0

        async def deliver(message: InboundMessage) -> HandleResult:
            # While mail 1 is being stored, mail 3 arrives: the server will mention it
            # in its answer to the FETCH of mail 2, and nowhere else.
            nonlocal calls
            calls += 1
            if calls == 1:
                await dovecot.append(customer_mail("<f3@example.org>", "m3", sender="f@x.org"))
            return await handle(message)

        channel = app.channel
        channel.deliver_many = None  # mail by mail, so the FETCH of mail 2 follows store 1
        box = channel.config.mailboxes[0]
        watcher = channel.watcher(box, deliver)
        session = ImapSession(box, timeout=10)
        await session.open()
        info = await session.select(box.imap_folder)
        await channel.store.save_checkpoint(box.name, info.uidvalidity, 0)

        await watcher.catch_up(session, info.uidvalidity)

        ids = [m.channel_message_id for m in await messages(app) if m.direction == "in"]
        assert ids == ["<f1@example.org>", "<f2@example.org>", "<f3@example.org>"]
        checkpoint = await channel.store.checkpoint(box.name)
        assert checkpoint is not None and checkpoint.last_uid == 3
    finally:
        if session is not None:
            await session.close()
        await app.stop()


async def test_stop_ends_a_watcher_that_swallowed_its_cancellation(
    settings: Settings,
) -> None:
    config = email_config(None, None, watch=False)
    app = EmailApp(
        dataclasses.replace(settings, channels=("api", "email"), channel_config={"email": config})
    )
    await app.start(wait_synced=False)
    try:
        channel = app.channel
        swallowed = asyncio.Event()

        async def stubborn() -> None:
            # What asyncio.wait_for (3.11) does when the cancel meets a finished operation.
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed.set()
            await asyncio.sleep(3600)  # runs on, IDLE-like

        task = asyncio.create_task(stubborn())
        channel._tasks.append(task)
        await asyncio.sleep(0)
        started = time.monotonic()
        await asyncio.wait_for(channel.stop(), 30)
        assert swallowed.is_set() and task.cancelled()
        assert time.monotonic() - started < 5
    finally:
        await app.stop()


async def test_a_server_that_repeats_exists_cannot_keep_the_watcher_searching() -> None:
    class NoisySession:
        """Says "new mail!" after every command, and never has any."""

        searches = 0

        def take_new_mail(self) -> bool:
            return True

        async def uids_after(self, last: int) -> list[int]:
            self.searches += 1
            return []

    class NoCheckpoint:
        async def checkpoint(self, mailbox: str) -> None:
            return None

    config = parse_config(email_config(None, None))
    watcher = MailboxWatcher(config.mailboxes[0], config, NoCheckpoint(), None, None)  # type: ignore[arg-type]
    session = NoisySession()
    await asyncio.wait_for(watcher.catch_up(session, 1), 5)  # type: ignore[arg-type]
    assert session.searches == 2
