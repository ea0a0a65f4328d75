"""Every table row as the API shows it: one function per kind, plain JSON-able dicts.

Times are ISO 8601 with their UTC offset on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contactcenter.domain import as_utc
from contactcenter.storage.models import (
    Agent,
    Conversation,
    Customer,
    Delivery,
    Event,
    Identity,
    MergeRecord,
    MergeSuggestion,
    Message,
)


def time(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def conversation(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "identity_id": c.identity_id,
        "channel": c.channel,
        "status": c.status,
        "subject": c.subject,
        "assignee_id": c.assignee_id,
        "priority": c.priority,
        "tags": list(c.tags),
        "awaiting_feedback": c.awaiting_feedback,
        "suggestions": list(c.suggestions),
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
        "escalated_at": time(c.escalated_at),
        "first_response_at": time(c.first_response_at),
        "resolved_at": time(c.resolved_at),
        "last_customer_message_at": time(c.last_customer_message_at),
    }


def message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "channel": m.channel,
        "channel_message_id": m.channel_message_id,
        "direction": m.direction,
        "author_kind": m.author_kind,
        "agent_id": m.agent_id,
        "internal": m.internal,
        "text": m.text,
        "attachments": list(m.attachments),
        "meta": dict(m.meta),
        "created_at": time(m.created_at),
    }


def timeline_message(m: Message, conv: Conversation) -> dict[str, Any]:
    """A message in a customer's cross-channel timeline: ``channel`` is the conversation's."""
    return {**message(m), "channel": conv.channel, "message_channel": m.channel}


def event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "customer_id": e.customer_id,
        "kind": e.kind,
        "data": dict(e.data),
        "created_at": time(e.created_at),
    }


def customer(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "email_verified": c.email_verified,
        "merged_into_id": c.merged_into_id,
        "created_at": time(c.created_at),
    }


def identity(i: Identity) -> dict[str, Any]:
    return {
        "id": i.id,
        "customer_id": i.customer_id,
        "channel": i.channel,
        "address": i.address,
        "verified": i.verified,
        "email": i.email,
        "display_name": i.display_name,
        "created_at": time(i.created_at),
    }


def agent(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "email": a.email,
        "active": a.active,
        "created_at": time(a.created_at),
    }


def delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind,
        "target": d.target,
        "conversation_id": d.conversation_id,
        "message_id": d.message_id,
        "recipient": d.recipient,
        "payload": dict(d.payload),
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": time(d.next_attempt_at),
        "last_error": d.last_error,
        "native_id": d.native_id,
        "created_at": time(d.created_at),
        "sent_at": time(d.sent_at),
    }


def merge_record(r: MergeRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "source_customer_id": r.source_customer_id,
        "target_customer_id": r.target_customer_id,
        "identity_ids": list(r.identity_ids),
        "conversation_ids": list(r.conversation_ids),
        "created_at": time(r.created_at),
        "undone_at": time(r.undone_at),
    }


def merge_suggestion(s: MergeSuggestion) -> dict[str, Any]:
    return {
        "id": s.id,
        "customer_id": s.customer_id,
        "other_customer_id": s.other_customer_id,
        "reason": s.reason,
        "status": s.status,
        "created_at": time(s.created_at),
    }


def page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
