"""A mailbox with a backlog is read in windows: every mail stored once, in order."""

from __future__ import annotations

import dataclasses

from channels.email.imap_client import ImapSession
from channels.email.watcher import WINDOW
from contactcenter.config import Settings

from .conftest import EmailApp, email_config
from .servers import Dovecot
from .test_email_e2e import customer_mail, messages


async def test_a_backlog_is_stored_in_shared_transactions_in_order(
    settings: Settings, dovecot: Dovecot
) -> None:
    config = email_config(dovecot, None, watch=False)  # the test drives the watcher itself
    app = EmailApp(
        dataclasses.replace(settings, channels=("api", "email"), channel_config={"email": config})
    )
    await app.start(wait_synced=False)
    session = None
    total = WINDOW + 8  # one full window and a partial one
    try:
        for i in range(total):
            await dovecot.append(
                customer_mail(f"<w{i}@example.org>", f"question {i}", sender=f"c{i % 5}@x.org")
            )
        channel = app.channel
        assert channel.deliver_many is not None  # the app wires the batched path
        box = channel.config.mailboxes[0]
        watcher = channel.watcher(box, app.services.router.handle)
        session = ImapSession(box, timeout=10)
        await session.open()
        info = await session.select(box.imap_folder)
        await channel.store.save_checkpoint(box.name, info.uidvalidity, 0)

        await watcher.catch_up(session, info.uidvalidity)

        inbound = [m for m in await messages(app) if m.direction == "in"]
        assert [m.channel_message_id for m in inbound] == [
            f"<w{i}@example.org>" for i in range(total)
        ]
        checkpoint = await channel.store.checkpoint(box.name)
        assert checkpoint is not None and checkpoint.last_uid == total
        assert app.services.router._group.batches >= 1  # windows shared transactions

        # Read again from the start (a lost checkpoint): nothing is stored twice.
        await channel.store.reset_checkpoint(box.name, info.uidvalidity)
        await watcher.catch_up(session, info.uidvalidity)
        again = [m for m in await messages(app) if m.direction == "in"]
        assert len(again) == total
    finally:
        if session is not None:
            await session.close()
        await app.stop()
