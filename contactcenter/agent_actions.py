"""What agents do to a conversation: reply, note, assign, resolve, reopen, tag.

The API and the desk (Slack) both call these, so a reply typed in Slack and one
posted to the API have the same effects: stored, delivered through the outbox
on the customer's own channel, first response time set, the desk told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter import conversations
from contactcenter.deliveries import DeliveryWriter
from contactcenter.domain import AgentReply, AuthorKind, ConversationStatus, Direction, utcnow
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Message

Status = ConversationStatus
MAX_REPLY = 50_000
MAX_TAGS = 50


class ActionError(ValueError):
    """The action cannot be done; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class AgentActions:
    def __init__(
        self, db: Database, writer: DeliveryWriter, on_commit: Callable[[], None] | None = None
    ) -> None:
        self.db = db
        self.writer = writer
        self.on_commit = on_commit or (lambda: None)

    async def _conversation(self, s: AsyncSession, conversation_id: int) -> Conversation:
        conv = await conversations.lock_conversation(s, self.db, conversation_id)
        if conv is None:
            raise ActionError(f"conversation {conversation_id} does not exist", 404)
        return conv

    async def reply(self, reply: AgentReply) -> tuple[Message, bool]:
        """Store an agent reply or internal note; returns (message, duplicate)."""
        text = reply.text.strip()
        if not text:
            raise ActionError("text must not be empty")
        if len(text) > MAX_REPLY:
            raise ActionError(f"text is longer than {MAX_REPLY} characters", 413)
        try:
            async with self.db.transaction() as s:
                if reply.source and reply.source_message_id:
                    existing = (
                        await s.exec(
                            select(Message).where(
                                Message.channel == reply.source,
                                Message.channel_message_id == reply.source_message_id,
                            )
                        )
                    ).first()
                    if existing is not None:
                        return existing, True
                conv = await self._conversation(s, reply.conversation_id)
                if reply.agent_id is not None and await s.get(Agent, reply.agent_id) is None:
                    raise ActionError(f"agent {reply.agent_id} does not exist", 404)
                if reply.internal:
                    note = Message(
                        conversation_id=conv.id or 0,
                        channel=reply.source or "internal",
                        channel_message_id=reply.source_message_id,
                        direction=Direction.OUTBOUND,
                        author_kind=AuthorKind.AGENT,
                        agent_id=reply.agent_id,
                        internal=True,
                        text=text,
                    )
                    s.add(note)
                    await s.flush()
                    conversations.record(
                        s, conv, "note_added", message_id=note.id, agent_id=reply.agent_id
                    )
                    self.writer.desk(
                        s,
                        conv,
                        "agent_message",
                        {
                            "message_id": note.id,
                            "text": text,
                            "internal": True,
                            "agent_id": reply.agent_id,
                            "source": reply.source,
                        },
                    )
                    message = note
                else:
                    message = await self.writer.reply(
                        s, conv, text, author=AuthorKind.AGENT, agent_id=reply.agent_id
                    )
                    if reply.source and reply.source_message_id:
                        message.meta = {
                            **message.meta,
                            "source": reply.source,
                            "source_message_id": reply.source_message_id,
                        }
                        s.add(message)
                    now = utcnow()
                    if conv.first_response_at is None:
                        conv.first_response_at = now
                    if conv.assignee_id is None and reply.agent_id is not None:
                        conv.assignee_id = reply.agent_id
                        conversations.record(
                            s, conv, "assigned", agent_id=reply.agent_id, by="reply"
                        )
                        agent = await s.get(Agent, reply.agent_id)
                        await self.writer.customer_event(
                            s, conv, "agent_joined", {"agent_name": agent.name if agent else None}
                        )
                    conv.awaiting_feedback = False
                    conversations.set_status(
                        s, conv, Status.WAITING_FOR_CUSTOMER, reason="agent replied"
                    )
                    self.writer.desk(
                        s,
                        conv,
                        "agent_message",
                        {
                            "message_id": message.id,
                            "text": text,
                            "internal": False,
                            "agent_id": reply.agent_id,
                            "source": reply.source,
                        },
                    )
        except IntegrityError:
            # The same desk message raced with itself; the first one was stored.
            async with self.db.session() as s:
                existing = (
                    await s.exec(
                        select(Message).where(
                            Message.channel == reply.source,
                            Message.channel_message_id == reply.source_message_id,
                        )
                    )
                ).first()
            if existing is None:
                raise
            return existing, True
        self.on_commit()
        return message, False

    async def assign(
        self, conversation_id: int, agent_id: int | None, *, by: int | None = None
    ) -> Conversation:
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            if agent_id is not None and await s.get(Agent, agent_id) is None:
                raise ActionError(f"agent {agent_id} does not exist", 404)
            conv.assignee_id = agent_id
            conv.updated_at = utcnow()
            s.add(conv)
            conversations.record(s, conv, "assigned", agent_id=agent_id, by=by)
            if agent_id is not None and conv.status in (Status.BOT, Status.WAITING_FOR_AGENT):
                conversations.set_status(s, conv, Status.ASSIGNED, agent_id=agent_id)
            if agent_id is not None:
                agent = await s.get(Agent, agent_id)
                await self.writer.customer_event(
                    s, conv, "agent_joined", {"agent_name": agent.name if agent else None}
                )
            elif agent_id is None and conv.status == Status.ASSIGNED:
                conversations.set_status(s, conv, Status.WAITING_FOR_AGENT, reason="unassigned")
            self.writer.desk(
                s, conv, "status_changed", {"status": conv.status, "assignee_id": agent_id}
            )
        self.on_commit()
        return conv

    async def resolve(self, conversation_id: int, *, by: int | None = None) -> Conversation:
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            if conv.status == Status.RESOLVED:
                raise ActionError("conversation is already resolved", 409)
            conversations.set_status(s, conv, Status.RESOLVED, by=by)
            await self.writer.customer_event(s, conv, "resolved", {"csat": True})
            self.writer.desk(s, conv, "status_changed", {"status": conv.status, "by": by})
        self.on_commit()
        return conv

    async def reopen(self, conversation_id: int, *, by: int | None = None) -> Conversation:
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            if conv.status != Status.RESOLVED:
                raise ActionError("only a resolved conversation can be reopened", 409)
            to = Status.ASSIGNED if conv.assignee_id is not None else Status.WAITING_FOR_AGENT
            conversations.set_status(s, conv, to, by=by, reason="reopened by agent")
            self.writer.desk(s, conv, "status_changed", {"status": conv.status, "by": by})
        self.on_commit()
        return conv

    async def tag(
        self, conversation_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> Conversation:
        clean_add = [_clean_tag(t) for t in add]
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            tags = [t for t in conv.tags if t not in set(remove)]
            tags += [t for t in clean_add if t not in tags]
            if len(tags) > MAX_TAGS:
                raise ActionError(f"a conversation has at most {MAX_TAGS} tags")
            conv.tags = tags
            conv.updated_at = utcnow()
            s.add(conv)
            conversations.record(s, conv, "tagged", added=clean_add, removed=list(remove))
        return conv


def _clean_tag(tag: str) -> str:
    if not isinstance(tag, str):
        raise ActionError("tags must be strings")
    cleaned = " ".join(tag.split()).lower()
    if not cleaned or len(cleaned) > 64:
        raise ActionError("a tag must be 1 to 64 characters")
    return cleaned
