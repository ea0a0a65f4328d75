"""Agents as records: create and update. Callers run these in ``Database.transaction()``."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.storage.models import Agent


class CommandError(ValueError):
    """The write cannot be done; ``status`` is the HTTP status that fits (409 or 404)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


async def create_agent(s: AsyncSession, name: str, email: str | None) -> Agent:
    if email is not None:
        email = email.strip().lower()
        taken = (await s.exec(select(Agent).where(Agent.email == email))).first()
        if taken is not None:
            raise CommandError(f"an agent with email {email} already exists (id {taken.id})")
    agent = Agent(name=name, email=email)
    s.add(agent)
    await s.flush()
    return agent


async def update_agent(
    s: AsyncSession, agent_id: int, *, name: str | None = None, active: bool | None = None
) -> Agent:
    agent = await s.get(Agent, agent_id)
    if agent is None:
        raise CommandError(f"agent {agent_id} does not exist", 404)
    if name is not None:
        agent.name = name
    if active is not None:
        agent.active = active
    s.add(agent)
    await s.flush()
    return agent
