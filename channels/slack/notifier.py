"""Core notifications -> Slack: the conversation card, its thread, its updates.

Called by the outbox dispatcher through ``SlackDesk.notify``. A failure of the
main post raises :class:`DeliveryError` so the outbox retries it (honouring
Slack's ``Retry-After``); secondary touches (refreshing the card after a
thread post) are best effort, so they never cause a thread post to be repeated.
The card is always rendered from the conversation's current state, so
notifications handled late or out of order still leave it right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from channels.slack import blocks
from channels.slack.config import SlackConfig
from channels.slack.markup import escape
from channels.slack.store import SlackStore, SlackThread
from channels.slack.web import SlackError, SlackWeb
from contactcenter.channel import DeliveryError
from contactcenter.deliveries import conversation_snapshot
from contactcenter.domain import DeskNotification
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation

log = logging.getLogger(__name__)

KINDS = ("escalated", "customer_message", "agent_message", "status_changed")


class Notifier:
    def __init__(self, config: SlackConfig, web: SlackWeb, store: SlackStore, db: Database) -> None:
        self.config = config
        self.web = web
        self.store = store
        self.db = db
        self._locks: dict[int, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def _conversation_lock(self, conversation_id: int) -> AsyncIterator[None]:
        """One notification per conversation at a time in this process: the dispatcher
        sends a batch concurrently, and two first notifications must not make two cards."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(conversation_id) is lock:
                del self._locks[conversation_id]

    async def notify(self, n: DeskNotification) -> str | None:
        if n.kind == "agent_message" and n.payload.get("source") == "slack":
            return None  # typed in the thread: it is already there
        if n.kind not in KINDS:
            log.info("slack desk ignores notification kind %r", n.kind)
            return None
        async with self._conversation_lock(n.conversation_id):
            try:
                return await self._notify(n)
            except SlackError as exc:
                raise exc.as_delivery_error() from None

    async def _notify(self, n: DeskNotification) -> str | None:
        cid, payload = n.conversation_id, n.payload
        thread = await self.store.thread_of(cid)
        if n.kind == "escalated":
            reason = str(payload.get("reason") or "") or None
            snapshot: dict[str, Any] | None = await self._snapshot(cid) or dict(
                payload.get("conversation") or {}
            )
            if not snapshot:
                raise DeliveryError(f"conversation {cid} does not exist", permanent=True)
            if thread is None:
                return (await self._post_card(cid, snapshot, reason)).thread_ts
            await self._update_card(thread, snapshot, reason)
            text = blocks.REASONS.get(reason or "", reason or "again")
            return await self._post(
                thread, [blocks.notice(f":rotating_light: Escalated again: {escape(text)}")]
            )

        if thread is None:
            first = await self._snapshot(cid)
            if first is None:
                raise DeliveryError(f"conversation {cid} does not exist", permanent=True)
            thread = await self._post_card(cid, first, None)

        if n.kind == "customer_message":
            snapshot = await self._snapshot(cid) or {}
            posts = blocks.customer_posts(
                blocks.customer_label(snapshot) if snapshot else "Customer",
                str(payload.get("text") or ""),
                attachments=[a for a in payload.get("attachments") or () if isinstance(a, Mapping)],
                reopened=bool(payload.get("reopened")),
            )
            ts = await self._post(thread, posts)
            await self._refresh_card(thread, snapshot)
            return ts
        if n.kind == "agent_message":
            name = await self._agent_name(payload.get("agent_id"))
            via = str(payload.get("source") or "API")
            return await self._post(
                thread,
                blocks.agent_post(
                    name,
                    str(payload.get("text") or ""),
                    internal=bool(payload.get("internal")),
                    via=via,
                ),
            )
        # status_changed
        current = await self._snapshot(cid)
        if current is None:
            raise DeliveryError(f"conversation {cid} does not exist", permanent=True)
        await self._update_card(thread, current, None)
        line = await self._status_line(payload, current)
        if line:
            with contextlib.suppress(SlackError):
                return await self._post(thread, [blocks.notice(line)])
        return thread.thread_ts

    # --- Slack calls ---

    async def _post_card(
        self, cid: int, snapshot: Mapping[str, Any], reason: str | None
    ) -> SlackThread:
        fallback, card = blocks.parent_message(
            snapshot, note_prefix=self.config.note_prefix, reason=reason
        )
        response = await self.web.call(
            "chat.postMessage",
            channel=self.config.channel,
            text=fallback,
            blocks=card,
            unfurl_links=False,
            unfurl_media=False,
        )
        channel, ts = str(response.get("channel") or self.config.channel), str(response["ts"])
        saved = await self.store.save_thread(cid, channel, ts)
        if saved.thread_ts != ts:
            # Another process made the card first: remove ours, use theirs.
            with contextlib.suppress(SlackError):
                await self.web.call("chat.delete", channel=channel, ts=ts)
        return saved

    async def _update_card(
        self, thread: SlackThread, snapshot: Mapping[str, Any], reason: str | None
    ) -> None:
        fallback, card = blocks.parent_message(
            snapshot, note_prefix=self.config.note_prefix, reason=reason
        )
        await self.web.call(
            "chat.update", channel=thread.channel, ts=thread.thread_ts, text=fallback, blocks=card
        )

    async def _refresh_card(self, thread: SlackThread, snapshot: Mapping[str, Any]) -> None:
        if not snapshot:
            return
        try:
            await self._update_card(thread, snapshot, None)
        except SlackError as exc:
            log.warning("could not refresh the Slack card: %s", exc)

    async def _post(self, thread: SlackThread, posts: list[tuple[str, list[blocks.Block]]]) -> str:
        ts = thread.thread_ts
        for fallback, body in posts:
            response = await self.web.call(
                "chat.postMessage",
                channel=thread.channel,
                thread_ts=thread.thread_ts,
                text=fallback,
                blocks=body,
                unfurl_links=False,
                unfurl_media=False,
            )
            ts = str(response.get("ts") or ts)
        return ts

    # --- reading the core ---

    async def _snapshot(self, cid: int) -> dict[str, Any] | None:
        async with self.db.session() as s:
            conv = await s.get(Conversation, cid)
            if conv is None:
                return None
            return await conversation_snapshot(s, conv)

    async def _agent_name(self, agent_id: Any) -> str | None:
        if not isinstance(agent_id, int):
            return None
        async with self.db.session() as s:
            agent = await s.get(Agent, agent_id)
            return agent.name if agent else None

    async def _status_line(
        self, payload: Mapping[str, Any], snapshot: Mapping[str, Any]
    ) -> str | None:
        status = str(payload.get("status") or snapshot.get("status") or "")
        if status == "waiting_for_customer":
            return None  # after every reply: the reply itself is the news
        if status == "assigned" or ("assignee_id" in payload and payload.get("assignee_id")):
            agent_id = payload.get("assignee_id")
            who = None
            if isinstance(agent_id, int):
                slack_user = await self.store.slack_user_of(agent_id)
                who = f"<@{slack_user}>" if slack_user else None
                if who is None:
                    name = await self._agent_name(agent_id)
                    who = f"*{escape(name)}*" if name else None
            return f":large_yellow_circle: Assigned to {who or 'an agent'}"
        if status == "resolved":
            return ":white_check_mark: Resolved"
        if status == "waiting_for_agent":
            return ":red_circle: Back in the queue: waiting for an agent"
        if status == "bot":
            return ":robot_face: Back with the bot"
        return None
