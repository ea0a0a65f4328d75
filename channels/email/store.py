"""All SQL of the email channel: checkpoints, quarantine records, the send log.

Kept in one place so the watcher, the sender, the API views and the CLI never
write SQL of their own, and so the order "commit the message, then the
checkpoint" is visible here rather than spread over the I/O code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.domain import Direction, as_utc, utcnow
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Message

from .tables import EmailCheckpoint, EmailQuarantine, EmailSend


@dataclass(frozen=True, slots=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationThread:
    """What a status notice needs to continue a conversation's mail thread."""

    subject: str | None
    # Our and the customer's Message-IDs in the conversation, oldest first.
    message_ids: tuple[str, ...]
    # Per mail the customer sent in it: was it automated (auto-reply, bounce, list)?
    inbound_no_reply: tuple[bool, ...]
    # Names of the agents who have written to the customer in it.
    agents_who_wrote: frozenset[str] = frozenset()


class EmailStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- checkpoints ---------------------------------------------------------------

    async def checkpoint(self, mailbox: str) -> Checkpoint | None:
        async with self.db.session() as s:
            row = await s.get(EmailCheckpoint, mailbox)
            if row is None:
                return None
            return Checkpoint(row.uidvalidity, row.last_uid, as_utc(row.updated_at))

    async def save_checkpoint(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        """Advance (never rewind, within one UIDVALIDITY) the mailbox's checkpoint."""
        async with self.db.transaction() as s:
            row = await s.get(EmailCheckpoint, mailbox)
            if row is None:
                s.add(EmailCheckpoint(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid))
                return
            if row.uidvalidity == uidvalidity and row.last_uid >= last_uid:
                return
            row.uidvalidity = uidvalidity
            row.last_uid = last_uid
            row.updated_at = utcnow()
            s.add(row)

    async def reset_checkpoint(self, mailbox: str, uidvalidity: int) -> None:
        """A new UIDVALIDITY: the old UIDs mean nothing any more."""
        async with self.db.transaction() as s:
            row = await s.get(EmailCheckpoint, mailbox)
            if row is None:
                row = EmailCheckpoint(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0)
            row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, 0, utcnow()
            s.add(row)

    # -- quarantine ------------------------------------------------------------------

    async def quarantine(
        self,
        *,
        mailbox: str,
        uidvalidity: int | None,
        uid: int | None,
        reason: str,
        sha256: str,
        size: int,
        raw_path: str,
    ) -> int:
        """Record a quarantined mail (once per mailbox and content); returns its id."""
        try:
            async with self.db.transaction() as s:
                existing = await self._quarantined(s, mailbox, sha256)
                if existing is not None:
                    return existing
                row = EmailQuarantine(
                    mailbox=mailbox,
                    uidvalidity=uidvalidity,
                    uid=uid,
                    reason=reason[:2000],
                    sha256=sha256,
                    size=size,
                    raw_path=raw_path,
                )
                s.add(row)
                await s.flush()
                return row.id or 0
        except IntegrityError:
            async with self.db.session() as s:
                found = await self._quarantined(s, mailbox, sha256)
            if found is None:
                raise
            return found

    @staticmethod
    async def _quarantined(s: AsyncSession, mailbox: str, sha256: str) -> int | None:
        query = select(EmailQuarantine.id).where(
            EmailQuarantine.mailbox == mailbox, EmailQuarantine.sha256 == sha256
        )
        return (await s.exec(query)).first()

    async def quarantined(
        self, *, limit: int = 50, offset: int = 0, mailbox: str | None = None
    ) -> tuple[Sequence[EmailQuarantine], int]:
        """Newest first, with the total count (for paging)."""
        async with self.db.session() as s:
            query = select(EmailQuarantine)
            count = select(func.count()).select_from(EmailQuarantine)
            if mailbox:
                query = query.where(EmailQuarantine.mailbox == mailbox)
                count = count.where(col(EmailQuarantine.mailbox) == mailbox)
            rows = (
                await s.exec(
                    query.order_by(col(EmailQuarantine.id).desc()).offset(offset).limit(limit)
                )
            ).all()
            total = (await s.exec(count)).one()
            return rows, int(total)

    async def quarantine_record(self, record_id: int) -> EmailQuarantine | None:
        async with self.db.session() as s:
            return await s.get(EmailQuarantine, record_id)

    # -- sending -----------------------------------------------------------------------

    async def sent_for_delivery(self, delivery_id: int) -> str | None:
        """The Message-ID already accepted by SMTP for this delivery, if any."""
        async with self.db.session() as s:
            query = select(EmailSend.message_id).where(EmailSend.delivery_id == delivery_id)
            return (await s.exec(query)).first()

    async def record_send(
        self, *, delivery_id: int, message_id: str, mailbox: str, recipient: str
    ) -> None:
        try:
            async with self.db.transaction() as s:
                s.add(
                    EmailSend(
                        delivery_id=delivery_id,
                        message_id=message_id,
                        mailbox=mailbox,
                        recipient=recipient.lower(),
                    )
                )
        except IntegrityError:
            pass  # recorded by an earlier attempt of the same delivery

    async def recent_sends(self, recipient: str, window: timedelta) -> list[datetime]:
        """When mail went to ``recipient`` within ``window``, oldest first."""
        since = utcnow() - window
        async with self.db.session() as s:
            query = (
                select(EmailSend.sent_at)
                .where(EmailSend.recipient == recipient.lower(), EmailSend.sent_at >= since)
                .order_by(col(EmailSend.sent_at))
            )
            return [as_utc(t) for t in (await s.exec(query)).all()]

    async def mailbox_of_conversation(self, conversation_id: int) -> str | None:
        """The support address the customer last wrote to in this conversation."""
        async with self.db.session() as s:
            query = (
                select(Message.meta)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.channel == "email",
                    Message.direction == Direction.INBOUND,
                )
                .order_by(col(Message.id).desc())
                .limit(1)
            )
            meta = (await s.exec(query)).first()
        value = meta.get("mailbox") if isinstance(meta, dict) else None
        return value if isinstance(value, str) else None

    async def thread_of(self, conversation_id: int) -> ConversationThread | None:
        """The conversation's subject, mail ids and automated-mail verdicts; None if gone."""
        async with self.db.session() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return None
            ids = (
                await s.exec(
                    select(Message.channel_message_id)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.channel == "email",
                        col(Message.channel_message_id).is_not(None),
                        col(Message.internal).is_(False),
                    )
                    .order_by(col(Message.id))
                )
            ).all()
            # Only the flag, not the whole metadata (which holds each mail's full text).
            no_reply = Message.meta["no_reply"].as_boolean()
            flags = (
                await s.exec(
                    select(no_reply).where(
                        Message.conversation_id == conversation_id,
                        Message.channel == "email",
                        Message.direction == Direction.INBOUND,
                    )
                )
            ).all()
            agents = (
                await s.exec(
                    select(Agent.name)
                    .join(Message, col(Message.agent_id) == col(Agent.id))
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == Direction.OUTBOUND,
                        col(Message.internal).is_(False),
                    )
                    .distinct()
                )
            ).all()
            return ConversationThread(
                subject=conv.subject,
                message_ids=tuple(i for i in ids if i),
                inbound_no_reply=tuple(bool(f) for f in flags),
                agents_who_wrote=frozenset(a for a in agents if a),
            )

    async def count_messages(self) -> int:
        """Inbound email messages stored (for tests and the backfill summary)."""
        async with self.db.session() as s:
            query = (
                select(func.count())
                .select_from(Message)
                .where(col(Message.channel) == "email", col(Message.direction) == Direction.INBOUND)
            )
            return int((await s.exec(query)).one())
