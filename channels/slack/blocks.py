"""Block Kit for the desk: the conversation card, thread posts, command answers.

Pure functions from core snapshots to Slack JSON, so the limits that make Slack
answer ``invalid_blocks`` (3,000 characters per section, 150 per header, 50
blocks per message, 2,000 per button value) are enforced in one place and
tested without a server. Customer text is always escaped (:func:`markup.escape`):
a customer must not be able to ping ``@channel`` or forge a link in Slack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from channels.slack.markup import escape

Block = dict[str, Any]

ACTION_CLAIM = "cc_claim"
ACTION_RESOLVE = "cc_resolve"
ACTION_REOPEN = "cc_reopen"
ACTION_TRANSFER = "cc_transfer"
ACTION_SNOOZE = "cc_snooze"
ACTION_NOTE = "cc_note"
ACTION_SEND_ARTICLE = "cc_send_article"
OUR_ACTIONS = frozenset(
    {
        ACTION_CLAIM,
        ACTION_RESOLVE,
        ACTION_REOPEN,
        ACTION_TRANSFER,
        ACTION_SNOOZE,
        ACTION_NOTE,
        ACTION_SEND_ARTICLE,
    }
)
NOTE_MODAL = "cc_note_modal"
SNOOZE_HOURS = (1, 4, 24)

SECTION_MAX = 3000
HEADER_MAX = 150
FIELD_MAX = 2000
BUTTON_VALUE_MAX = 2000
BLOCKS_MAX = 50
TEXT_MAX = 40_000  # Slack truncates (or refuses) message text beyond this
CHUNK = 2900  # customer text per section, leaving room for the markup around it
SECTIONS_PER_MESSAGE = 10
FALLBACK_MAX = 300

STATUS_LABELS = {
    "bot": "with the bot",
    "waiting_for_agent": "waiting for an agent",
    "assigned": "assigned",
    "waiting_for_customer": "waiting for the customer",
    "resolved": "resolved",
}
STATUS_EMOJI = {
    "bot": ":robot_face:",
    "waiting_for_agent": ":red_circle:",
    "assigned": ":large_yellow_circle:",
    "waiting_for_customer": ":hourglass_flowing_sand:",
    "resolved": ":white_check_mark:",
}
REASONS = {
    "customer_asked": "the customer asked for a person",
    "answer_not_helpful": "the bot's answer did not help",
    "bot_declined": "the bot had no answer",
    "bot_missed_twice": "the bot's suggestions did not help twice",
}


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """At most ``limit`` characters, marked when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(marker), 0)] + marker


def split_text(text: str, size: int = CHUNK) -> list[str]:
    """Pieces of at most ``size`` characters, cut at a line or word end when possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > size:
        cut = rest.rfind("\n", size // 2, size)
        if cut < 0:
            cut = rest.rfind(" ", size // 2, size)
        if cut < 0:
            cut = size
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ") if cut < size else rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _mrkdwn(text: str, *, verbatim: bool = False) -> Block:
    block: Block = {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}
    if verbatim:
        block["verbatim"] = True
    return block


def _plain(text: str, limit: int = SECTION_MAX) -> Block:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def _section(text: str, *, verbatim: bool = False) -> Block:
    return {"type": "section", "text": _mrkdwn(text, verbatim=verbatim)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _link(url: Any, label: str) -> str:
    """``<url|label>`` when the URL is safe to put in Slack's link syntax, else the label."""
    safe = isinstance(url, str) and url.startswith(("http://", "https://"))
    if safe and not any(c in url for c in "<>| \n\t"):
        return f"<{url}|{escape(label).replace('|', '/')}>"
    return escape(label)


def customer_label(snapshot: Mapping[str, Any]) -> str:
    """The name agents know the customer by: name, else email, else an address."""
    customer = snapshot.get("customer") or {}
    if customer.get("name"):
        return str(customer["name"])
    if customer.get("email"):
        return str(customer["email"])
    for identity in customer.get("identities") or ():
        if identity.get("address"):
            return str(identity["address"])
    return "unknown customer"


def status_label(snapshot: Mapping[str, Any]) -> str:
    status = str(snapshot.get("status") or "")
    label = STATUS_LABELS.get(status, status or "unknown")
    assignee = snapshot.get("assignee") or None
    if status in ("assigned", "waiting_for_customer") and assignee:
        label += f" ({assignee.get('name')})"
    return label


def note_hint(note_prefix: str, channel: str) -> str:
    return (
        f":speech_balloon: Reply in this thread to answer the customer by *{escape(channel)}*. "
        f":lock: Start with `{escape(note_prefix)}` (or use *Add note*) for an internal note, "
        "never sent. Edits and deletions in Slack are not sent to the customer."
    )


def parent_message(
    snapshot: Mapping[str, Any], *, note_prefix: str, reason: str | None = None
) -> tuple[str, list[Block]]:
    """The conversation card posted in the queue channel: (fallback text, blocks)."""
    cid = snapshot.get("conversation_id")
    status = str(snapshot.get("status") or "")
    who = customer_label(snapshot)
    channel = str(snapshot.get("channel") or "?")
    customer = snapshot.get("customer") or {}
    header = f"#{cid} · {who} · {status_label(snapshot)}"
    # The fallback text is mrkdwn (and drives notifications): escaped like the rest.
    fallback = escape(
        truncate(f"Conversation #{cid} with {who}: {status_label(snapshot)}", FALLBACK_MAX)
    )

    identities = [
        f"{escape(str(i.get('channel')))}: {escape(str(i.get('address')))}"
        + (" :heavy_check_mark:" if i.get("verified") else "")
        for i in customer.get("identities") or ()
    ]
    assignee = snapshot.get("assignee") or None
    fields = [
        (
            "Customer",
            escape(who)
            + (
                f"\n{escape(customer['email'])}"
                if customer.get("email") and customer.get("email") != who
                else ""
            ),
        ),
        ("Channel", escape(channel)),
        ("Subject", escape(str(snapshot.get("subject") or "—"))),
        ("Status", f"{STATUS_EMOJI.get(status, '')} {escape(status_label(snapshot))}".strip()),
        ("Assignee", escape(str(assignee.get("name"))) if assignee else "nobody yet"),
        ("Identities", "\n".join(identities[:10]) or "—"),
    ]
    tags = snapshot.get("tags") or []
    if tags:
        fields.append(("Tags", escape(", ".join(str(t) for t in tags))))
    blocks: list[Block] = [
        {"type": "header", "text": _plain(header, HEADER_MAX)},
        {
            "type": "section",
            "fields": [_mrkdwn_field(f"*{k}*\n{v}") for k, v in fields[:10]],
        },
    ]
    if reason:
        blocks.append(
            _context(f":rotating_light: Escalated: {escape(REASONS.get(reason, reason))}")
        )

    lines = []
    for m in snapshot.get("messages") or ():
        author = str(m.get("author") or "?").capitalize()
        text = " ".join(str(m.get("text") or "").split())
        lines.append(f">*{escape(author)}:* {escape(truncate(text, 400))}")
    if lines:
        blocks.append(_section(_fit("*Last messages*", lines), verbatim=True))

    suggestions = snapshot.get("suggestions") or []
    if suggestions:
        items = []
        for s in suggestions[:5]:
            score = s.get("score")
            score_txt = f" ({float(score):.2f})" if isinstance(score, int | float) else ""
            items.append(f"• {_link(s.get('url'), str(s.get('title') or 'article'))}{score_txt}")
        blocks.append(_section(_fit("*Knowledge base suggestions*", items)))

    blocks.append(_context(note_hint(note_prefix, channel)))
    blocks.append(action_block(cid, status, assigned=bool(assignee)))
    return fallback, blocks


def _mrkdwn_field(text: str) -> Block:
    return {"type": "mrkdwn", "text": truncate(text, FIELD_MAX)}


def _fit(title: str, lines: Sequence[str], limit: int = SECTION_MAX) -> str:
    """A title and as many lines as fit in one section, with a note of what was left out."""
    out = title
    for n, line in enumerate(lines):
        if len(out) + 1 + len(line) > limit - 40:
            out += f"\n_… {len(lines) - n} more_"
            break
        out += "\n" + line
    return out


def action_block(conversation_id: Any, status: str, *, assigned: bool) -> Block:
    """Claim / Resolve (or Reopen) / Transfer / Snooze / Add note for one conversation."""
    value = str(conversation_id)
    elements: list[Block] = []
    if status != "resolved":
        claim: Block = {
            "type": "button",
            "action_id": ACTION_CLAIM,
            "text": _plain("Claim", 75),
            "value": value,
        }
        if not assigned:
            claim["style"] = "primary"
        elements.append(claim)
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_RESOLVE,
                "text": _plain("Resolve", 75),
                "value": value,
                "confirm": {
                    "title": _plain("Resolve this conversation?", 100),
                    "text": _plain("The customer is told it is resolved.", 300),
                    "confirm": _plain("Resolve", 30),
                    "deny": _plain("Cancel", 30),
                },
            }
        )
        elements.append(
            {
                "type": "users_select",
                "action_id": ACTION_TRANSFER,
                "placeholder": _plain("Transfer to…", 150),
            }
        )
        elements.append(
            {
                "type": "static_select",
                "action_id": ACTION_SNOOZE,
                "placeholder": _plain("Snooze", 150),
                "options": [
                    {"text": _plain(f"{h} h", 75), "value": f"{value}:{h}"} for h in SNOOZE_HOURS
                ],
            }
        )
    else:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_REOPEN,
                "text": _plain("Reopen", 75),
                "value": value,
            }
        )
    elements.append(
        {"type": "button", "action_id": ACTION_NOTE, "text": _plain("Add note", 75), "value": value}
    )
    return {"type": "actions", "block_id": f"cc_actions:{value}", "elements": elements}


def customer_posts(
    who: str, text: str, *, attachments: Sequence[Mapping[str, Any]] = (), reopened: bool = False
) -> list[tuple[str, list[Block]]]:
    """A customer message as one or more thread posts: (fallback text, blocks) each.

    Long messages are split in sections of :data:`CHUNK` characters and in
    several posts of :data:`SECTIONS_PER_MESSAGE` sections, so nothing is lost to
    Slack's limits; the last post lists attachments (files are not copied).
    """
    heading = f":bust_in_silhouette: *{escape(who)}* wrote"
    if reopened:
        heading += " _(the conversation was reopened)_"
    chunks = split_text(text or "(empty message)")
    posts: list[tuple[str, list[Block]]] = []
    for start in range(0, len(chunks), SECTIONS_PER_MESSAGE):
        part = chunks[start : start + SECTIONS_PER_MESSAGE]
        blocks: list[Block] = []
        if start == 0:
            blocks.append(_context(heading))
        else:
            blocks.append(_context(f"{heading} (continued)"))
        blocks += [_section(escape(c), verbatim=True) for c in part]
        fallback = truncate(f"{who}: {' '.join(part[0].split())}", FALLBACK_MAX)
        posts.append((escape(fallback), blocks))
    if attachments:
        names = ", ".join(escape(str(a.get("filename") or "file")) for a in attachments[:20])
        posts[-1][1].append(_context(f":paperclip: Attachments: {names}"))
    return posts


def agent_post(
    agent_name: str | None, text: str, *, internal: bool, via: str | None
) -> list[tuple[str, list[Block]]]:
    """An agent's reply or note made elsewhere (the API), mirrored into the thread."""
    who = escape(agent_name or "An agent")
    where = f" via {escape(via)}" if via else ""
    heading = (
        f":lock: Internal note by *{who}*{where}"
        if internal
        else f":outbox_tray: *{who}* replied{where}"
    )
    posts: list[tuple[str, list[Block]]] = []
    chunks = split_text(text or "")
    for start in range(0, len(chunks), SECTIONS_PER_MESSAGE):
        part = chunks[start : start + SECTIONS_PER_MESSAGE]
        blocks = [_context(heading)] + [_section(escape(c), verbatim=True) for c in part]
        posts.append(
            (escape(truncate(f"{agent_name or 'agent'}: {part[0]}", FALLBACK_MAX)), blocks)
        )
    return posts


def notice(text: str) -> tuple[str, list[Block]]:
    """A one-line thread notice (status change, warning); ``text`` is mrkdwn already."""
    return truncate(text, FALLBACK_MAX), [_context(text)]


def search_results(
    query: str,
    suggestions: Sequence[Mapping[str, Any]],
    *,
    conversation_id: int | None,
    answer: str | None = None,
) -> tuple[str, list[Block]]:
    """Ephemeral KB results, each with a button that sends it to the customer."""
    if not suggestions and not answer:
        return f"No articles found for “{escape(truncate(query, 200))}”.", [
            _section(f"No articles found for “{escape(truncate(query, 200))}”.")
        ]
    blocks: list[Block] = [_context(f"Knowledge base results for “{escape(truncate(query, 200))}”")]
    for s in suggestions[:10]:
        title = str(s.get("title") or "article")
        snippet = " ".join(str(s.get("snippet") or "").split())
        text = f"*{_link(s.get('url'), title)}*"
        if snippet:
            text += "\n" + escape(truncate(snippet, 500))
        block = _section(text)
        if conversation_id is not None:
            block["accessory"] = {
                "type": "button",
                "action_id": ACTION_SEND_ARTICLE,
                "text": _plain("Send to customer", 75),
                "value": article_value(conversation_id, title, s.get("url"), snippet),
            }
        blocks.append(block)
    if conversation_id is None:
        blocks.append(
            _context("Add the conversation number (`search #12 refund`) to send an article.")
        )
    return f"{len(suggestions)} articles for “{escape(truncate(query, 200))}”", blocks[:BLOCKS_MAX]


def article_value(conversation_id: int, title: str, url: Any, snippet: str) -> str:
    """The button value for "send this article": JSON within Slack's 2,000 characters."""
    data: dict[str, Any] = {"c": conversation_id, "t": truncate(title, 300)}
    if isinstance(url, str) and url:
        data["u"] = truncate(url, 1000)
    else:
        data["s"] = ""
    value = json.dumps(data, ensure_ascii=False)
    if "s" in data:
        room = BUTTON_VALUE_MAX - len(value) - 10
        data["s"] = truncate(snippet, max(room, 0))
        value = json.dumps(data, ensure_ascii=False)
    return value


def conversation_list(title: str, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Block]]:
    """``mine`` / ``queue``: one line per conversation, linking to its thread."""
    if not rows:
        return f"{title}: none", [_section(f"*{escape(title)}*: none")]
    lines = []
    for r in rows:
        line = (
            f"*#{r['id']}* · {escape(str(r.get('customer') or '?'))} · "
            f"{escape(STATUS_LABELS.get(str(r.get('status')), str(r.get('status'))))}"
        )
        if r.get("subject"):
            line += f" · {escape(truncate(str(r['subject']), 80))}"
        if r.get("link"):
            line += f" · <{r['link']}|thread>"
        lines.append(line)
    return f"{title}: {len(rows)}", [_section(_fit(f"*{escape(title)}*", lines))]


def note_modal(conversation_id: int) -> Block:
    """The "Add note" modal: typing a note here can never reach the customer."""
    return {
        "type": "modal",
        "callback_id": NOTE_MODAL,
        "private_metadata": str(conversation_id),
        "title": _plain(f"Note on #{conversation_id}", 24),
        "submit": _plain("Save note", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": _plain("Internal note (never sent to the customer)", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 3000,
                },
            }
        ],
    }


def thread_link(channel: str, ts: str) -> str:
    """A link that opens the thread (Slack redirects it to the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
