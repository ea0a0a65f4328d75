"""Slack markup <-> plain text.

Agents type Slack "mrkdwn": ``<@U123>`` mentions, ``<#C1|name>`` channels,
``<http://x|label>`` links, ``&amp;`` entities and ``*bold*``. The customer's
channel (email, web chat) shows plain text, so a reply must never carry that
syntax raw. The other way, customer text shown in Slack is escaped so a
customer cannot ping ``@channel`` or forge a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# <...> spans: mentions, channels, special mentions, links. No nested '<' inside.
_ANGLE = re.compile(r"<([^<>\n]+)>")
_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Formatting pairs: the marker hugs non-space text and is not inside a word.
_STYLES = [
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"),
    re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"),
]
_USER_ID = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")

# Common shortcodes; anything else stays as ":name:", which reads fine as text.
EMOJI = {
    "smile": "\U0001f604",
    "slightly_smiling_face": "\U0001f642",
    "wink": "\U0001f609",
    "+1": "\U0001f44d",
    "thumbsup": "\U0001f44d",
    "-1": "\U0001f44e",
    "pray": "\U0001f64f",
    "tada": "\U0001f389",
    "heart": "\u2764\ufe0f",
    "white_check_mark": "\u2705",
    "warning": "\u26a0\ufe0f",
    "wave": "\U0001f44b",
    "joy": "\U0001f602",
    "sweat_smile": "\U0001f605",
    "thinking_face": "\U0001f914",
    "ok_hand": "\U0001f44c",
    "raised_hands": "\U0001f64c",
    "rocket": "\U0001f680",
}
_EMOJI_RE = re.compile(r":([a-z0-9_+\-]+):")


def mentioned_users(text: str) -> list[str]:
    """User ids mentioned as ``<@U...>``, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _USER_ID.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unescape(text: str) -> str:
    """Slack escapes exactly three characters; ``&amp;`` last so ``&amp;lt;`` stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """Make arbitrary text safe inside a Slack message: no mentions, no links, no tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _angle(inner: str, users: Mapping[str, str]) -> str:
    """One ``<...>`` span as plain text."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        name = users.get(uid) or label or uid
        return "@" + name.lstrip("@")
    if target.startswith("#"):
        return "#" + (label or "channel").lstrip("#")
    if target.startswith("!"):
        special = target[1:]
        if special.startswith("subteam^"):
            return label or "@team"
        if special.startswith("date^"):
            return label or ""
        return "@" + (label or special).lstrip("@")
    if target.startswith("mailto:"):
        address = target[len("mailto:") :]
        return label if label and label != address else address
    url = target
    if label and label != url and label != url.split("://", 1)[-1]:
        return f"{label} ({url})"
    return url


def to_plain(text: str, users: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as the plain text a customer should read.

    ``users`` maps user ids to display names for ``<@U...>`` mentions; an unknown
    id falls back to the label Slack sent or the id itself.
    """
    names = users or {}
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return _PLACEHOLDER.format(len(kept) - 1)

    # Code first: its content is literal (no styles, no emoji), only entities decoded.
    out = _CODE_BLOCK.sub(lambda m: keep(unescape(m.group(1))), text)
    out = _CODE_SPAN.sub(lambda m: keep(unescape(m.group(1))), out)
    # Links and mentions next, so underscores in URLs are not read as italics.
    out = _ANGLE.sub(lambda m: keep(unescape(_angle(m.group(1), names))), out)
    for style in _STYLES:
        out = style.sub(r"\1", out)
    out = _EMOJI_RE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    out = unescape(out)
    out = _PLACEHOLDER_RE.sub(lambda m: kept[int(m.group(1))], out)
    return out.strip()


def strip_prefix(text: str, prefixes: Iterable[str]) -> str | None:
    """The (still Slack-encoded) text after a note prefix, or None without one.

    The prefix must stand alone (followed by a space, a newline, ``:`` or the
    end), so "!notebook" is a reply and "!note: call back" a note. Case and
    leading spaces are ignored. Slack sends ``<``, ``>``, ``&`` as entities, so
    the prefix is compared in that encoding.
    """
    stripped = text.lstrip()
    lowered = stripped.lower()
    for prefix in prefixes:
        p = escape(prefix.lower())
        if not p or not lowered.startswith(p):
            continue
        rest = stripped[len(p) :]
        if not rest:
            return ""
        if rest[0] in " \t\n:" or not (p[-1].isalnum() and rest[0].isalnum()):
            return rest.lstrip(" \t:\n")
    return None
