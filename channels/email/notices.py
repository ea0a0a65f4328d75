"""Which status events become a mail to the customer, and with what words (pure).

A chat widget can show "Dana joined" for free; a mail costs the customer's
attention. So only what changes what the customer should do is mailed by
default: a resolved request (with the news that replying reopens it), which
is what helpdesks have taught people to expect. "An agent joined" is
silent by default - the agent's reply follows and says more - but can be
turned on. A resolution the customer made themselves (they told the bot
"yes, that helped" and got its "glad I could help" reply) is not mailed
again.

Texts are configurable per mailbox, with two placeholders: ``{agent}`` and
``{brand}``. Anything else in braces is refused at start-up, so a typo does
not reach customers as a literal "{agnet}".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contactcenter.config import ConfigError

DEFAULT_RESOLVED_TEXT = (
    "Your request has been resolved.\n\n"
    "If anything is still not right, just reply to this email and your request "
    "will be reopened."
)
DEFAULT_AGENT_JOINED_TEXT = "{agent} from {brand} is now looking after your request."

PLACEHOLDERS = ("agent", "brand")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_TEXT_CHARS = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One status mail to send: what the composer needs, nothing from the database."""

    delivery_id: int
    conversation_id: int
    recipient: str
    text: str
    subject: str | None
    # The conversation's mail ids on this channel, oldest first; the last is answered.
    thread_message_ids: tuple[str, ...] = ()


def check_template(key: str, template: str) -> str:
    """The template if every ``{...}`` in it is a known placeholder; ConfigError otherwise."""
    text = template.replace("\r\n", "\n").strip()
    if not text:
        raise ConfigError(f"email.{key}: must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"email.{key}: longer than {MAX_TEXT_CHARS} characters")
    unknown = sorted({m for m in _PLACEHOLDER.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        found = ", ".join("{" + u + "}" for u in unknown)
        raise ConfigError(f"email.{key}: unknown placeholder(s) {found}; use {known}")
    return text


def render(template: str, *, agent: str | None, brand: str | None) -> str:
    """Fill the placeholders; names come from people, so they are one clean line each."""
    values = {
        "agent": _one_line(agent) or "Someone",
        "brand": _one_line(brand) or "our support team",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())[:80]


def notice_text(
    kind: str,
    payload: Mapping[str, Any],
    *,
    brand: str | None,
    notify_resolved: bool,
    resolved_text: str,
    notify_agent_joined: bool,
    agent_joined_text: str,
) -> str | None:
    """The body of the mail for one status event, or None when it sends no mail."""
    if kind == "resolved":
        if not notify_resolved or payload.get("by") == "bot":
            return None
        return render(resolved_text, agent=None, brand=brand)
    if kind == "agent_joined":
        if not notify_agent_joined:
            return None
        name = payload.get("agent_name")
        return render(agent_joined_text, agent=str(name) if name else None, brand=brand)
    return None


def skip_reason(
    recipient: str,
    *,
    robot_address: bool,
    inbound_no_reply: Sequence[bool],
    joining_agent: str | None = None,
    agents_who_wrote: Collection[str] = (),
) -> str | None:
    """Why no notice may (or need) go to this conversation's customer, or None.

    ``inbound_no_reply`` holds the "never answer" verdict of each mail the
    customer sent in the conversation. A conversation that consists only of
    auto-replies, bounces and list mail has no person to tell; mailing it is
    how loops start. "Dana joined" after Dana's own reply (an agent who answers
    an unassigned conversation takes it) tells the customer nothing new.
    """
    if not recipient or "@" not in recipient:
        return "no usable address"
    if robot_address:
        return "the address only sends automated mail"
    if inbound_no_reply and all(inbound_no_reply):
        return "every mail from this address in the conversation was automated"
    if joining_agent is not None and joining_agent in agents_who_wrote:
        return "the agent has already written to the customer"
    return None
