"""Slack payloads for tests, each starting from a real one in ``tests/fixtures/slack``.

Only ids, channels, texts and timestamps are changed, so the shape the desk
parses is Slack's own (see ``tests/fixtures/slack/SOURCE.md``).
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakeslack.server import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
_ts = itertools.count(1)


def fixture(name: str) -> Any:
    """A fixture file: parsed JSON, or the raw text of a form-encoded body."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text.strip()


def new_ts() -> str:
    """A Slack ts: seconds and a unique 6-digit suffix."""
    return f"{int(time.time())}.{900000 + next(_ts):06d}"


def _envelope(event: dict[str, Any], base: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    body = copy.deepcopy(base)
    body.update(
        team_id=TEAM_ID,
        api_app_id=APP_ID,
        event=event,
        event_id=event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        event_time=int(time.time()),
    )
    body.pop("enterprise_id", None)
    return body


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    thread_ts: str | None = None,
    ts: str | None = None,
    event_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A human's message (``message.channels``), in a thread when ``thread_ts`` is set."""
    base = fixture("message.json")
    event = base["event"]
    ts = ts or new_ts()
    event.update(
        user=user,
        text=text,
        channel=channel,
        ts=ts,
        event_ts=ts,
        team=TEAM_ID,
        client_msg_id=str(uuid.uuid4()),
        blocks=[
            {
                "type": "rich_text",
                "block_id": "x1",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
    )
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT_USER_ID
    if files is not None:
        fs = fixture("message_file_share.json")["event"]
        event["subtype"] = "file_share"
        event["files"] = files or fs.get("files", [])
    return _envelope(event, base, event_id)


def bot_message_event(
    channel: str, text: str, *, thread_ts: str | None = None, ours: bool = True
) -> dict[str, Any]:
    """A bot's message: ours (BOT_ID) or another app's (from the real other-app payload)."""
    base = fixture("bot_message_other_app.json")
    event = base["event"]
    ts = new_ts()
    event.update(channel=channel, text=text, ts=ts, event_ts=ts)
    if ours:
        event.update(bot_id=BOT_ID, user=BOT_USER_ID)
        event["bot_profile"].update(id=BOT_ID, app_id=APP_ID)
    event["blocks"] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "cc_claim",
                    "text": {"type": "plain_text", "text": "x"},
                    "value": "1",
                }
            ],
        },
    ]
    if thread_ts:
        event["thread_ts"] = thread_ts
    return _envelope(event, base, None)


def message_changed_event(
    channel: str, user: str, ts: str, old: str, new: str, *, thread_ts: str | None
) -> dict[str, Any]:
    base = fixture("message_changed.json")
    event = base["event"]
    now = new_ts()
    event.update(channel=channel, ts=now, event_ts=now)
    event["message"].update(user=user, text=new, ts=ts, edited={"user": user, "ts": now})
    event["previous_message"].update(user=user, text=old, ts=ts)
    if thread_ts:
        event["message"]["thread_ts"] = thread_ts
        event["previous_message"]["thread_ts"] = thread_ts
    return _envelope(event, base, None)


def message_deleted_event(
    channel: str, user: str, ts: str, old: str, *, thread_ts: str | None
) -> dict[str, Any]:
    base = fixture("message_deleted.json")
    event = base["event"]
    now = new_ts()
    event.update(channel=channel, deleted_ts=ts, ts=now, event_ts=now)
    event["previous_message"].update(user=user, text=old, ts=ts)
    if thread_ts:
        event["previous_message"]["thread_ts"] = thread_ts
    return _envelope(event, base, None)


def block_actions(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    *,
    value: str | None = None,
    selected_user: str | None = None,
    selected_option: str | None = None,
    block_id: str = "b",
    ephemeral: bool = False,
) -> dict[str, Any]:
    """A click on a button or a menu choice in one of our messages."""
    body: dict[str, Any] = fixture("block_actions.json")
    body["user"].update(id=user, team_id=TEAM_ID)
    body["team"] = {"id": TEAM_ID, "domain": "fake-team"}
    body["api_app_id"] = APP_ID
    body["container"] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    body["channel"] = {"id": channel, "name": "support-queue"}
    body["trigger_id"] = f"{int(time.time())}.{uuid.uuid4().int % 10**10}.abc"
    action = body["actions"][0]
    action.update(action_id=action_id, block_id=block_id, action_ts=new_ts())
    action.pop("value", None)
    if value is not None:
        action["value"] = value
    if selected_user is not None:
        action.update(type="users_select", selected_user=selected_user)
    if selected_option is not None:
        action.update(
            type="static_select",
            selected_option={
                "text": {"type": "plain_text", "text": selected_option},
                "value": selected_option,
            },
        )
    return body


def message_shortcut(
    user: str, channel: str, callback_id: str, message: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = fixture("message_action.json")
    body["user"]["id"] = user
    body["team"] = {"id": TEAM_ID, "domain": "fake-team"}
    body["channel"] = {"id": channel, "name": "support-queue"}
    body["callback_id"] = callback_id
    body["message"] = message
    body["message_ts"] = message.get("ts")
    return body


def note_submission(
    user: str, conversation_id: int, text: str, view_id: str = "V0NOTE1"
) -> dict[str, Any]:
    body: dict[str, Any] = fixture("view_submission.json")
    body["user"].update(id=user, team_id=TEAM_ID)
    body["team"] = {"id": TEAM_ID, "domain": "fake-team"}
    view = body["view"]
    view.update(id=view_id, callback_id="cc_note_modal", private_metadata=str(conversation_id))
    view["state"] = {"values": {"note": {"text": {"type": "plain_text_input", "value": text}}}}
    return body


def slash_command(user: str, channel: str, text: str, command: str = "/cc") -> dict[str, str]:
    """A slash command's fields, as in the real form-encoded body."""
    fields = dict(parse_qsl(fixture("slash_command_form.txt")))
    fields.update(command=command, text=text, user_id=user, channel_id=channel, team_id=TEAM_ID)
    fields.pop("enterprise_id", None)
    fields.pop("enterprise_name", None)
    return fields


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def interactive_body(payload: dict[str, Any]) -> bytes:
    """Interactivity is POSTed as a form with one ``payload`` field holding JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


# Readable JSON that makes slack-bolt itself raise (each one replayed against Bolt in
# test_slack_pure): the desk's transports must acknowledge and ignore them.
BOLT_CRASHERS: list[dict[str, Any]] = [
    {"type": "event_callback", "event": []},
    {"type": "event_callback", "event": "x"},
    {"type": "event_callback", "event": {"type": "message", "user": 5}},
    {"type": "event_callback", "event": {"type": "message", "channel": 5}},
    {"type": "event_callback", "team": 5, "event": {"type": "message"}},
    {"type": "event_callback", "enterprise": 5},
    {"type": "event_callback", "authorizations": {"team_id": "T1"}},
    {"type": "event_callback", "response_urls": [1]},
    {"type": "block_actions", "user": {"id": "U1"}, "actions": []},
    {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": "1"}]},
    {"type": "block_actions", "user": {"id": "U1"}, "actions": "cc_claim"},
    {"type": "message_action", "user": {"id": "U1"}, "callback_id": 7},
    {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "cc_note_modal"}},
]
