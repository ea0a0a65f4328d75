"""The router: every inbound customer message goes through :meth:`Router.handle`.

One transaction per message: dedupe, customer, conversation, the message, the
new state and every delivery it causes are committed together; the channel
acknowledges its source only after that. The bot answers only in a conversation
no human owns, only when the answerer is confident, and hands over when the
customer asks for a person, when the answerer declines, or after repeated misses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter import conversations, customers
from contactcenter.answerer import Answerer, AnswerLike, Decision, DecliningAnswerer
from contactcenter.deliveries import DeliveryWriter, conversation_snapshot
from contactcenter.domain import (
    AuthorKind,
    ConversationStatus,
    Direction,
    HandleResult,
    InboundMessage,
    utcnow,
)
from contactcenter.escalation import asks_for_human, feedback
from contactcenter.metrics import Metrics
from contactcenter.storage.database import Database
from contactcenter.storage.models import Conversation, Message

log = logging.getLogger(__name__)
Status = ConversationStatus

MAX_TEXT = 100_000


@dataclass(frozen=True, slots=True)
class BotTexts:
    """What the bot says; a deployment can change the wording."""

    did_it_help: str = "Did this answer your question?"
    suggestions_intro: str = "These articles might help:"
    suggestions_outro: str = 'If none of them helps, say "talk to a human".'
    handover: str = "Thanks, I'm passing you to a member of our team. They'll reply here."
    glad: str = "Glad I could help! Write again any time."


class Router:
    def __init__(
        self,
        db: Database,
        metrics: Metrics,
        *,
        answerer: Answerer | None = None,
        desks: Sequence[str] = (),
        reopen_window: timedelta = timedelta(hours=72),
        max_bot_misses: int = 2,
        texts: BotTexts | None = None,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.answerer: Answerer = answerer or DecliningAnswerer()
        self.writer = DeliveryWriter(desks)
        self.reopen_window = reopen_window
        self.max_bot_misses = max_bot_misses
        self.texts = texts or BotTexts()
        self.on_commit = on_commit or (lambda: None)

    async def handle(self, msg: InboundMessage) -> HandleResult:
        """Store one inbound message and decide what happens; idempotent per channel id."""
        started = time.perf_counter()
        if len(msg.text) > MAX_TEXT:
            raise ValueError(f"message text is longer than {MAX_TEXT} characters")
        answer = None
        if not msg.no_reply and msg.text.strip() and not asks_for_human(msg.text):
            # Asked outside the transaction: the write lock is not held while searching.
            answer = await self.answerer.answer(msg.text)
        for attempt in range(3):
            try:
                result = await self._handle_once(msg, answer)
                break
            except IntegrityError:
                # A concurrent handler created the same identity or message: go again,
                # and the second pass finds what the first one stored.
                if attempt == 2:
                    raise
        if result.duplicate:
            self.metrics.duplicates.labels(channel=msg.sender.channel).inc()
        else:
            self.metrics.messages_in.labels(channel=msg.sender.channel).inc()
            self.on_commit()
        self.metrics.router_latency.labels(channel=msg.sender.channel).observe(
            time.perf_counter() - started
        )
        return result

    async def _handle_once(self, msg: InboundMessage, answer: AnswerLike | None) -> HandleResult:
        async with self.db.transaction() as s:
            existing = (
                await s.exec(
                    select(Message).where(
                        Message.channel == msg.sender.channel,
                        Message.channel_message_id == msg.channel_message_id,
                    )
                )
            ).first()
            if existing is not None:
                conv = await s.get(Conversation, existing.conversation_id)
                assert conv is not None
                return HandleResult(
                    message_id=existing.id or 0,
                    conversation_id=conv.id or 0,
                    customer_id=conv.customer_id,
                    duplicate=True,
                    status=Status(conv.status),
                )
            resolved = await customers.resolve_customer(s, msg)
            conv, how = await conversations.attach(
                s, self.db, resolved, msg, reopen_window=self.reopen_window
            )
            message = Message(
                conversation_id=conv.id or 0,
                channel=msg.sender.channel,
                channel_message_id=msg.channel_message_id,
                direction=Direction.INBOUND,
                author_kind=AuthorKind.CUSTOMER,
                text=msg.text,
                attachments=[_attachment(a) for a in msg.attachments],
                meta={**dict(msg.metadata), **({"no_reply": True} if msg.no_reply else {})},
                created_at=msg.received_at,
            )
            s.add(message)
            await s.flush()
            now = utcnow()
            conv.last_customer_message_at = now
            conv.updated_at = now
            s.add(conv)
            bot_ids, escalated = await self._decide(s, conv, msg, message, answer, how)
            return HandleResult(
                message_id=message.id or 0,
                conversation_id=conv.id or 0,
                customer_id=conv.customer_id,
                duplicate=False,
                status=Status(conv.status),
                escalated=escalated,
                bot_message_ids=tuple(bot_ids),
            )

    async def _decide(
        self,
        s: AsyncSession,
        conv: Conversation,
        msg: InboundMessage,
        message: Message,
        answer: AnswerLike | None,
        how: str,
    ) -> tuple[list[int], bool]:
        status = Status(conv.status)
        if status.human_owned:
            if status == Status.WAITING_FOR_CUSTOMER:
                conversations.set_status(s, conv, Status.ASSIGNED, reason="customer replied")
            self.writer.desk(
                s,
                conv,
                "customer_message",
                {
                    "message_id": message.id,
                    "text": message.text,
                    "attachments": message.attachments,
                    "reopened": how == "reopened",
                },
            )
            return [], False
        if msg.no_reply:
            conversations.record(s, conv, "auto_reply_ignored", message_id=message.id)
            return [], False
        if asks_for_human(msg.text):
            return await self._escalate(s, conv, "customer_asked", answer), True
        if conv.awaiting_feedback:
            verdict = feedback(msg.text)
            conv.awaiting_feedback = False
            if verdict is True:
                conversations.record(s, conv, "bot_feedback", helpful=True)
                bot = await self.writer.reply(s, conv, self.texts.glad, author=AuthorKind.BOT)
                conversations.set_status(s, conv, Status.RESOLVED, by="bot")
                await self.writer.customer_event(s, conv, "resolved", {"csat": True, "by": "bot"})
                return [bot.id or 0], False
            if verdict is False:
                conversations.record(
                    s,
                    conv,
                    "bot_feedback",
                    helpful=False,
                    question=await self._last_answered_question(s, conv),
                    reply=msg.text[:500],
                )
                return await self._escalate(s, conv, "answer_not_helpful", answer), True
        if answer is None:
            return [], False
        self.metrics.bot_decisions.labels(decision=answer.decision).inc()
        decision = Decision(answer.decision)
        suggestions = [_suggestion(x) for x in answer.suggestions[:3]]
        if decision == Decision.ANSWER and answer.text:
            conv.bot_misses = 0
            conv.awaiting_feedback = True
            text = f"{answer.text}\n\n{self.texts.did_it_help}"
            bot = await self.writer.reply(
                s,
                conv,
                text,
                author=AuthorKind.BOT,
                suggestions=suggestions[:1],
                actions=("yes", "no", "human"),
                meta={
                    "decision": "answer",
                    "confidence": answer.confidence,
                    "question": msg.text[:2000],
                },
            )
            conversations.record(
                s,
                conv,
                "bot_answered",
                question=msg.text[:500],
                confidence=answer.confidence,
                article_id=suggestions[0]["article_id"] if suggestions else None,
            )
            return [bot.id or 0], False
        conv.bot_misses += 1
        if decision == Decision.SUGGEST and suggestions and conv.bot_misses < self.max_bot_misses:
            lines = [self.texts.suggestions_intro]
            lines += [
                f"- {x['title']}" + (f" ({x['url']})" if x.get("url") else "") for x in suggestions
            ]
            lines.append(self.texts.suggestions_outro)
            bot = await self.writer.reply(
                s,
                conv,
                "\n".join(lines),
                author=AuthorKind.BOT,
                suggestions=suggestions,
                actions=("human",),
                meta={"decision": "suggest", "confidence": answer.confidence},
            )
            conversations.record(s, conv, "bot_suggested", confidence=answer.confidence)
            return [bot.id or 0], False
        reason = "bot_missed_twice" if decision == Decision.SUGGEST else "bot_declined"
        conversations.record(s, conv, "bot_declined", question=msg.text[:500])
        return await self._escalate(s, conv, reason, answer), True

    @staticmethod
    async def _last_answered_question(s: AsyncSession, conv: Conversation) -> str | None:
        """The customer question behind the bot's last answer (for knowledge gaps)."""
        rows = (
            await s.exec(
                select(Message)
                .where(Message.conversation_id == conv.id, Message.author_kind == AuthorKind.BOT)
                .order_by(col(Message.id).desc())
                .limit(5)
            )
        ).all()
        for row in rows:
            if row.meta.get("decision") == "answer":
                question = row.meta.get("question")
                return str(question) if question else None
        return None

    async def _escalate(
        self, s: AsyncSession, conv: Conversation, reason: str, answer: AnswerLike | None
    ) -> list[int]:
        """Hand the conversation to a person: tell the customer, tell the desk."""
        if answer is not None:
            conv.suggestions = [_suggestion(x) for x in answer.suggestions[:3]]
        conv.escalated_at = utcnow()
        conv.awaiting_feedback = False
        conversations.set_status(s, conv, Status.WAITING_FOR_AGENT, reason=reason)
        bot = await self.writer.reply(
            s,
            conv,
            self.texts.handover,
            author=AuthorKind.BOT,
            meta={"decision": "escalate", "reason": reason},
        )
        snapshot = await conversation_snapshot(s, conv)
        self.writer.desk(s, conv, "escalated", {"reason": reason, "conversation": snapshot})
        self.metrics.escalations.labels(reason=reason).inc()
        return [bot.id or 0]


def _suggestion(x: Any) -> dict[str, Any]:
    return {
        "article_id": str(x.article_id),
        "title": str(x.title),
        "score": float(x.score),
        "url": x.url,
        "snippet": x.snippet,
    }


def _attachment(a: Any) -> dict[str, Any]:
    return {
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "storage_ref": a.storage_ref,
        "inline": a.inline,
    }
