"""One raw mail in: parse, keep its attachments, hand it to the router, or quarantine it.

Shared by the IMAP watcher, the ``email backfill`` command and the benchmark,
so that all three store a mail the same way. It never decides *when* a mail
counts as done (that is the watcher's checkpoint); it only reports what
happened. Errors that may pass (a database hiccup) are raised for the caller
to retry; a mail the core refuses outright is quarantined, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from contactcenter.channel import Deliver, DeliverMany
from contactcenter.domain import HandleResult, InboundMessage

from .blobs import BlobStore, sha256_hex
from .config import EmailConfig, MailboxConfig
from .inbound import to_inbound
from .model import ParsedEmail, Quarantined
from .parse import parse_email
from .store import EmailStore

log = logging.getLogger(__name__)

# Mails above this size are parsed in a worker thread so the event loop (other
# mailboxes' IDLE, the web server) keeps running meanwhile.
THREAD_PARSE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestOutcome:
    kind: Literal["stored", "duplicate", "quarantined"]
    message_id: str | None = None
    conversation_id: int | None = None
    quarantine_id: int | None = None
    reason: str | None = None


class Ingestor:
    def __init__(
        self,
        config: EmailConfig,
        store: EmailStore,
        blobs: BlobStore,
        secret: bytes,
        deliver: Deliver,
        deliver_many: DeliverMany | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.blobs = blobs
        self.secret = secret
        self.deliver = deliver
        self.deliver_many = deliver_many

    async def parse(self, raw: bytes) -> ParsedEmail | Quarantined:
        kwargs = {
            "max_attachment_bytes": self.config.max_attachment_bytes,
            "max_message_bytes": self.config.max_message_bytes,
        }
        if len(raw) > THREAD_PARSE_BYTES:
            return await asyncio.to_thread(lambda: parse_email(raw, **kwargs))
        return parse_email(raw, **kwargs)

    async def ingest(
        self,
        raw: bytes,
        mailbox: MailboxConfig,
        *,
        uid: int | None = None,
        uidvalidity: int | None = None,
    ) -> IngestOutcome:
        """Store one mail (idempotent on its Message-ID) or quarantine it."""
        inbound = await self._prepare(raw, mailbox)
        if isinstance(inbound, Quarantined):
            return await self.quarantine(raw, mailbox, inbound.reason, uid, uidvalidity)
        try:
            result: HandleResult | Exception = await self.deliver(inbound)
        except (ValueError, TypeError) as exc:
            result = exc
        return await self._outcome(raw, mailbox, inbound, result, uid, uidvalidity)

    async def ingest_many(
        self,
        mails: Sequence[tuple[bytes, int | None]],
        mailbox: MailboxConfig,
        *,
        uidvalidity: int | None = None,
    ) -> list[IngestOutcome]:
        """Store (raw, uid) mails in order, sharing transactions when the core can batch.

        The outcomes are in the same order. A database error that may pass is
        raised (nothing is acknowledged); a mail the core refuses is quarantined.
        """
        if self.deliver_many is None:
            return [
                await self.ingest(raw, mailbox, uid=uid, uidvalidity=uidvalidity)
                for raw, uid in mails
            ]
        prepared = [await self._prepare(raw, mailbox) for raw, _ in mails]
        inbound = [p for p in prepared if isinstance(p, InboundMessage)]
        stored = iter(await self.deliver_many(inbound))
        outcomes = []
        for (raw, uid), item in zip(mails, prepared, strict=True):
            if isinstance(item, Quarantined):
                outcomes.append(await self.quarantine(raw, mailbox, item.reason, uid, uidvalidity))
                continue
            result = next(stored)
            if isinstance(result, Exception) and not isinstance(result, ValueError | TypeError):
                raise result
            outcomes.append(await self._outcome(raw, mailbox, item, result, uid, uidvalidity))
        return outcomes

    async def _prepare(self, raw: bytes, mailbox: MailboxConfig) -> InboundMessage | Quarantined:
        """Parse, keep the attachments, and map to the core's message."""
        parsed = await self.parse(raw)
        if isinstance(parsed, Quarantined):
            return parsed
        refs: list[str | None] = []
        for attachment in parsed.attachments:
            refs.append(
                await self.blobs.save_attachment(attachment.content)
                if attachment.content is not None
                else None
            )
        return to_inbound(
            parsed,
            mailbox=mailbox.address,
            our_addresses=mailbox.our_addresses,
            secret=self.secret,
            attachment_refs=refs,
        )

    async def _outcome(
        self,
        raw: bytes,
        mailbox: MailboxConfig,
        inbound: InboundMessage,
        result: HandleResult | Exception,
        uid: int | None,
        uidvalidity: int | None,
    ) -> IngestOutcome:
        if isinstance(result, Exception):
            # The core refuses this message as such: retrying cannot help.
            reason = f"refused by the router: {type(result).__name__}: {result}"
            return await self.quarantine(raw, mailbox, reason, uid, uidvalidity)
        return IngestOutcome(
            kind="duplicate" if result.duplicate else "stored",
            message_id=inbound.channel_message_id,
            conversation_id=result.conversation_id,
        )

    async def quarantine(
        self,
        raw: bytes,
        mailbox: MailboxConfig,
        reason: str,
        uid: int | None,
        uidvalidity: int | None,
    ) -> IngestOutcome:
        digest = sha256_hex(raw)
        path = await self.blobs.save_quarantined(raw, digest)
        record = await self.store.quarantine(
            mailbox=mailbox.name,
            uidvalidity=uidvalidity,
            uid=uid,
            reason=reason,
            sha256=digest,
            size=len(raw),
            raw_path=path,
        )
        log.warning(
            "email quarantined",
            extra={"mailbox": mailbox.name, "uid": uid, "reason": reason, "quarantine_id": record},
        )
        return IngestOutcome(kind="quarantined", quarantine_id=record, reason=reason)
