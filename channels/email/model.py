"""The values the email channel's pure functions hand to each other.

They are frozen so that a parsed mail can be passed from the parser to the
threading, trimming and inbound-mapping steps (and to tests) without any of
them being able to change what the others see.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class AutoReplyKind(enum.StrEnum):
    """Why a mail must not be answered automatically.

    "No verdict" is ``None``, not a member, so that ``if parsed.auto_reply:``
    reads naturally.
    """

    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, autoresponders
    BOUNCE = "bounce"  # delivery status notifications, mailer-daemon
    LIST = "list"  # mailing lists and bulk mail


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailAddress:
    """One mailbox from an address header; ``address`` is lowercased."""

    address: str
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailAttachment:
    """A non-body MIME part.

    ``content`` is ``None`` when the part was larger than the parser's limit:
    the size is still counted so the agent can be told what was dropped.
    """

    filename: str
    content_type: str
    size: int
    inline: bool = False
    content_id: str | None = None
    content: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedEmail:
    """Everything the rest of the channel needs from one raw RFC 5322 message."""

    message_id: str
    # True when the mail had no usable Message-ID and ``message_id`` was derived
    # from a hash of the raw bytes (stable, so redelivery still deduplicates).
    message_id_synthesized: bool = False
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    from_address: str | None = None
    from_name: str | None = None
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    reply_text: str = ""
    html: str | None = None
    attachments: tuple[EmailAttachment, ...] = ()
    auto_reply: AutoReplyKind | None = None
    # Decoded values of the headers other steps look at (lowercased names).
    headers: Mapping[str, str] = field(default_factory=dict)
    # Names of the problems met while parsing (stdlib defect classes, limits hit).
    defects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """A message the parser could not make sense of, kept whole for a human."""

    reason: str
    raw: bytes
