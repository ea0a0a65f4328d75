"""Reading aioimaplib's response lines (pure; no sockets).

aioimaplib returns each response as a list of raw lines, with literals (the
message bytes) as separate ``bytearray`` items. Turning those into numbers
and bytes is kept here, apart from the connection handling, so that odd
server answers can be tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]", re.IGNORECASE)
_EXISTS = re.compile(rb"^(\d+) EXISTS", re.IGNORECASE)
_UNTAGGED_EXISTS = re.compile(rb"^\*\s+\d+\s+EXISTS\s*$", re.IGNORECASE)
_SEARCH = re.compile(rb"^(?:SEARCH)?(?:\s+\d+|\d+)*\s*$", re.IGNORECASE)
_FETCH = re.compile(rb"^\d+ FETCH \(", re.IGNORECASE)
_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Line = bytes | bytearray


@dataclass(frozen=True, slots=True)
class SelectInfo:
    uidvalidity: int
    uidnext: int | None
    exists: int


class ImapProtocolError(Exception):
    """The server's answer did not say what we need (no UIDVALIDITY, ...)."""


def select_info(lines: Sequence[Line]) -> SelectInfo:
    uidvalidity = uidnext = None
    exists = 0
    for line in lines:
        if not isinstance(line, bytes):
            continue
        if (m := _UIDVALIDITY.search(line)) is not None:
            uidvalidity = int(m.group(1))
        if (m := _UIDNEXT.search(line)) is not None:
            uidnext = int(m.group(1))
        if (m := _EXISTS.match(line)) is not None:
            exists = int(m.group(1))
    if uidvalidity is None:
        raise ImapProtocolError("SELECT answer has no UIDVALIDITY")
    return SelectInfo(uidvalidity=uidvalidity, uidnext=uidnext, exists=exists)


def announces_new_mail(line: Line) -> bool:
    """Is this untagged line ``* n EXISTS``, the server's news that the mailbox grew?"""
    return isinstance(line, bytes) and _UNTAGGED_EXISTS.match(line) is not None


def search_uids(lines: Sequence[Line]) -> list[int]:
    """The UIDs of a ``UID SEARCH`` answer, ascending and unique."""
    found: set[int] = set()
    for line in lines[:-1] if len(lines) > 1 else lines:
        if isinstance(line, bytes) and _SEARCH.match(line):
            found.update(int(tok) for tok in line.split() if tok.isdigit())
    return sorted(found)


def fetched_body(lines: Sequence[Line], uid: int) -> bytes | None:
    """The literal of ``uid`` in a ``UID FETCH ... BODY.PEEK[]`` answer, if present.

    Servers may interleave unsolicited FETCH lines (flag changes of other
    messages); only the literal whose FETCH names ``uid`` counts. A literal
    whose FETCH line carries no UID (the UID came after the literal) is taken
    when the closing line names it, or when it is the only literal.
    """
    literals: list[tuple[int | None, bytes]] = []
    header: bytes | None = None
    for index, line in enumerate(lines):
        if isinstance(line, bytearray):
            found = _UID.search(header) if header is not None else None
            if found is None and index + 1 < len(lines):
                tail = lines[index + 1]
                found = _UID.search(tail) if isinstance(tail, bytes) else None
            literals.append((int(found.group(1)) if found else None, bytes(line)))
            header = None
        elif _FETCH.match(line):
            header = bytes(line)
    for literal_uid, data in literals:
        if literal_uid == uid:
            return data
    unnamed = [data for literal_uid, data in literals if literal_uid is None]
    return unnamed[0] if len(literals) == 1 and unnamed else None


def imap_date(day: date) -> str:
    """RFC 3501 date for SEARCH SINCE: ``01-Jan-2024`` (English, whatever the locale)."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (aioimaplib sends arguments as given)."""
    if any(c in name for c in "\r\n\x00"):
        raise ValueError(f"unusable folder name: {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
