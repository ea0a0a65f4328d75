"""The shapes the server emits: pure functions from core values to JSON-ready dicts.

One function per shape, so the live "message" event and the "history" replay
are built the same way and the widget never needs two parsers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from contactcenter.domain import OutboundMessage, as_utc, utcnow

ACTION_LABELS = {"yes": "Yes", "no": "No", "human": "Talk to a human"}


def iso(value: datetime) -> str:
    """UTC with its offset; SQLite hands times back naive, and they are UTC."""
    return as_utc(value).astimezone(UTC).isoformat()


def suggestions(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only what the widget shows: a title and a link (http/https only)."""
    out = []
    for item in items:
        url = item.get("url")
        if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            url = None
        out.append(
            {
                "article_id": str(item.get("article_id", "")),
                "title": str(item.get("title", "")),
                "url": url,
            }
        )
    return out


def actions(items: Iterable[str]) -> list[dict[str, str]]:
    """Quick replies: the router's action names with the words the button shows and
    sends ("human" -> "Talk to a human", which the escalation rules understand)."""
    return [{"id": a, "label": ACTION_LABELS.get(a, a)} for a in items]


def message(
    *,
    id: int,
    conversation_id: int,
    author: str,
    text: str,
    created_at: datetime,
    author_name: str | None = None,
    suggestion_items: Sequence[Mapping[str, Any]] = (),
    action_items: Sequence[str] = (),
    client_id: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id,
        "conversation_id": conversation_id,
        "author": author,
        "text": text,
        "created_at": iso(created_at),
    }
    if author_name:
        out["author_name"] = author_name
    if suggestion_items:
        out["suggestions"] = suggestions(suggestion_items)
    if action_items:
        out["actions"] = actions(action_items)
    if client_id:
        out["client_id"] = client_id
    return out


def outbound(sent: OutboundMessage) -> dict[str, Any]:
    """A bot or agent message on its way to the visitor."""
    return message(
        id=sent.message_id,
        conversation_id=sent.conversation_id,
        author=str(sent.author_kind),
        text=sent.text,
        created_at=sent.created_at or utcnow(),
        author_name=sent.author_name,
        suggestion_items=sent.suggestions,
        action_items=sent.actions,
    )


def error(code: str, message: str, *, event: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "event": event, **extra}
