"""The channel's storage on both databases: the mailbox lock, checkpoints, poison mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from channels.email.blobs import BlobStore
from channels.email.config import parse_config
from channels.email.ingest import Ingestor
from channels.email.lock import MailboxLock
from channels.email.store import EmailStore
from channels.email.watcher import MailboxWatcher
from contactcenter.domain import HandleResult, InboundMessage
from contactcenter.services import Services
from contactcenter.storage.models import Message

from .conftest import email_config


async def test_one_watcher_per_mailbox(services: Services) -> None:
    first = MailboxLock(services.db, "support@x.example")
    second = MailboxLock(services.db, "support@x.example")
    other = MailboxLock(services.db, "sales@x.example")
    try:
        assert await first.acquire()
        assert await other.acquire()
        if services.db.is_sqlite:
            assert await second.acquire()  # one process on SQLite: nothing to lock
            return
        assert not await second.acquire()
        assert await first.alive()
        await first.release()
        assert await second.acquire()  # taken over once the holder let go
    finally:
        for lock in (first, second, other):
            await lock.release()


async def test_checkpoint_never_rewinds_within_a_uidvalidity(services: Services) -> None:
    store = EmailStore(services.db)
    assert await store.checkpoint("box") is None
    await store.save_checkpoint("box", 100, 5)
    await store.save_checkpoint("box", 100, 3)
    checkpoint = await store.checkpoint("box")
    assert checkpoint is not None and (checkpoint.uidvalidity, checkpoint.last_uid) == (100, 5)
    await store.save_checkpoint("box", 4_294_967_295, 4_294_967_294)  # 32-bit unsigned
    checkpoint = await store.checkpoint("box")
    assert checkpoint is not None and checkpoint.last_uid == 4_294_967_294
    await store.reset_checkpoint("box", 7)
    checkpoint = await store.checkpoint("box")
    assert checkpoint is not None and (checkpoint.uidvalidity, checkpoint.last_uid) == (7, 0)


async def test_mail_that_keeps_failing_is_quarantined_after_n_attempts(
    services: Services, tmp_path: Path, mail: Any
) -> None:
    calls = 0

    async def broken(msg: InboundMessage) -> HandleResult:
        nonlocal calls
        calls += 1
        raise RuntimeError("database on fire")

    config = parse_config(email_config(None, None, max_handle_attempts=3))
    store = EmailStore(services.db)
    ingestor = Ingestor(config, store, BlobStore(tmp_path), b"k", broken)
    lock = MailboxLock(services.db, "x")
    watcher = MailboxWatcher(config.mailboxes[0], config, store, ingestor, lock)
    raw = mail("hello")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await watcher._ingest(raw, 5, 1)
    outcome = await watcher._ingest(raw, 5, 1)
    assert outcome.kind == "quarantined" and "3 attempts" in (outcome.reason or "")
    rows, total = await store.quarantined()
    assert total == 1 and rows[0].uid == 5
    assert (tmp_path / rows[0].raw_path).read_bytes() == raw
    # The same bytes again (a re-scan) are the same record.
    again = await ingestor.quarantine(raw, config.mailboxes[0], "again", 6, 1)
    assert again.quarantine_id == rows[0].id


async def test_router_refusal_is_quarantined_not_retried(
    services: Services, tmp_path: Path, mail: Any
) -> None:
    async def refuses(msg: InboundMessage) -> HandleResult:
        raise ValueError("message text is longer than allowed")

    config = parse_config(email_config(None, None))
    ingestor = Ingestor(config, EmailStore(services.db), BlobStore(tmp_path), b"k", refuses)
    outcome = await ingestor.ingest(mail("x"), config.mailboxes[0], uid=1, uidvalidity=1)
    assert outcome.kind == "quarantined" and "refused by the router" in (outcome.reason or "")


async def test_long_and_nul_text_is_stored(services: Services, tmp_path: Path, mail: Any) -> None:
    config = parse_config(email_config(None, None))
    store = EmailStore(services.db)
    ingestor = Ingestor(config, store, BlobStore(tmp_path), b"k", services.router.handle)
    raw = mail(("word " * 40_000).encode() + b"nul\x00here \xff\xfe")
    outcome = await ingestor.ingest(raw, config.mailboxes[0])
    assert outcome.kind == "stored", outcome
    assert await store.count_messages() == 1
    async with services.db.session() as s:
        (message,) = (await s.exec(select(Message).where(Message.direction == "in"))).all()
    assert len(message.text) == 100_000 and message.meta["text_truncated"] is True
