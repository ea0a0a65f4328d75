"""The slash command's grammar (``/cc search refund``, ``/cc assign @ana #12``). Pure.

Slack does not run slash commands inside threads, so a command names its
conversation as ``#12`` (or ``12``); in a thread, agents use the card's buttons
or the message shortcuts instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONV = re.compile(r"(?:^|\s)#?(\d{1,12})(?=\s|$)")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

USAGE = (
    "*Usage*\n"
    "`{cmd} search [#id] <words>` search the knowledge base (with #id: send an article)\n"
    "`{cmd} mine` your open conversations\n"
    "`{cmd} queue` conversations waiting for an agent\n"
    "`{cmd} resolve #id` resolve a conversation\n"
    "`{cmd} assign @agent #id` assign a conversation to someone\n"
    "In a thread, use the card's buttons or the message shortcuts "
    "(Slack does not run slash commands in threads)."
)


@dataclass(frozen=True, slots=True)
class Command:
    verb: str  # search | mine | queue | resolve | assign | help
    query: str = ""
    conversation_id: int | None = None
    user: str | None = None
    error: str | None = None


def parse_command(text: str) -> Command:
    """Split ``verb args``; a bad command comes back with ``error`` set (shown to the agent)."""
    verb, _, rest = text.strip().partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    if verb in ("", "help", "?"):
        return Command("help")
    if verb in ("mine", "queue"):
        return Command(verb)
    if verb == "search":
        conv = _conversation(rest, leading_only=True)
        query = _CONV.sub(" ", rest, count=1).strip() if conv is not None else rest
        if not query:
            return Command("search", error="What should I search for? `search <words>`")
        return Command("search", query=query[:500], conversation_id=conv)
    if verb == "resolve":
        conv = _conversation(rest)
        if conv is None:
            return Command("resolve", error="Which conversation? `resolve #12`")
        return Command("resolve", conversation_id=conv)
    if verb == "assign":
        users = _USER.findall(rest)
        conv = _conversation(_USER.sub(" ", rest))
        if not users:
            return Command("assign", error="Whom to? `assign @agent #12` (mention the person)")
        if conv is None:
            return Command("assign", error="Which conversation? `assign @agent #12`")
        return Command("assign", conversation_id=conv, user=users[0])
    return Command("help", error=f"Unknown command “{verb[:40]}”.")


def _conversation(text: str, *, leading_only: bool = False) -> int | None:
    match = _CONV.search(text)
    if match is None:
        return None
    if leading_only and (text[: match.start()].strip() or not text.lstrip().startswith("#")):
        return None
    return int(match.group(1))
