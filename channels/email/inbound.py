"""ParsedEmail to the core's InboundMessage.

The core knows nothing about mail; everything mail-specific it may need
later (threading evidence, the untrimmed text, the auto-reply verdict) rides
along in ``metadata`` so that nothing is lost by trimming or by the choice of
thread key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from contactcenter.domain import Address, Attachment, InboundMessage

from .model import ParsedEmail
from .threading import thread_signals

CHANNEL = "email"
# Stands in for a missing From so the core still gets an Address; never answered.
UNKNOWN_SENDER = "unknown-sender@invalid"
# The core refuses longer texts (Router MAX_TEXT); the whole text stays in metadata.
MAX_TEXT_CHARS = 100_000


def clean_text(value: str) -> str:
    """Text any database accepts: no NUL characters, no lone surrogates.

    PostgreSQL refuses both in text and JSON; a mail that carries them must
    still be stored, so they are dropped or replaced rather than failing.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", errors="replace").decode("utf-8")
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def to_inbound(
    parsed: ParsedEmail,
    *,
    mailbox: str,
    our_addresses: Iterable[str] = (),
    secret: bytes | None = None,
    attachment_refs: Sequence[str | None] = (),
) -> InboundMessage:
    """Map one parsed mail received at ``mailbox`` (our support address).

    ``thread_key`` is the thread root (see ThreadSignals.thread_root);
    ``conversation_id`` is only set when one of our own ids or tokens in the
    mail carried a valid MAC (needs ``secret``). ``attachment_refs``, aligned
    with ``parsed.attachments``, are the storage refs the I/O layer chose.
    """
    mailbox = mailbox.strip().lower()
    domain = mailbox.rpartition("@")[2]
    ours = {mailbox, *(a.strip().lower() for a in our_addresses)}
    signals = thread_signals(parsed, our_domain=domain, our_addresses=ours, secret=secret)
    sender = parsed.from_address or UNKNOWN_SENDER
    conversation = signals.conversation_id

    attachments = tuple(
        Attachment(
            filename=clean_text(a.filename),
            content_type=a.content_type,
            size=a.size,
            storage_ref=attachment_refs[i] if i < len(attachment_refs) else None,
            inline=a.inline,
        )
        for i, a in enumerate(parsed.attachments)
    )
    metadata: dict[str, Any] = {
        "message_id": parsed.message_id,
        "message_id_synthesized": parsed.message_id_synthesized,
        "in_reply_to": list(parsed.in_reply_to),
        "references": list(parsed.references),
        "auto_reply": parsed.auto_reply.value if parsed.auto_reply else None,
        "full_text": parsed.text,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else None,
        "mailbox": mailbox,
        "to": [a.address for a in parsed.to],
        "cc": [a.address for a in parsed.cc],
        "reply_to": [a.address for a in parsed.reply_to],
        "threading": signals.as_list(),
        "thread_root": signals.thread_root,
        "has_html": parsed.html is not None,
        "attachments_dropped": [a.filename for a in parsed.attachments if a.content is None],
        "defects": list(parsed.defects),
    }
    text = clean_text(parsed.reply_text or parsed.text)
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        metadata["text_truncated"] = True
    return InboundMessage(
        channel_message_id=clean_text(parsed.message_id),
        sender=Address(CHANNEL, clean_text(sender.lower())),
        text=text,
        thread_key=clean_text(signals.thread_root),
        display_name=clean_text(parsed.from_name) if parsed.from_name else None,
        email=parsed.from_address,
        subject=clean_text(parsed.subject) or None,
        attachments=attachments,
        conversation_id=int(conversation) if conversation and conversation.isdigit() else None,
        # Mail from our own mailbox is our own mail coming back: never answer it.
        no_reply=parsed.auto_reply is not None or parsed.from_address in (None, *ours),
        metadata=_clean(metadata),
    )
