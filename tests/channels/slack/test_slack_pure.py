"""The desk's pure parts on fixture payloads: markup, blocks, parsing, signing, commands,
configuration. No network, no database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import signature as slack_signature

from channels.slack import blocks
from channels.slack.commands import parse_command
from channels.slack.config import load_config
from channels.slack.markup import escape, mentioned_users, strip_prefix, to_plain
from channels.slack.parse import (
    COMMAND,
    EVENTS,
    INTERACTIVE,
    ActionPressed,
    Envelope,
    Ignored,
    MessageDeleted,
    MessageEdited,
    PayloadError,
    Self,
    SlashCommand,
    ThreadMessage,
    UrlVerification,
    classify,
    decode_http,
    malformed,
    retry_of,
)
from channels.slack.signature import Refusal, explain, precheck
from contactcenter.config import ConfigError
from tests.fakeslack import payloads as p
from tests.fakeslack.server import BOT_ID, BOT_USER_ID, _check_content, sign

ME = Self(bot_user_id=BOT_USER_ID, bot_id=BOT_ID)


# --- markup ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Hi <@U123>!", "Hi @Ana!"),
        ("Hi <@U999|bob>", "Hi @bob"),
        ("Hi <@U777>", "Hi @U777"),
        ("see <#C1|general>", "see #general"),
        ("see <#C1>", "see #channel"),
        ("<http://x.example/a_b_c|the docs>", "the docs (http://x.example/a_b_c)"),
        ("<https://y.example>", "https://y.example"),
        ("<https://y.example|y.example>", "https://y.example"),
        ("<mailto:a@b.example|a@b.example>", "a@b.example"),
        ("&amp; &lt;tag&gt; &amp;lt;", "& <tag> &lt;"),
        ("*bold* _italic_ ~strike~", "bold italic strike"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("`*not bold*` and ```\ncode &lt;x&gt;\n```", "*not bold* and code <x>"),
        ("<!here> <!channel> <!subteam^S1|@devs>", "@here @channel @devs"),
        ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
        ("thanks :pray: :unknown_emoji:", "thanks \U0001f64f :unknown_emoji:"),
        ("> quoted\n• item", "quoted\n• item"),
    ],
)
def test_slack_markup_becomes_plain_text(slack: str, plain: str) -> None:
    got = to_plain(slack, {"U123": "Ana"})
    if slack.startswith("> "):
        assert got == "> quoted\n• item"  # quotes stay readable as text
    else:
        assert got == plain


def test_customer_text_cannot_ping_or_link_in_slack() -> None:
    assert escape("<!channel> <@U1> <http://evil|bank> & co") == (
        "&lt;!channel&gt; &lt;@U1&gt; &lt;http://evil|bank&gt; &amp; co"
    )
    assert mentioned_users("<@U1> <@W2|x> <@U1>") == ["U1", "W2"]


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("!note call back", "call back"),
        ("  !NOTE: call back", "call back"),
        ("!note\nmulti\nline", "multi\nline"),
        ("!note", ""),
        ("!notebook arrived", None),
        ("please !note this", None),
        ("// a note", None),
    ],
)
def test_note_prefix(text: str, body: str | None) -> None:
    assert strip_prefix(text, ["!note"]) == body


def test_note_prefixes_are_configurable_and_slack_encoded() -> None:
    assert strip_prefix("// internal", ["!note", "//"]) == "internal"
    assert strip_prefix("&gt;&gt; x", [">>"]) == "x"


# --- blocks ---------------------------------------------------------------------


def _snapshot(**over: Any) -> dict[str, Any]:
    snap: dict[str, Any] = {
        "conversation_id": 7,
        "status": "waiting_for_agent",
        "channel": "email",
        "subject": "Refund <please>",
        "priority": "normal",
        "tags": ["billing"],
        "assignee": None,
        "customer": {
            "id": 1,
            "name": "Carla <!channel>",
            "email": "carla@example.org",
            "identities": [{"channel": "email", "address": "carla@example.org", "verified": True}],
        },
        "messages": [
            {
                "id": 1,
                "author": "customer",
                "text": "Where is my <@U1> refund?",
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        ],
        "suggestions": [
            {
                "article_id": "1",
                "title": "Refunds",
                "score": 0.7,
                "url": "https://help.example/r",
                "snippet": None,
            }
        ],
    }
    snap.update(over)
    return snap


def test_card_has_everything_and_escapes_customer_text() -> None:
    fallback, card = blocks.parent_message(_snapshot(), note_prefix="!note", reason="bot_declined")
    text = json.dumps(card)
    # Only the header is plain_text (shown literally by Slack); all mrkdwn is escaped.
    assert card[0]["type"] == "header" and card[0]["text"]["type"] == "plain_text"
    assert "Carla &lt;!channel&gt;" in text and "<!channel>" not in json.dumps(card[1:])
    assert "<!channel>" not in fallback
    assert "&lt;@U1&gt;" in text
    assert "<https://help.example/r|Refunds>" in text
    assert "the bot had no answer" in text and "`!note`" in text
    assert _check_content({"text": fallback, "blocks": card}) is None


def test_card_survives_huge_and_hostile_values() -> None:
    huge = "x" * 50_000
    snap = _snapshot(
        subject=huge,
        tags=[huge] * 60,
        customer={
            "name": huge,
            "email": None,
            "identities": [{"channel": "api", "address": huge}] * 40,
        },
        messages=[{"author": "customer", "text": huge}] * 30,
        suggestions=[{"title": huge, "url": "javascript:alert(1)", "score": "high"}] * 9,
    )
    fallback, card = blocks.parent_message(snap, note_prefix="!note")
    assert _check_content({"text": fallback, "blocks": card}) is None
    assert "javascript:" not in json.dumps(card)
    resolved = blocks.parent_message(_snapshot(status="resolved"), note_prefix="!note")[1]
    ids = [e["action_id"] for b in resolved if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["cc_reopen", "cc_note"]


def test_a_huge_customer_message_is_split_not_lost() -> None:
    text = ("word " * 30_000).strip()  # 150k characters
    posts = blocks.customer_posts("Carla", text, attachments=[{"filename": "a.pdf"}])
    assert len(posts) > 1
    for fallback, body in posts:
        assert _check_content({"text": fallback, "blocks": body}) is None
    sent = "".join(b["text"]["text"] for _, body in posts for b in body if b["type"] == "section")
    assert sent.replace(" ", "") == text.replace(" ", "")
    assert "a.pdf" in json.dumps(posts[-1][1])


def test_split_text_prefers_line_ends() -> None:
    assert blocks.split_text("aaa\nbbb", 5) == ["aaa", "bbb"]
    assert blocks.split_text("", 5) == [""]
    assert all(len(x) <= 10 for x in blocks.split_text("y" * 95, 10))


def test_search_results_button_values_fit() -> None:
    sugg = [{"title": "t" * 5000, "url": None, "snippet": "s" * 5000}] * 12
    fallback, body = blocks.search_results("q", sugg, conversation_id=3)
    assert _check_content({"text": fallback, "blocks": body}) is None
    value = json.loads(body[1]["accessory"]["value"])
    assert value["c"] == 3


# --- parsing --------------------------------------------------------------------


def test_decoding_the_three_http_encodings() -> None:
    events = decode_http(json.dumps(p.fixture("message.json")).encode(), "application/json")
    assert events.kind == EVENTS and events.event_id == "Ev111"
    interactive = decode_http(
        p.interactive_body(p.fixture("block_actions.json")), "application/x-www-form-urlencoded"
    )
    assert interactive.kind == INTERACTIVE
    command = decode_http(
        p.fixture("slash_command_form.txt").encode(),
        "application/x-www-form-urlencoded; charset=utf-8",
    )
    assert command.kind == COMMAND and command.body["command"] == "/hello-world"
    with pytest.raises(PayloadError):
        decode_http(b"", "application/x-www-form-urlencoded")


def test_bolt_parses_a_command_mentioning_payload_wrong_and_we_do_not() -> None:
    # Why the HTTP view hands Bolt its own decoding (see channels/slack/http_events.py).
    from slack_bolt.request.async_request import AsyncBoltRequest

    form = p.form_body(p.slash_command("U1", "C1", "search payload limits"))
    ctype = "application/x-www-form-urlencoded"
    assert AsyncBoltRequest(body=form.decode(), headers={"content-type": ctype}).body == {}
    assert decode_http(form, ctype).body["text"] == "search payload limits"


async def _bolt_status(body: dict[str, Any]) -> int | None:
    """Bolt's answer to ``body`` with the desk's app options (offline authorization and
    stand-in listeners), None when Bolt raises."""
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_bolt.request.async_request import AsyncBoltRequest

    from channels.slack import bolt_app

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_user_id="UB", bot_id="B")

    app = AsyncApp(
        authorize=authorize,
        request_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=True,
    )

    async def listener(ack: Any) -> None:
        await ack()

    app.event("message")(listener)
    app.action(bolt_app._exactly(blocks.OUR_ACTIONS))(listener)
    app.message_shortcut(bolt_app._exactly(["cc_resolve_here", "cc_note_here"]))(listener)
    app.view_submission(blocks.NOTE_MODAL)(listener)
    app.command("/cc")(listener)
    app.error(bolt_app._on_error)
    try:
        response = await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
    except Exception:
        return None
    return response.status


@pytest.mark.parametrize("body", p.BOLT_CRASHERS)
async def test_payloads_bolt_cannot_read_are_caught_first(body: dict[str, Any]) -> None:
    assert malformed(body)
    assert await _bolt_status(body) in (None, 500)  # what would happen without the check


async def test_real_payloads_are_readable_by_bolt() -> None:
    for name in (
        "message.json",
        "message_changed.json",
        "message_deleted.json",
        "block_actions.json",
        "view_submission.json",
        "message_action.json",
        "slash_command.json",
        "url_verification.json",
        "reaction_added.json",
        "app_mention.json",
    ):
        assert malformed(p.fixture(name)) is None, name
        assert await _bolt_status(p.fixture(name)) == 200, name
    ours = p.block_actions("U1", "C1", "1.000001", "cc_claim", value="7")
    assert malformed(ours) is None and await _bolt_status(ours) == 200


def test_real_payloads_classify() -> None:
    assert isinstance(
        classify(Envelope(EVENTS, p.fixture("url_verification.json")), ME), UrlVerification
    )
    msg = classify(Envelope(EVENTS, p.fixture("message.json")), ME)
    assert isinstance(msg, ThreadMessage) and msg.text == "Hello World!"
    broadcast = classify(Envelope(EVENTS, p.fixture("message_thread_broadcast.json")), ME)
    assert isinstance(broadcast, ThreadMessage) and broadcast.thread_ts == "1633663824.000500"
    shared = classify(Envelope(EVENTS, p.fixture("message_file_share.json")), ME)
    assert isinstance(shared, ThreadMessage) and shared.files
    edited = classify(Envelope(EVENTS, p.fixture("message_changed.json")), ME)
    assert isinstance(edited, MessageEdited) and edited.new_text == "updated message"
    deleted = classify(Envelope(EVENTS, p.fixture("message_deleted.json")), ME)
    assert isinstance(deleted, MessageDeleted) and deleted.old_text == "Delete this message"
    command = classify(Envelope(COMMAND, p.fixture("slash_command.json")), ME)
    assert isinstance(command, SlashCommand) and command.text == "title"


@pytest.mark.parametrize(
    "name",
    [
        "bot_message_other_app.json",
        "bot_message_classic.json",
        "reaction_added.json",
        "app_mention.json",
    ],
)
def test_bots_and_other_events_are_ignored(name: str) -> None:
    assert isinstance(classify(Envelope(EVENTS, p.fixture(name)), ME), Ignored)


def test_our_own_messages_and_foreign_buttons_are_ignored() -> None:
    ours = p.bot_message_event("C1", "card", thread_ts="1.2")
    assert isinstance(classify(Envelope(EVENTS, ours), ME), Ignored)
    foreign = p.fixture("block_actions.json")  # action_id "a"
    assert isinstance(classify(Envelope(INTERACTIVE, foreign), ME), Ignored)
    other_view = p.fixture("view_submission.json")
    assert isinstance(classify(Envelope(INTERACTIVE, other_view), ME), Ignored)
    other_shortcut = p.fixture("message_action.json")
    assert isinstance(classify(Envelope(INTERACTIVE, other_shortcut), ME), Ignored)


def test_not_an_edit_and_malformed_events_are_ignored() -> None:
    unfurl = p.fixture("message_changed.json")
    del unfurl["event"]["message"]["edited"]
    assert isinstance(classify(Envelope(EVENTS, unfurl), ME), Ignored)
    for bad in (
        {"type": "event_callback"},
        {"type": "event_callback", "event": {"type": "message"}},
        {"type": "event_callback", "event": {"type": "message", "channel": "C1"}},
        {
            "type": "event_callback",
            "event": {"type": "message", "channel": "C1", "subtype": "channel_join", "user": "U1"},
        },
        {"type": "something_else"},
        {"type": "url_verification"},
    ):
        assert isinstance(classify(Envelope(EVENTS, bad), ME), Ignored)
    for bad_i in (
        {"type": "block_actions"},
        {"type": "block_actions", "user": {"id": "U1"}},
        {"type": "block_actions", "user": {"id": "U1"}, "actions": ["x"]},
    ):
        assert isinstance(classify(Envelope(INTERACTIVE, bad_i), ME), Ignored)
    assert isinstance(classify(Envelope(COMMAND, {"command": "/cc"}), ME), Ignored)


def test_block_action_fields() -> None:
    body = p.block_actions(
        "U1", "C1", "1.000001", "cc_snooze", selected_option="7:4", block_id="cc_actions:7"
    )
    action = classify(Envelope(INTERACTIVE, body), ME)
    assert isinstance(action, ActionPressed)
    assert (action.selected_option, action.block_id, action.channel) == (
        "7:4",
        "cc_actions:7",
        "C1",
    )


def test_retry_number_as_bolt_passes_it_on() -> None:
    from slack_bolt.adapter.socket_mode.internals import build_headers
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_sdk.socket_mode.request import SocketModeRequest

    def socket(retry_attempt: int, reason: str | None) -> tuple[int, str | None]:
        req = SocketModeRequest(
            type="events_api",
            envelope_id="e1",
            payload={},
            retry_attempt=retry_attempt,
            retry_reason=reason,
        )
        bolt = AsyncBoltRequest(body={}, headers=build_headers(req), mode="socket_mode")
        return retry_of(bolt.headers)

    # Socket Mode says 0 on a first delivery: only a number above 0 is a retry.
    assert socket(0, "") == (0, None)
    assert socket(2, "timeout") == (2, "timeout")
    http = AsyncBoltRequest(
        body="{}", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry_of(http.headers) == (1, "http_timeout")
    assert retry_of(AsyncBoltRequest(body="{}").headers) == (0, None)


# --- signing --------------------------------------------------------------------


def test_signature_matches_slacks_documented_example() -> None:
    # https://api.slack.com/authentication/verifying-requests-from-slack
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    signed_at = 1531420618

    class Clock(slack_signature.Clock):
        def __init__(self, now: float) -> None:
            self.at = now

        def now(self) -> float:
            return self.at

    # The verifier Bolt uses, and the fake's signing, agree with Slack's example.
    assert sign(secret, signed_at, body) == expected
    fresh = slack_signature.SignatureVerifier(secret, Clock(signed_at + 10))
    assert fresh.generate_signature(timestamp=str(signed_at), body=body) == expected
    assert fresh.is_valid(body, str(signed_at), expected)
    assert not fresh.is_valid(body + b"x", str(signed_at), expected)
    late = slack_signature.SignatureVerifier(secret, Clock(signed_at + 301))
    assert not late.is_valid(body, str(signed_at), expected)
    # What the desk answers when it refuses.
    assert explain(str(signed_at), expected, now=signed_at + 301) is Refusal.STALE
    assert explain(str(signed_at), expected, now=signed_at - 301) is Refusal.STALE
    assert explain(str(signed_at), expected, now=signed_at + 10) is Refusal.INVALID
    assert precheck(str(signed_at), expected) is None
    assert precheck("nope", expected) is Refusal.MALFORMED
    assert precheck(str(signed_at), "v1=abc") is Refusal.MALFORMED
    assert precheck(None, expected) is Refusal.MISSING
    assert precheck(str(signed_at), "") is Refusal.MISSING


# --- commands and configuration ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verb", "query", "conv", "user", "error"),
    [
        ("search #12 refund policy", "search", "refund policy", 12, None, False),
        ("search refund 12 days", "search", "refund 12 days", None, None, False),
        ("SEARCH refund", "search", "refund", None, None, False),
        ("resolve #5", "resolve", "", 5, None, False),
        ("resolve 5", "resolve", "", 5, None, False),
        ("assign <@U123|ana> #5", "assign", "", 5, "U123", False),
        ("assign #5 <@W9>", "assign", "", 5, "W9", False),
        ("assign ana #5", "assign", "", None, None, True),
        ("mine", "mine", "", None, None, False),
        ("frobnicate", "help", "", None, None, True),
    ],
)
def test_command_grammar(
    text: str, verb: str, query: str, conv: int | None, user: str | None, error: bool
) -> None:
    cmd = parse_command(text)
    assert (cmd.verb, cmd.query, cmd.conversation_id, cmd.user, bool(cmd.error)) == (
        verb,
        query,
        conv,
        user,
        error,
    )


def test_config_defaults_and_errors() -> None:
    cfg = load_config({"bot_token": "xoxb-1", "app_token": "xapp-1", "channel": "C1"})
    assert (cfg.mode, cfg.slash_command, cfg.note_prefixes) == ("socket", "/cc", ("!note",))
    assert cfg.api_url == "https://slack.com/api/"
    http = load_config(
        {
            "bot_token": "x",
            "channel": "C1",
            "mode": "HTTP",
            "signing_secret": "s",
            "note_prefix": "!note, //",
            "slash_command": "support",
            "api_url": "http://127.0.0.1:1/api",
        }
    )
    assert http.note_prefixes == ("!note", "//") and http.slash_command == "/support"
    assert http.api_url.endswith("/api/")
    for bad, needle in [
        ({"channel": "C1", "app_token": "a"}, "BOT_TOKEN"),
        ({"bot_token": "x", "app_token": "a"}, "CHANNEL"),
        ({"bot_token": "x", "channel": "#support", "app_token": "a"}, "channel id"),
        ({"bot_token": "x", "channel": "C1"}, "APP_TOKEN"),
        ({"bot_token": "x", "channel": "C1", "mode": "http"}, "SIGNING_SECRET"),
        ({"bot_token": "x", "channel": "C1", "mode": "rtm"}, "mode"),
        ({"bot_token": "x", "channel": "C1", "app_token": "a", "ack_budget_seconds": "5"}, "3"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            load_config(bad)


def test_bolts_oauth_variables_stop_the_desk_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.slack.bolt_app import build_app
    from channels.slack.identity import BotIdentity
    from channels.slack.web import SlackWeb

    config = load_config({"bot_token": "xoxb-1", "app_token": "xapp-1", "channel": "C1"})
    web = SlackWeb(config.bot_token, config.api_url)
    identity = BotIdentity(web, config.bot_token)
    intake: Any = object()
    assert build_app(config, web, identity, intake).client is web.bolt_client
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s")
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID"):
        build_app(config, web, identity, intake)


def test_the_manifest_declares_what_the_desk_uses() -> None:
    from pathlib import Path

    from channels.slack.parse import SHORTCUTS

    manifest = (Path(__file__).resolve().parents[3] / "slack-app-manifest.yaml").read_text()
    # Web API method -> scope, for every method the desk calls.
    needed = {
        "chat.postMessage": "chat:write",
        "chat.update": "chat:write",
        "chat.delete": "chat:write",
        "chat.postEphemeral": "chat:write",
        "chat.scheduleMessage": "chat:write",
        "users.info": "users:read",
        "users.info (email)": "users:read.email",
        "reactions.add": "reactions:write",
        "message.channels": "channels:history",
        "message.groups": "groups:history",
        "/cc": "commands",
    }
    for scope in set(needed.values()):
        assert f"- {scope} " in manifest, scope
    for event in ("message.channels", "message.groups"):
        assert f"- {event}\n" in manifest
    for callback in SHORTCUTS:
        assert f"callback_id: {callback}\n" in manifest
    assert "command: /cc\n" in manifest and "should_escape: true" in manifest
