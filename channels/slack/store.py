"""The desk's own tables: thread <-> conversation, Slack user <-> agent, seen events.

They live in their own SQLModel registry (their own ``MetaData``) so the core's
schema check never sees them, and they ship as the ``slack`` alembic branch in
``channels/slack/migrations`` (applied by the core through the
``contactcenter.migrations`` entry point). All SQL of the desk is here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import UniqueConstraint, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from contactcenter.domain import utcnow
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent

slack_registry = registry()


class SlackBase(SQLModel, registry=slack_registry):
    """Tables of the Slack desk (separate metadata from the core's)."""


class SlackThread(SlackBase, table=True):
    """Where a conversation lives in Slack: its card (the thread's parent) in a channel."""

    __tablename__ = "slack_threads"
    __table_args__ = (UniqueConstraint("channel", "thread_ts", name="uq_slack_thread"),)

    conversation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    channel: str
    thread_ts: str  # the parent message's ts, which is the thread's ts
    created_at: datetime = Field(default_factory=utcnow)


class SlackAgent(SlackBase, table=True):
    """A Slack user acting as an agent (created on their first action)."""

    __tablename__ = "slack_agents"

    slack_user_id: str = Field(primary_key=True)
    agent_id: int = Field(index=True)
    team_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SlackEvent(SlackBase, table=True):
    """Event ids already received: Slack redelivers, the desk acts once."""

    __tablename__ = "slack_events"

    event_id: str = Field(primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)


metadata = slack_registry.metadata


class SlackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_tables(self) -> None:
        """For tests and development; production uses the alembic branch."""
        async with self.db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    # --- threads ---

    async def thread_of(self, conversation_id: int) -> SlackThread | None:
        async with self.db.session() as s:
            return await s.get(SlackThread, conversation_id)

    async def conversation_at(self, channel: str, thread_ts: str) -> int | None:
        async with self.db.session() as s:
            row = (
                await s.exec(
                    select(SlackThread).where(
                        SlackThread.channel == channel, SlackThread.thread_ts == thread_ts
                    )
                )
            ).first()
            return row.conversation_id if row else None

    async def save_thread(self, conversation_id: int, channel: str, thread_ts: str) -> SlackThread:
        """Store the mapping; if another worker stored one first, return theirs."""
        try:
            async with self.db.transaction() as s:
                row = SlackThread(
                    conversation_id=conversation_id, channel=channel, thread_ts=thread_ts
                )
                s.add(row)
            return row
        except IntegrityError:
            existing = await self.thread_of(conversation_id)
            if existing is None:
                raise
            return existing

    async def threads_of(self, conversation_ids: list[int]) -> dict[int, SlackThread]:
        if not conversation_ids:
            return {}
        async with self.db.session() as s:
            rows = (
                await s.exec(
                    select(SlackThread).where(
                        col(SlackThread.conversation_id).in_(conversation_ids)
                    )
                )
            ).all()
            return {r.conversation_id: r for r in rows}

    # --- agents ---

    async def agent_of(self, slack_user_id: str) -> int | None:
        async with self.db.session() as s:
            row = await s.get(SlackAgent, slack_user_id)
            return row.agent_id if row else None

    async def link_agent(
        self, slack_user_id: str, team_id: str | None, name: str, email: str | None
    ) -> int:
        """The agent for this Slack user: an existing agent with the same email, else a new one.

        Idempotent under races: a second concurrent call finds the first one's rows.
        """
        for _attempt in range(3):
            try:
                async with self.db.transaction() as s:
                    linked = await s.get(SlackAgent, slack_user_id)
                    if linked is not None:
                        return linked.agent_id
                    agent = None
                    if email:
                        agent = (await s.exec(select(Agent).where(Agent.email == email))).first()
                    if agent is None:
                        agent = Agent(name=name[:200], email=email)
                        s.add(agent)
                        await s.flush()
                    agent_id = agent.id or 0
                    s.add(
                        SlackAgent(slack_user_id=slack_user_id, agent_id=agent_id, team_id=team_id)
                    )
                return agent_id
            except IntegrityError:
                continue
        linked_id = await self.agent_of(slack_user_id)
        if linked_id is None:
            raise RuntimeError(f"could not link Slack user {slack_user_id} to an agent")
        return linked_id

    async def slack_user_of(self, agent_id: int) -> str | None:
        async with self.db.session() as s:
            row = (await s.exec(select(SlackAgent).where(SlackAgent.agent_id == agent_id))).first()
            return row.slack_user_id if row else None

    async def agent_names(self, slack_user_ids: list[str]) -> dict[str, str]:
        """Display names of the agents linked to these Slack users (for mentions)."""
        if not slack_user_ids:
            return {}
        async with self.db.session() as s:
            rows = (
                await s.exec(
                    select(SlackAgent.slack_user_id, Agent.name)
                    .join(Agent, col(Agent.id) == col(SlackAgent.agent_id))
                    .where(col(SlackAgent.slack_user_id).in_(slack_user_ids))
                )
            ).all()
            return {uid: name for uid, name in rows}

    # --- events ---

    async def first_time(self, event_id: str) -> bool:
        """Record the event id; False when it was already recorded (a redelivery)."""
        try:
            async with self.db.transaction() as s:
                s.add(SlackEvent(event_id=event_id))
            return True
        except IntegrityError:
            return False

    async def forget(self, event_id: str) -> None:
        """Processing failed: let Slack's retry of this event through."""
        async with self.db.transaction() as s:
            await s.exec(delete(SlackEvent).where(col(SlackEvent.event_id) == event_id))

    async def prune_events(self, older_than: timedelta = timedelta(days=1)) -> None:
        """Slack retries for about an hour; a day of ids is plenty."""
        cutoff = utcnow() - older_than
        async with self.db.transaction() as s:
            await s.exec(delete(SlackEvent).where(col(SlackEvent.received_at) < cutoff))


# --- reading the core's conversations for the slash command ----------------------


async def conversation_rows(
    db: Database, *, assignee_id: int | None = None, waiting: bool = False, limit: int = 25
) -> list[dict[str, object]]:
    """Open conversations of one agent (``mine``) or waiting for one (``queue``)."""
    from contactcenter.storage.models import Conversation, Customer

    query = select(Conversation, Customer).join(
        Customer, col(Customer.id) == col(Conversation.customer_id)
    )
    if waiting:
        query = query.where(Conversation.status == "waiting_for_agent").order_by(
            col(Conversation.escalated_at), col(Conversation.id)
        )
    else:
        query = query.where(
            Conversation.assignee_id == assignee_id, Conversation.status != "resolved"
        ).order_by(col(Conversation.updated_at).desc())
    async with db.session() as s:
        rows = (await s.exec(query.limit(limit))).all()
    return [
        {
            "id": conv.id,
            "customer": cust.name or cust.email or f"customer {cust.id}",
            "status": conv.status,
            "subject": conv.subject,
        }
        for conv, cust in rows
    ]
