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
        """Store an agent reply or internal note; returns (message, duplicate).

        A reply from a desk carries its own id (``source``, ``source_message_id``);
        the same desk message delivered twice is stored once and sent once.
        """
        text = reply.text.strip()
        if not text:
            raise ActionError("text must not be empty", 422)
        if "\x00" in text:
            raise ActionError("text must not contain NUL characters", 422)
        if len(text) > MAX_REPLY:
            raise ActionError(f"text is longer than {MAX_REPLY} characters", 413)
        key = (
            f"{reply.source}:{reply.source_message_id}"
            if reply.source and reply.source_message_id
            else None
        )
        try:
            async with self.db.transaction() as s:
                conv = await self._conversation(s, reply.conversation_id)
                if key is not None:
                    existing = (
                        await s.exec(select(Message).where(Message.external_key == key))
                    ).first()
                    if existing is not None:
                        return existing, True
                await self._active_agent(s, reply.agent_id)
                if reply.internal:
                    message = Message(
                        conversation_id=conv.id or 0,
                        channel=conv.channel,
                        external_key=key,
                        direction=Direction.OUTBOUND,
                        author_kind=AuthorKind.AGENT,
                        agent_id=reply.agent_id,
                        internal=True,
                        text=text,
                    )
                    s.add(message)
                    await s.flush()
                    conversations.record(
                        s, conv, "note_added", message_id=message.id, agent_id=reply.agent_id
                    )
                else:
                    message_id = await self.writer.reply(
                        s,
                        conv,
                        text,
                        author=AuthorKind.AGENT,
                        agent_id=reply.agent_id,
                        external_key=key,
                    )
                    stored = await s.get(Message, message_id)
                    assert stored is not None
                    message = stored
                    await self._after_public_reply(s, conv, reply.agent_id)
                self.writer.desk(
                    s,
                    conv,
                    "agent_message",
                    {
                        "message_id": message.id,
                        "text": text,
                        "internal": reply.internal,
                        "agent_id": reply.agent_id,
                        "source": reply.source,
                    },
                )
        except IntegrityError:
            if key is None:
                raise
            # The same desk message raced with itself; the first one was stored.
            async with self.db.session() as s:
                existing = (
                    await s.exec(select(Message).where(Message.external_key == key))
                ).first()
            if existing is None:
                raise
            return existing, True
        self.on_commit()
        return message, False

    async def _after_public_reply(
        self, s: AsyncSession, conv: Conversation, agent_id: int | None
    ) -> None:
        if conv.first_response_at is None:
            conv.first_response_at = utcnow()
        if conv.assignee_id is None and agent_id is not None:
            conv.assignee_id = agent_id
            conversations.record(s, conv, "assigned", agent_id=agent_id, by="reply")
            agent = await s.get(Agent, agent_id)
            await self.writer.customer_event(
                s, conv, "agent_joined", {"agent_name": agent.name if agent else None}
            )
        conv.awaiting_feedback = False
        conversations.set_status(s, conv, Status.WAITING_FOR_CUSTOMER, reason="agent replied")

    async def _active_agent(self, s: AsyncSession, agent_id: int | None) -> Agent | None:
        if agent_id is None:
            return None
        agent = await s.get(Agent, agent_id)
        if agent is None:
            raise ActionError(f"agent {agent_id} does not exist", 404)
        if not agent.active:
            raise ActionError(f"agent {agent_id} is not active", 409)
        return agent

    async def assign(
        self, conversation_id: int, agent_id: int | None, *, by: int | None = None
    ) -> Conversation:
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            agent = await self._active_agent(s, agent_id)
            conv.assignee_id = agent_id
            conv.updated_at = utcnow()
            s.add(conv)
            conversations.record(s, conv, "assigned", agent_id=agent_id, by=by)
            if agent_id is not None and conv.status in (Status.BOT, Status.WAITING_FOR_AGENT):
                conversations.set_status(s, conv, Status.ASSIGNED, agent_id=agent_id)
            if agent is not None:
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
        clean_remove = {_clean_tag(t) for t in remove}
        async with self.db.transaction() as s:
            conv = await self._conversation(s, conversation_id)
            tags = [t for t in conv.tags if t not in clean_remove]
            tags += [t for t in clean_add if t not in tags]
            if len(tags) > MAX_TAGS:
                raise ActionError(f"a conversation has at most {MAX_TAGS} tags")
            conv.tags = tags
            conv.updated_at = utcnow()
            s.add(conv)
            conversations.record(s, conv, "tagged", added=clean_add, removed=sorted(clean_remove))
        return conv


def _clean_tag(tag: str) -> str:
    if not isinstance(tag, str):
        raise ActionError("tags must be strings")
    cleaned = " ".join(tag.split()).lower()
    if "\x00" in cleaned:
        raise ActionError("tags must not contain NUL characters")
    if not cleaned or len(cleaned) > 64:
        raise ActionError("a tag must be 1 to 64 characters")
    return cleaned
