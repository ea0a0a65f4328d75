"""Reading header values defensively.

The stdlib decoders are strict in places real mail is not (encoded words glued
to text, bogus charsets, broken base64) and raise or give up on a whole header
because of one bad token. These helpers decode what can be decoded, keep the
rest as it was and never raise.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .charset import decode_bytes, from_surrogates
from .model import EmailAddress

# RFC 2047 encoded word; tolerated inside words and with RFC 2231 language tags.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\s+")
_MSG_ID = re.compile(r"<([^<>\s]{1,900})>")
_BARE_MSG_ID = re.compile(r"[^<>\s,;]+@[^<>\s,;]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]*")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")

# More ids than this in References is abuse; keep the root and the newest.
MAX_REFERENCES = 100


def unfold(value: str) -> str:
    """RFC 5322 unfolding, plus removal of stray CR/LF and control characters."""
    value = _FOLD.sub(" ", value)
    value = value.replace("\r", " ").replace("\n", " ")
    return _CONTROL.sub("", value)


def _decode_word(charset: str, encoding: str, text: str) -> bytes:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return text.encode("ascii", errors="replace")
    raw = text.replace("_", " ").encode("utf-8", errors="replace")
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_rfc2047(value: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between two of them is dropped.

    Adjacent words in the same charset are decoded together, because mailers
    split multi-byte characters across words.
    """
    value = unfold(from_surrogates(value))
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if between and not (pending and _BETWEEN_WORDS.fullmatch(between)):
            flush()
            pieces.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.extend(_decode_word(charset, match.group(2), match.group(3)))
        pos = match.end()
    flush()
    pieces.append(value[pos:])
    return _CONTROL.sub("", "".join(pieces))


def parse_addresses(values: list[str]) -> tuple[EmailAddress, ...]:
    """Mailboxes from address headers; names decoded after splitting.

    Splitting first matters: a decoded display name may contain a comma. The
    stdlib's getaddresses is not used because it misreads names that look
    like addresses ("alice@example.com <bob@example.com>").
    """
    result: list[EmailAddress] = []
    for value in values:
        for chunk in _split_address_list(unfold(from_surrogates(value))):
            parsed = _parse_mailbox(chunk)
            if parsed is not None:
                result.append(parsed)
    return tuple(result)


def _split_address_list(value: str) -> list[str]:
    """Split on commas outside quotes, angle brackets and comments."""
    chunks: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = comment = 0
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"' and not comment:
            quoted = not quoted
        elif not quoted:
            if ch == "<":
                angle += 1
            elif ch == ">":
                angle = max(0, angle - 1)
            elif ch == "(":
                comment += 1
            elif ch == ")":
                comment = max(0, comment - 1)
            elif ch in ",;" and not angle and not comment:
                chunks.append("".join(current))
                current = []
                continue
        current.append(ch)
    chunks.append("".join(current))
    return [c.strip() for c in chunks if c.strip()]


_ANGLE_ADDR = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\(([^()]*)\)")
_ADDR_SPEC = re.compile(r"[^\s<>\"(),;:]+@[^\s<>\"(),;:]+")


def _parse_mailbox(chunk: str) -> EmailAddress | None:
    chunk = re.sub(r"^[^\"<>@]*:\s*", "", chunk)  # group name ("team: a@x")
    matches = list(_ANGLE_ADDR.finditer(chunk))
    if matches:
        last = matches[-1]
        addr = last.group(1).strip()
        name = chunk[: last.start()].strip() or (chunk[last.end() :].strip(" ()") or "")
    else:
        comment = _COMMENT.search(chunk)
        name = comment.group(1) if comment else ""
        bare = decode_rfc2047(_COMMENT.sub(" ", chunk)).strip()
        found = _ADDR_SPEC.search(bare)
        addr = found.group(0) if found else ""
    addr = addr.strip().strip("'\"").rsplit(":", 1)[-1]  # drop source routes
    if not _ADDR_SPEC.fullmatch(addr) or addr.startswith("@") or addr.endswith("@"):
        return None
    if name.startswith('"') and name.endswith('"') and len(name) >= 2:
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    decoded = decode_rfc2047(name).strip().strip('"').strip()
    if decoded.lower() == addr.lower() or decoded.strip("<>").lower() == addr.lower():
        decoded = ""
    return EmailAddress(address=addr.lower(), name=decoded or None)


def parse_message_ids(value: str | None, *, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """``<id>`` tokens in order, deduplicated, bounded to the first and last ids."""
    if not value:
        return ()
    value = unfold(from_surrogates(value))
    ids = [f"<{m}>" for m in _MSG_ID.findall(value)]
    if not ids:
        # Some mailers omit the angle brackets.
        ids = [f"<{m}>" for m in _BARE_MSG_ID.findall(value)]
    seen: set[str] = set()
    unique: list[str] = []
    for mid in ids:
        if mid not in seen:
            seen.add(mid)
            unique.append(mid)
    if len(unique) > limit:
        unique = [unique[0], *unique[-(limit - 1) :]]
    return tuple(unique)


def parse_date(value: str | None) -> datetime | None:
    """The Date header as naive UTC (the core's convention), or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(unfold(from_surrogates(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    return parsed.replace(tzinfo=None)
