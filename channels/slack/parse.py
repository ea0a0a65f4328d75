"""Raw Slack requests -> typed desk inputs. Pure: no I/O, no clock.

Bolt routes a request to the listener of its kind; every listener ends here, so
there is one place that decides what a payload means and what is ignored (other
apps' bots, our own posts, unknown event types, malformed bodies) and why. The
HTTP view also decodes bodies here first (``decode_http``), and both transports
keep payloads Bolt itself cannot read away from it (``malformed``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from channels.slack.blocks import ACTION_NOTE, ACTION_RESOLVE, NOTE_MODAL, OUR_ACTIONS

# What a request is, independent of the transport.
EVENTS = "events_api"
INTERACTIVE = "interactive"
COMMAND = "slash_commands"


class PayloadError(ValueError):
    """The body is not a Slack payload we can read (400, or a logged envelope)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One request from Slack, with what dedupe needs."""

    kind: str  # EVENTS | INTERACTIVE | COMMAND
    body: Mapping[str, Any]
    retry_num: int = 0
    retry_reason: str | None = None

    @property
    def event_id(self) -> str | None:
        value = self.body.get("event_id") if self.kind == EVENTS else None
        return value if isinstance(value, str) and value else None


# --- what the desk acts on -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrlVerification:
    challenge: str


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadMessage:
    """A human's message in a channel (the desk checks it is in a conversation's thread)."""

    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None
    team: str | None = None
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited:
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    old_text: str
    new_text: str
    edited_ts: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted:
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    old_text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionPressed:
    action_id: str
    value: str | None
    user: str
    team: str | None
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    trigger_id: str | None
    action_ts: str
    block_id: str | None = None
    selected_user: str | None = None
    selected_option: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SlashCommand:
    command: str
    text: str
    user: str
    team: str | None
    channel: str
    trigger_id: str | None
    thread_ts: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteSubmitted:
    conversation_id: int
    user: str
    team: str | None
    text: str
    view_id: str


Input = (
    UrlVerification
    | Ignored
    | ThreadMessage
    | MessageEdited
    | MessageDeleted
    | ActionPressed
    | SlashCommand
    | NoteSubmitted
)


@dataclass(frozen=True, slots=True)
class Self:
    """Who we are in Slack, to ignore our own posts (from ``auth.test``)."""

    bot_user_id: str | None = None
    bot_id: str | None = None
    extra_bot_ids: frozenset[str] = field(default_factory=frozenset)


# --- decoding the HTTP body -------------------------------------------------------


def decode_http(body: bytes, content_type: str) -> Envelope:
    """The body Slack POSTs: JSON (events), ``payload=<json>`` form (interactivity) or
    form fields (slash commands)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json" or (
        ctype != "application/x-www-form-urlencoded" and text.lstrip().startswith("{")
    ):
        data = _json_object(text)
        return Envelope(EVENTS, data)
    form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    if "payload" in form:
        return Envelope(INTERACTIVE, _json_object(form["payload"]))
    if "command" in form:
        return Envelope(COMMAND, form)
    raise PayloadError("form body has neither payload nor command")


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("JSON body is not an object")
    return data


def retry_of(headers: Mapping[str, Sequence[str]]) -> tuple[int, str | None]:
    """Slack's redelivery number and reason from Bolt's normalised headers.

    HTTP carries ``X-Slack-Retry-Num``; Bolt's Socket Mode adapter turns an
    envelope's ``retry_attempt`` into the same header, and a first delivery
    says 0 there, so only a number above 0 is a retry."""
    num = (headers.get("x-slack-retry-num") or ["0"])[0]
    reason = (headers.get("x-slack-retry-reason") or [""])[0] or None
    try:
        return max(int(num), 0), reason
    except ValueError:
        return 0, reason


# Fields Bolt's request parsing and listener matching dereference without checking
# their type (``.get``, ``in``, indexing). A payload breaking one of them makes Bolt
# raise before any listener runs (Socket Mode: no ack, so Slack resends it in vain;
# HTTP: a 500); the transports catch it first with ``malformed``. Each rule here is
# a crash seen in Bolt (tests/channels/slack/test_slack_pure.py replays them).
_IDS = ("user", "team", "channel", "enterprise")  # an id, or an object with "id"
_LISTS = ("actions", "authorizations", "response_urls")  # lists of objects


def malformed(body: Mapping[str, Any]) -> str | None:
    """Why Bolt could not read this decoded payload, or None when it can."""
    event = body.get("event")
    if event is not None and not isinstance(event, dict):
        return "event is not an object"
    for scope, obj in (("", body), ("event.", event or {})):
        for key in _IDS:
            if obj.get(key) is not None and not isinstance(obj[key], str | dict):
                return f"{scope}{key} is neither an id nor an object"
        for key in _LISTS:
            value = obj.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, dict) for v in value)
            ):
                return f"{scope}{key} is not a list of objects"
    if body.get("callback_id") is not None and not isinstance(body["callback_id"], str):
        return "callback_id is not a string"
    view = body.get("view")
    if isinstance(view, dict) and "callback_id" in view and "type" not in view:
        return "view without type"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not actions or not isinstance(actions[0].get("action_id"), str):
            return "block_actions without an action_id"
    return None


# --- classifying ------------------------------------------------------------------


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def classify(envelope: Envelope, me: Self) -> Input:
    """What this request asks of the desk; :class:`Ignored` says why not."""
    if envelope.kind == EVENTS:
        return _event(envelope.body, me)
    if envelope.kind == INTERACTIVE:
        return _interactive(envelope.body)
    if envelope.kind == COMMAND:
        return _command(envelope.body)
    return Ignored(f"unknown kind {envelope.kind}")


def _is_bot(msg: Mapping[str, Any], me: Self) -> bool:
    """Any bot (ours or another app's): bots never speak to customers through the desk."""
    if msg.get("bot_id") or msg.get("subtype") == "bot_message" or msg.get("bot_profile"):
        return True
    user = msg.get("user")
    return user is not None and user == me.bot_user_id


def _event(body: Mapping[str, Any], me: Self) -> Input:
    kind = body.get("type")
    if kind == "url_verification":
        challenge = _s(body.get("challenge"))
        return (
            UrlVerification(challenge)
            if challenge
            else Ignored("url_verification without challenge")
        )
    if kind == "app_rate_limited":
        return Ignored("app_rate_limited: Slack dropped events for a minute")
    if kind != "event_callback":
        return Ignored(f"unknown payload type {kind!r}")
    event = body.get("event")
    if not isinstance(event, dict):
        return Ignored("event_callback without event")
    if event.get("type") != "message":
        return Ignored(f"event type {event.get('type')!r} is not handled")
    channel = _s(event.get("channel"))
    if channel is None:
        return Ignored("message without channel")
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _changed(event, channel, me)
    if subtype == "message_deleted":
        return _deleted(event, channel, me)
    if subtype not in (None, "thread_broadcast", "file_share"):
        return Ignored(f"message subtype {subtype!r} is not handled")
    if _is_bot(event, me):
        return Ignored("message from a bot")
    user, ts = _s(event.get("user")), _s(event.get("ts"))
    if user is None or ts is None:
        return Ignored("message without user or ts")
    text = event.get("text")
    raw_files = event.get("files")
    files: list[Any] = raw_files if isinstance(raw_files, list) else []
    return ThreadMessage(
        channel=channel,
        user=user,
        text=text if isinstance(text, str) else "",
        ts=ts,
        thread_ts=_s(event.get("thread_ts")),
        team=_s(event.get("team")) or _s(body.get("team_id")),
        files=tuple(str(f.get("name") or "file") for f in files if isinstance(f, dict)),
    )


def _changed(event: Mapping[str, Any], channel: str, me: Self) -> Input:
    new, old = event.get("message"), event.get("previous_message")
    if not isinstance(new, dict) or not isinstance(old, dict):
        return Ignored("message_changed without message/previous_message")
    if _is_bot(new, me) or _is_bot(old, me):
        return Ignored("a bot's message changed")
    edited = new.get("edited")
    # Slack also sends message_changed for unfurls and reply counts; only edits count.
    if not isinstance(edited, dict) or new.get("text") == old.get("text"):
        return Ignored("message_changed that is not an edit")
    user, ts = _s(new.get("user")), _s(new.get("ts")) or _s(old.get("ts"))
    if user is None or ts is None:
        return Ignored("message_changed without user or ts")
    return MessageEdited(
        channel=channel,
        user=user,
        ts=ts,
        thread_ts=_s(new.get("thread_ts")) or _s(old.get("thread_ts")),
        old_text=str(old.get("text") or ""),
        new_text=str(new.get("text") or ""),
        edited_ts=_s(edited.get("ts")) or _s(event.get("ts")) or ts,
    )


def _deleted(event: Mapping[str, Any], channel: str, me: Self) -> Input:
    old = event.get("previous_message")
    if not isinstance(old, dict):
        return Ignored("message_deleted without previous_message")
    if _is_bot(old, me):
        return Ignored("a bot's message was deleted")
    user, ts = _s(old.get("user")), _s(event.get("deleted_ts")) or _s(old.get("ts"))
    if user is None or ts is None:
        return Ignored("message_deleted without user or ts")
    return MessageDeleted(
        channel=channel,
        user=user,
        ts=ts,
        thread_ts=_s(old.get("thread_ts")),
        old_text=str(old.get("text") or ""),
    )


def _interactive(body: Mapping[str, Any]) -> Input:
    kind = body.get("type")
    user_obj = body.get("user")
    user = _s(user_obj.get("id")) if isinstance(user_obj, dict) else None
    team_obj = body.get("team")
    team = _s(team_obj.get("id")) if isinstance(team_obj, dict) else None
    if user is None:
        return Ignored(f"{kind} without user")
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return Ignored("block_actions without actions")
        action = actions[0]
        action_id = _s(action.get("action_id"))
        if action_id not in OUR_ACTIONS:
            return Ignored(f"action {action_id!r} is not ours")
        container = _obj(body.get("container"))
        channel_obj = _obj(body.get("channel"))
        message = _obj(body.get("message"))
        option = action.get("selected_option")
        return ActionPressed(
            action_id=action_id or "",
            value=_s(action.get("value")),
            user=user,
            team=team,
            channel=_s(container.get("channel_id")) or _s(channel_obj.get("id")),
            message_ts=_s(container.get("message_ts")) or _s(message.get("ts")),
            thread_ts=_s(container.get("thread_ts")) or _s(message.get("thread_ts")),
            trigger_id=_s(body.get("trigger_id")),
            action_ts=_s(action.get("action_ts")) or "",
            block_id=_s(action.get("block_id")),
            selected_user=_s(action.get("selected_user")),
            selected_option=_s(option.get("value")) if isinstance(option, dict) else None,
        )
    if kind == "view_submission":
        view = body.get("view")
        if not isinstance(view, dict) or view.get("callback_id") != NOTE_MODAL:
            return Ignored("view_submission of a view that is not ours")
        try:
            conversation_id = int(str(view.get("private_metadata")))
            text = view["state"]["values"]["note"]["text"]["value"]
        except (KeyError, TypeError, ValueError):
            return Ignored("note modal submission without conversation or text")
        return NoteSubmitted(
            conversation_id=conversation_id,
            user=user,
            team=team,
            text=text if isinstance(text, str) else "",
            view_id=_s(view.get("id")) or "",
        )
    if kind == "message_action":
        return _shortcut(body, user, team)
    return Ignored(f"interactive type {kind!r} is not handled")


# Message shortcuts (the "..." menu on a message): slash commands cannot be used in
# threads, so these are how an agent acts on "this thread's conversation".
SHORTCUTS = {"cc_resolve_here": ACTION_RESOLVE, "cc_note_here": ACTION_NOTE}


def _shortcut(body: Mapping[str, Any], user: str, team: str | None) -> Input:
    callback = _s(body.get("callback_id"))
    if callback not in SHORTCUTS:
        return Ignored(f"message shortcut {callback!r} is not ours")
    channel_obj = _obj(body.get("channel"))
    message = _obj(body.get("message"))
    ts = _s(message.get("ts")) or _s(body.get("message_ts"))
    return ActionPressed(
        action_id=SHORTCUTS[callback or ""],
        value=None,
        user=user,
        team=team,
        channel=_s(channel_obj.get("id")),
        message_ts=ts,
        thread_ts=_s(message.get("thread_ts")) or ts,
        trigger_id=_s(body.get("trigger_id")),
        action_ts=_s(body.get("action_ts")) or "",
    )


def _command(body: Mapping[str, Any]) -> Input:
    command, user, channel = (
        _s(body.get("command")),
        _s(body.get("user_id")),
        _s(body.get("channel_id")),
    )
    if command is None or user is None or channel is None:
        return Ignored("slash command without command, user or channel")
    text = body.get("text")
    return SlashCommand(
        command=command,
        text=text if isinstance(text, str) else "",
        user=user,
        team=_s(body.get("team_id")),
        channel=channel,
        trigger_id=_s(body.get("trigger_id")),
        thread_ts=_s(body.get("thread_ts")),
    )
