"""What agents do in Slack -> the core's AgentActions, and what they are told back.

Every input here was already parsed (``parse``) and deduplicated (``intake``).
Problems an agent can fix (a resolved conversation, an empty reply) are told to
that agent as an ephemeral message in place; nothing fails silently.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.slack import blocks, commands
from channels.slack.config import SlackConfig
from channels.slack.markup import escape, mentioned_users, strip_prefix, to_plain
from channels.slack.parse import (
    ActionPressed,
    Ignored,
    Input,
    MessageDeleted,
    MessageEdited,
    NoteSubmitted,
    SlashCommand,
    ThreadMessage,
    UrlVerification,
)
from channels.slack.store import SlackStore, conversation_rows
from channels.slack.web import SlackError, SlackWeb
from contactcenter.agent_actions import ActionError
from contactcenter.domain import AgentReply
from contactcenter.services import Services
from contactcenter.storage.models import Agent, Conversation

log = logging.getLogger(__name__)

SOURCE = "slack"
Response = dict[str, Any]


class Handlers:
    def __init__(
        self, config: SlackConfig, web: SlackWeb, store: SlackStore, services: Services
    ) -> None:
        self.config = config
        self.web = web
        self.store = store
        self.services = services
        self._names: dict[str, str] = {}

    async def handle(self, item: Input) -> Response | None:
        """Act on one input; the return value (commands, modals) goes back in the ack."""
        if isinstance(item, ThreadMessage):
            await self._message(item)
        elif isinstance(item, MessageEdited):
            await self._edited(item)
        elif isinstance(item, MessageDeleted):
            await self._deleted(item)
        elif isinstance(item, ActionPressed):
            await self._action(item)
        elif isinstance(item, SlashCommand):
            return await self._command(item)
        elif isinstance(item, NoteSubmitted):
            return await self._note_submitted(item)
        elif isinstance(item, UrlVerification | Ignored):
            return None
        return None

    async def respond_late(self, item: Input, response: Response) -> None:
        """A command answer that missed the ack: send it as an ephemeral message."""
        if isinstance(item, SlashCommand):
            await self._ephemeral(
                item.channel,
                item.user,
                str(response.get("text") or ""),
                body=response.get("blocks"),
            )

    # --- agents ---

    async def agent_for(self, user: str, team: str | None) -> int:
        """The core agent of a Slack user, created from ``users.info`` on first use."""
        agent_id = await self.store.agent_of(user)
        if agent_id is not None:
            return agent_id
        name, email = f"Slack user {user}", None
        try:
            info = (await self.web.call_get("users.info", user=user)).get("user") or {}
        except SlackError as exc:
            log.warning("users.info failed for %s: %s (agent named after the id)", user, exc)
            info = {}
        if info.get("is_bot") or info.get("deleted"):
            raise ActionError("bots and deactivated users cannot act as agents", 403)
        profile = info.get("profile") or {}
        name = (
            profile.get("real_name")
            or info.get("real_name")
            or profile.get("display_name")
            or info.get("name")
            or name
        )
        email = (profile.get("email") or "").strip().lower() or None
        return await self.store.link_agent(user, team or info.get("team_id"), str(name), email)

    async def _names_for(self, text: str) -> dict[str, str]:
        """Display names for ``<@U...>`` mentions: linked agents first, then ``users.info``."""
        ids = mentioned_users(text)[:20]
        names = await self.store.agent_names(ids)
        for uid in ids:
            if uid in names:
                continue
            if uid not in self._names:
                try:
                    user = (await self.web.call_get("users.info", user=uid)).get("user") or {}
                    profile = user.get("profile") or {}
                    self._names[uid] = str(
                        profile.get("display_name")
                        or profile.get("real_name")
                        or user.get("real_name")
                        or user.get("name")
                        or "someone"
                    )
                except SlackError:
                    self._names[uid] = "someone"
            names[uid] = self._names[uid]
        return names

    # --- thread messages ---

    async def _conversation_of_thread(
        self, channel: str, thread_ts: str | None, ts: str
    ) -> int | None:
        if thread_ts is None or thread_ts == ts:
            return None  # a top-level message: agents talking in the channel, not a reply
        return await self.store.conversation_at(channel, thread_ts)

    async def _message(self, m: ThreadMessage) -> None:
        cid = await self._conversation_of_thread(m.channel, m.thread_ts, m.ts)
        if cid is None:
            return
        body = strip_prefix(m.text, self.config.note_prefixes)
        internal = body is not None
        raw = body if body is not None else m.text
        text = to_plain(raw, await self._names_for(raw))
        if not text:
            why = (
                "Files are not sent to the customer: write your reply as text."
                if m.files
                else "Nothing to save: the note is empty."
            )
            await self._ephemeral(m.channel, m.user, why, thread_ts=m.thread_ts)
            return
        try:
            agent_id = await self.agent_for(m.user, m.team)
            _message, duplicate = await self.services.actions.reply(
                AgentReply(
                    conversation_id=cid,
                    text=text,
                    agent_id=agent_id,
                    internal=internal,
                    source=SOURCE,
                    source_message_id=m.ts,
                )
            )
        except ActionError as exc:
            await self._ephemeral(
                m.channel,
                m.user,
                f":x: Not sent to the customer: {escape(str(exc))}",
                thread_ts=m.thread_ts,
            )
            return
        if duplicate:
            return
        await self._react(m.channel, m.ts, "lock" if internal else "outbox_tray")
        if m.files and not internal:
            await self._ephemeral(
                m.channel,
                m.user,
                ":paperclip: Only the text was sent; files are not forwarded to the customer.",
                thread_ts=m.thread_ts,
            )

    async def _edited(self, e: MessageEdited) -> None:
        cid = await self._conversation_of_thread(e.channel, e.thread_ts, e.ts)
        if cid is None:
            return
        was_note = strip_prefix(e.old_text, self.config.note_prefixes) is not None
        new_body = strip_prefix(e.new_text, self.config.note_prefixes)
        if was_note and new_body is not None:
            text = to_plain(new_body, await self._names_for(new_body))
            if text:
                agent_id = await self.agent_for(e.user, None)
                await self.services.actions.reply(
                    AgentReply(
                        conversation_id=cid,
                        text=f"(edited note) {text}",
                        agent_id=agent_id,
                        internal=True,
                        source=SOURCE,
                        source_message_id=f"{e.ts}:edit:{e.edited_ts}",
                    )
                )
            return
        if was_note:
            warning = (
                ":warning: Edits are never sent: removing the note prefix did not send this "
                "note to the customer. Post it as a new message to send it."
            )
        else:
            warning = (
                f":warning: <@{e.user}> edited a reply that was already sent. The customer "
                "received the original; edits are not sent. Post a new message to correct it."
            )
        await self._thread_notice(e.channel, e.thread_ts, warning)

    async def _deleted(self, d: MessageDeleted) -> None:
        cid = await self._conversation_of_thread(d.channel, d.thread_ts, d.ts)
        if cid is None:
            return
        if strip_prefix(d.old_text, self.config.note_prefixes) is not None:
            await self._ephemeral(
                d.channel,
                d.user,
                "The note stays in the conversation's history.",
                thread_ts=d.thread_ts,
            )
            return
        await self._thread_notice(
            d.channel,
            d.thread_ts,
            ":warning: A reply was deleted in Slack, but the customer already received it.",
        )

    # --- buttons, menus, shortcuts ---

    async def _conversation_of_action(self, a: ActionPressed) -> int | None:
        if a.value and a.value.isdigit():
            return int(a.value)
        if a.selected_option and a.selected_option.split(":", 1)[0].isdigit():
            return int(a.selected_option.split(":", 1)[0])
        if a.block_id and a.block_id.startswith("cc_actions:"):
            suffix = a.block_id.split(":", 1)[1]
            if suffix.isdigit():
                return int(suffix)
        if a.channel:
            for ts in (a.thread_ts, a.message_ts):
                if ts:
                    cid = await self.store.conversation_at(a.channel, ts)
                    if cid is not None:
                        return cid
        return None

    async def _action(self, a: ActionPressed) -> None:
        if a.action_id == blocks.ACTION_SEND_ARTICLE:
            await self._send_article(a)
            return
        cid = await self._conversation_of_action(a)
        if cid is None:
            await self._tell(a, "This is not in a conversation's thread.")
            return
        actions = self.services.actions
        try:
            agent_id = await self.agent_for(a.user, a.team)
            if a.action_id == blocks.ACTION_CLAIM:
                holder = await self._assignee(cid)
                if holder == agent_id:
                    await self._tell(a, f"#{cid} is already yours.")
                    return
                if holder is not None:
                    name = escape(await self._agent_name(holder))
                    await self._tell(a, f"#{cid} is assigned to {name}; use Transfer.")
                    return
                await actions.assign(cid, agent_id, by=agent_id)
            elif a.action_id == blocks.ACTION_RESOLVE:
                await actions.resolve(cid, by=agent_id)
            elif a.action_id == blocks.ACTION_REOPEN:
                await actions.reopen(cid, by=agent_id)
            elif a.action_id == blocks.ACTION_TRANSFER:
                if not a.selected_user:
                    return
                target = await self.agent_for(a.selected_user, a.team)
                await actions.assign(cid, target, by=agent_id)
            elif a.action_id == blocks.ACTION_SNOOZE:
                await self._snooze(a, cid)
            elif a.action_id == blocks.ACTION_NOTE:
                if a.trigger_id:
                    await self.web.call(
                        "views.open", trigger_id=a.trigger_id, view=blocks.note_modal(cid)
                    )
        except ActionError as exc:
            await self._tell(a, f":x: {escape(str(exc))}")
        except SlackError as exc:
            log.warning("slack action %s failed: %s", a.action_id, exc)
            await self._tell(a, f":x: Slack refused: {escape(exc.error)}")

    async def _snooze(self, a: ActionPressed, cid: int) -> None:
        """A reminder in the thread after N hours (the core has no snooze state yet)."""
        try:
            hours = int((a.selected_option or "").split(":", 1)[1])
        except (IndexError, ValueError):
            return
        thread = await self.store.thread_of(cid)
        if thread is None:
            return
        post_at = int(time.time()) + hours * 3600
        await self.web.call(
            "chat.scheduleMessage",
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            post_at=post_at,
            text=f"<@{a.user}> :alarm_clock: Snooze is over for conversation #{cid}.",
        )
        await self._thread_notice(
            thread.channel,
            thread.thread_ts,
            f":zzz: Snoozed by <@{a.user}> for {hours} h "
            f"(reminder <!date^{post_at}^{{date_short_pretty}} {{time}}|in {hours} h>).",
        )

    async def _send_article(self, a: ActionPressed) -> None:
        try:
            data = json.loads(a.value or "")
            cid = int(data["c"])
            title = str(data.get("t") or "")
        except (ValueError, KeyError, TypeError):
            await self._tell(a, "This button is broken; search again.")
            return
        detail = str(data.get("u") or data.get("s") or "")
        text = f"{title}\n{detail}".strip()
        try:
            agent_id = await self.agent_for(a.user, a.team)
            await self.services.actions.reply(
                AgentReply(
                    conversation_id=cid,
                    text=text,
                    agent_id=agent_id,
                    source=SOURCE,
                    source_message_id=f"article:{a.user}:{a.action_ts}",
                )
            )
        except ActionError as exc:
            await self._tell(a, f":x: Not sent: {escape(str(exc))}")
            return
        await self._tell(a, f":outbox_tray: Sent “{escape(title)}” to the customer of #{cid}.")

    async def _note_submitted(self, n: NoteSubmitted) -> Response | None:
        text = n.text.strip()
        if not text:
            return {"response_action": "errors", "errors": {"note": "Write the note first."}}
        try:
            agent_id = await self.agent_for(n.user, n.team)
            await self.services.actions.reply(
                AgentReply(
                    conversation_id=n.conversation_id,
                    text=text,
                    agent_id=agent_id,
                    internal=True,
                    source=SOURCE,
                    source_message_id=f"view:{n.view_id}",
                )
            )
        except ActionError as exc:
            return {"response_action": "errors", "errors": {"note": str(exc)[:150]}}
        thread = await self.store.thread_of(n.conversation_id)
        if thread is not None:
            await self._thread_notice(
                thread.channel,
                thread.thread_ts,
                f":lock: Internal note by <@{n.user}>:\n{escape(text)}",
            )
        return None

    # --- the slash command ---

    async def _command(self, c: SlashCommand) -> Response:
        cmd = commands.parse_command(c.text)
        usage = commands.USAGE.format(cmd=escape(c.command))
        if cmd.error or cmd.verb == "help":
            return _ephemeral_response(f"{escape(cmd.error)}\n{usage}" if cmd.error else usage)
        try:
            if cmd.verb == "search":
                return await self._search(cmd)
            agent_id = await self.agent_for(c.user, c.team)
            if cmd.verb == "mine":
                rows = await conversation_rows(self.services.db, assignee_id=agent_id)
                return await self._list("Your open conversations", rows)
            if cmd.verb == "queue":
                rows = await conversation_rows(self.services.db, waiting=True)
                return await self._list("Waiting for an agent", rows)
            cid = cmd.conversation_id or 0
            if cmd.verb == "resolve":
                await self.services.actions.resolve(cid, by=agent_id)
                return _ephemeral_response(f":white_check_mark: Resolved #{cid}.")
            if cmd.verb == "assign" and cmd.user:
                target = await self.agent_for(cmd.user, c.team)
                await self.services.actions.assign(cid, target, by=agent_id)
                return _ephemeral_response(f"Assigned #{cid} to <@{cmd.user}>.")
        except ActionError as exc:
            return _ephemeral_response(f":x: {escape(str(exc))}")
        return _ephemeral_response(usage)

    async def _search(self, cmd: commands.Command) -> Response:
        answer = await self.services.router.answerer.answer(cmd.query)
        suggestions = [
            {
                "article_id": str(s.article_id),
                "title": str(s.title),
                "url": s.url,
                "snippet": s.snippet,
                "score": float(s.score),
            }
            for s in answer.suggestions
        ]
        fallback, body = blocks.search_results(
            cmd.query, suggestions, conversation_id=cmd.conversation_id
        )
        return {"response_type": "ephemeral", "text": fallback, "blocks": body}

    async def _list(self, title: str, rows: list[dict[str, Any]]) -> Response:
        threads = await self.store.threads_of([int(r["id"]) for r in rows])
        for r in rows:
            t = threads.get(int(r["id"]))
            if t is not None:
                r["link"] = blocks.thread_link(t.channel, t.thread_ts)
        fallback, body = blocks.conversation_list(title, rows)
        return {"response_type": "ephemeral", "text": fallback, "blocks": body}

    # --- helpers ---

    async def _assignee(self, cid: int) -> int | None:
        async with self.services.db.session() as s:
            conv = await s.get(Conversation, cid)
            if conv is None:
                raise ActionError(f"conversation {cid} does not exist", 404)
            return conv.assignee_id

    async def _agent_name(self, agent_id: int) -> str:
        async with self.services.db.session() as s:
            agent = await s.get(Agent, agent_id)
            return agent.name if agent else f"agent {agent_id}"

    async def _tell(self, a: ActionPressed, text: str) -> None:
        if a.channel:
            await self._ephemeral(a.channel, a.user, text, thread_ts=a.thread_ts)

    async def _ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        body: Any = None,
    ) -> None:
        try:
            await self.web.call(
                "chat.postEphemeral",
                channel=channel,
                user=user,
                text=blocks.truncate(text, blocks.TEXT_MAX),
                thread_ts=thread_ts,
                blocks=body,
            )
        except SlackError as exc:
            log.warning("could not tell %s in Slack: %s", user, exc)

    async def _thread_notice(self, channel: str, thread_ts: str | None, text: str) -> None:
        try:
            fallback, body = blocks.notice(text)
            await self.web.call(
                "chat.postMessage", channel=channel, thread_ts=thread_ts, text=fallback, blocks=body
            )
        except SlackError as exc:
            log.warning("could not post a thread notice: %s", exc)

    async def _react(self, channel: str, ts: str, name: str) -> None:
        """A reaction on the agent's message says what happened: sent, or kept as a note."""
        try:
            await self.web.call_form("reactions.add", channel=channel, timestamp=ts, name=name)
        except SlackError as exc:
            if exc.error != "already_reacted":
                log.info("could not add a reaction: %s", exc)


def _ephemeral_response(text: str) -> Response:
    return {"response_type": "ephemeral", "text": blocks.truncate(text, blocks.TEXT_MAX)}
