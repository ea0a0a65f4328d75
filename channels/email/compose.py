"""Building outgoing mail that threads correctly and cannot be hijacked.

Everything that ends up in a header (agent names, subjects, addresses) comes
from people, so it is stripped of CR/LF and control characters before it gets
near a header, and names go through ``email.headerregistry.Address`` so that
quoting and RFC 2047 encoding are done by the stdlib, not by string pasting.
The HTML alternative is generated from the text by escaping it: agent or bot
text is never trusted as HTML.
"""

# Non-Latin letters and the fullwidth colon below are deliberate: they are mail
# clients' translations of "wrote:", "From:" and friends.
# ruff: noqa: RUF001

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from contactcenter.domain import AuthorKind, OutboundMessage

from .notices import Notice
from .threading import (
    make_message_id,
    make_reply_address,
    make_reply_token,
    parse_our_message_id,
)

DEFAULT_MAX_REFERENCES = 20
MAX_SUBJECT_CHARS = 250
MAX_NAME_CHARS = 120

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|réf|ref|rif|res|odp|ha|回复|答复|返信)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def clean_header_text(value: str | None, *, limit: int = MAX_SUBJECT_CHARS) -> str:
    """One line of plain text: control characters become spaces, runs collapse."""
    if not value:
        return ""
    value = _CONTROL.sub(" ", value)
    return re.sub(r"\s{2,}", " ", value).strip()[:limit]


def reply_subject(subject: str | None, *, tag: str | None = None) -> str:
    """ "Re: " exactly once (whatever prefixes the clients piled up), plus a tag."""
    base = _REPLY_PREFIX.sub("", clean_header_text(subject)).strip()
    result = f"Re: {base}" if base else "Re:"
    if tag and f"[#{tag}]" not in result:
        result = f"{result} [#{tag}]"
    return clean_header_text(result)


def bounded_references(ids: Sequence[str], *, limit: int = DEFAULT_MAX_REFERENCES) -> list[str]:
    """References with the root kept: first id plus the newest ``limit - 1``."""
    clean = []
    for mid in ids:
        mid = clean_header_text(mid, limit=998).strip()
        if not mid:
            continue
        if not mid.startswith("<"):
            mid = f"<{mid.strip('<>')}>"
        if re.fullmatch(r"<[^<>\s]+>", mid) and mid not in clean:
            clean.append(mid)
    if len(clean) > limit:
        clean = [clean[0], *clean[len(clean) - (limit - 1) :]] if limit > 1 else clean[-1:]
    return clean


def text_to_html(text: str) -> str:
    """Escaped HTML for a plain-text body: paragraphs, line breaks, links."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    rendered = []
    for para in paragraphs:
        escaped = html.escape(para, quote=True)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        rendered.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(rendered)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif;">\n{body}\n</body></html>\n'
    )


def _address(addr: str, name: str | None = None) -> Address:
    addr = addr.strip()
    if not addr or _CONTROL.search(addr) or any(c.isspace() for c in addr):
        raise ValueError(f"unusable address: {addr!r}")
    display = clean_header_text(name, limit=MAX_NAME_CHARS)
    try:
        return Address(display_name=display, addr_spec=addr)
    except (ValueError, IndexError, TypeError, HeaderParseError) as exc:
        raise ValueError(f"unusable address: {addr!r}") from exc


def compose_email(
    *,
    from_address: str,
    to_address: str,
    text: str,
    subject: str | None,
    message_id: str,
    from_name: str | None = None,
    to_name: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    reply_to: str | None = None,
    automated: bool = False,
    auto_submitted: str = "auto-replied",
    include_html: bool = True,
    date: datetime | None = None,
    max_references: int = DEFAULT_MAX_REFERENCES,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> EmailMessage:
    """One outgoing message, ready for ``aiosmtplib.send(message)``.

    ``automated`` marks bot mail with ``Auto-Submitted: auto-replied`` (RFC
    3834) so that well-behaved auto-responders do not answer it; notices that
    answer no mail say ``auto_submitted="auto-generated"``. Raises ValueError
    only for unusable addresses or Message-IDs.
    """
    if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
        raise ValueError(f"bad Message-ID: {message_id!r}")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(from_address, from_name)
    msg["To"] = _address(to_address, to_name)
    msg["Subject"] = clean_header_text(subject) or "(no subject)"
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id
    refs = bounded_references(references, limit=max_references)
    parent = bounded_references([in_reply_to], limit=1) if in_reply_to else refs[-1:]
    if parent:
        msg["In-Reply-To"] = parent[0]
        if parent[0] not in refs:
            refs = bounded_references([*refs, parent[0]], limit=max_references)
    if refs:
        msg["References"] = " ".join(refs)
    if reply_to:
        msg["Reply-To"] = _address(reply_to, from_name)
    if automated:
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    for name, value in extra_headers:
        if re.fullmatch(r"[!-9;-~]+", name):
            msg[name] = clean_header_text(value, limit=998)
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(body, subtype="plain", charset="utf-8")
    if include_html:
        msg.add_alternative(text_to_html(body), subtype="html", charset="utf-8")
    return msg


def display_name(author_name: str | None, brand: str | None) -> str | None:
    """ "Alice from Northwind Support", or just the brand, or just the name."""
    author = clean_header_text(author_name, limit=60)
    team = clean_header_text(brand, limit=60)
    if author and team:
        return f"{author} from {team}"
    return author or team or None


def _thread_subject(subject: str | None, brand: str | None, tag: str | None) -> str:
    """ "Re: <the conversation's subject> [#tag]"; the brand when there is no subject."""
    if subject:
        return reply_subject(subject, tag=tag)
    return clean_header_text(f"{brand or 'Support'}" + (f" [#{tag}]" if tag else ""))


def compose_outbound(
    out: OutboundMessage,
    *,
    mailbox: str,
    domain: str,
    brand: str | None = None,
    secret: bytes | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
    subject_tag: bool = True,
) -> EmailMessage:
    """The mail for one dispatcher delivery on the email channel.

    ``mailbox`` is the support address the customer wrote to; replies are
    directed to its plus address carrying the conversation token, and the
    Message-ID is in our format so either survives a client that drops the
    other. Use the returned message's "Message-ID" as the delivery's channel
    message id.
    """
    token = make_reply_token(out.conversation_id, secret=secret)
    mid = message_id or make_message_id(out.conversation_id, domain, secret=secret)
    thread = list(out.thread_message_ids)
    # Answer the customer's latest mail rather than our own previous one.
    theirs = [m for m in thread if parse_our_message_id(m) is None]
    parent = (theirs or thread)[-1] if thread else None
    subject = _thread_subject(out.subject, brand, token if subject_tag else None)
    return compose_email(
        from_address=mailbox,
        from_name=display_name(
            out.author_name if out.author_kind == AuthorKind.AGENT else None, brand
        ),
        to_address=out.recipient.value,
        text=out.text,
        subject=subject,
        message_id=mid,
        in_reply_to=parent,
        references=thread,
        reply_to=make_reply_address(mailbox, token),
        automated=out.author_kind in (AuthorKind.BOT, AuthorKind.SYSTEM),
        date=date,
    )


def compose_notice(
    notice: Notice,
    *,
    mailbox: str,
    domain: str,
    brand: str | None = None,
    secret: bytes | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The mail for a status notice ("your request was resolved").

    It continues the thread where it stands: In-Reply-To names the
    conversation's last mail, whoever wrote it, and References carries the
    thread. It answers no mail, so it is ``Auto-Submitted: auto-generated``
    (RFC 3834); the reply token rides in Reply-To and the subject like on every
    mail of ours, so a reply to it finds the conversation again.
    """
    token = make_reply_token(notice.conversation_id, secret=secret)
    thread = list(notice.thread_message_ids)
    return compose_email(
        from_address=mailbox,
        from_name=display_name(None, brand),
        to_address=notice.recipient,
        text=notice.text,
        subject=_thread_subject(notice.subject, brand, token),
        message_id=message_id or make_message_id(notice.conversation_id, domain, secret=secret),
        in_reply_to=thread[-1] if thread else None,
        references=thread,
        reply_to=make_reply_address(mailbox, token),
        automated=True,
        auto_submitted="auto-generated",
        date=date,
    )
