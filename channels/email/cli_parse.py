"""What ``contactcenter email parse FILE [--json]`` shows.

Operators debug threading and trimming complaints by running the parser on
the exact .eml a customer sent. The CLI command itself lives in the core;
this module only turns raw bytes into a JSON-serialisable description and a
human-readable rendering of it, so both stay testable without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .model import ParsedEmail, Quarantined
from .parse import DEFAULT_MAX_ATTACHMENT_BYTES, parse_email
from .threading import thread_signals

_PREVIEW_CHARS = 2000


def describe(
    raw: bytes,
    *,
    our_domain: str = "",
    our_addresses: Iterable[str] = (),
    secret: bytes | None = None,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> dict[str, Any]:
    """A JSON-serialisable summary of one raw mail (never raises)."""
    parsed = parse_email(raw, max_attachment_bytes=max_attachment_bytes)
    if isinstance(parsed, Quarantined):
        return {
            "quarantined": True,
            "reason": parsed.reason,
            "size": len(parsed.raw),
            "message_id": None,
            "in_reply_to": [],
            "references": [],
            "from": None,
            "subject": None,
            "reply_text": None,
            "text": None,
            "attachments": [],
            "auto_reply": None,
            "threading": {"thread_root": None, "candidates": []},
        }
    return _describe_parsed(parsed, our_domain, list(our_addresses), secret)


def _describe_parsed(
    parsed: ParsedEmail, our_domain: str, our_addresses: list[str], secret: bytes | None
) -> dict[str, Any]:
    signals = thread_signals(
        parsed, our_domain=our_domain, our_addresses=our_addresses, secret=secret
    )
    return {
        "quarantined": False,
        "message_id": parsed.message_id,
        "message_id_synthesized": parsed.message_id_synthesized,
        "in_reply_to": list(parsed.in_reply_to),
        "references": list(parsed.references),
        "from": {"address": parsed.from_address, "name": parsed.from_name},
        "to": [{"address": a.address, "name": a.name} for a in parsed.to],
        "cc": [{"address": a.address, "name": a.name} for a in parsed.cc],
        "reply_to": [{"address": a.address, "name": a.name} for a in parsed.reply_to],
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "reply_text": parsed.reply_text,
        "text": parsed.text,
        "has_html": parsed.html is not None,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "inline": a.inline,
                "content_id": a.content_id,
                "kept": a.content is not None,
            }
            for a in parsed.attachments
        ],
        "auto_reply": parsed.auto_reply.value if parsed.auto_reply else None,
        "threading": {
            "thread_root": signals.thread_root,
            "conversation_id": signals.conversation_id,
            "candidates": signals.as_list(),
        },
        "headers": dict(parsed.headers),
        "defects": list(parsed.defects),
    }


def _preview(text: str | None) -> str:
    if not text:
        return "  (empty)"
    cut = text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "\n[...]"
    return "\n".join(f"  | {line}" for line in cut.splitlines())


def format_description(info: dict[str, Any]) -> str:
    """The human-readable form of :func:`describe`'s result."""
    if info.get("quarantined"):
        return f"QUARANTINED: {info.get('reason')} ({info.get('size')} bytes)"
    sender = info.get("from") or {}
    who = sender.get("address") or "(none)"
    if sender.get("name"):
        who = f"{sender['name']} <{who}>"
    synthesized = " (synthesized)" if info.get("message_id_synthesized") else ""
    lines = [
        f"Message-ID:  {info['message_id']}{synthesized}",
        f"From:        {who}",
        f"Subject:     {info.get('subject') or ''}",
        f"Date:        {info.get('date') or '(none)'}",
        f"In-Reply-To: {' '.join(info.get('in_reply_to') or []) or '(none)'}",
        f"References:  {len(info.get('references') or [])} id(s)",
        f"Auto-reply:  {info.get('auto_reply') or 'no'}",
        f"Thread root: {info['threading'].get('thread_root')}",
    ]
    conv = info["threading"].get("conversation_id")
    if conv:
        lines.append(f"Conversation (verified): {conv}")
    for cand in info["threading"].get("candidates", []):
        mark = "verified" if cand.get("verified") else "unverified"
        lines.append(f"  signal {cand['signal']}: {cand['key']} ({mark})")
    attachments = info.get("attachments") or []
    lines.append(f"Attachments: {len(attachments)}")
    for a in attachments:
        flags = [a["content_type"], f"{a['size']} bytes"]
        if a.get("inline"):
            flags.append("inline")
        if not a.get("kept"):
            flags.append("content dropped")
        lines.append(f"  - {a['filename']} ({', '.join(flags)})")
    if info.get("defects"):
        lines.append(f"Defects:     {', '.join(info['defects'])}")
    lines += ["Reply text:", _preview(info.get("reply_text"))]
    if info.get("text") != info.get("reply_text"):
        lines += ["Full text:", _preview(info.get("text"))]
    return "\n".join(lines)
