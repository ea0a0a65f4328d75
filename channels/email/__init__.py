"""The email channel's pure part: parsing, trimming, threading, composing.

No I/O happens in this package. The IMAP/SMTP layer fetches raw bytes, calls
:func:`parse_email` and :func:`to_inbound`, and sends what
:func:`compose_outbound` builds; everything in between is testable offline.
"""

from .compose import compose_email, compose_outbound
from .inbound import to_inbound
from .model import AutoReplyKind, EmailAddress, EmailAttachment, ParsedEmail, Quarantined
from .parse import parse_email
from .threading import make_message_id, thread_signals
from .trimming import trim_reply

__all__ = [
    "AutoReplyKind",
    "EmailAddress",
    "EmailAttachment",
    "ParsedEmail",
    "Quarantined",
    "compose_email",
    "compose_outbound",
    "make_message_id",
    "parse_email",
    "thread_signals",
    "to_inbound",
    "trim_reply",
]
