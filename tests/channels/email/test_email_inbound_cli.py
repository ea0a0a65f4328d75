"""ParsedEmail -> InboundMessage, and the `email parse` CLI description."""

from __future__ import annotations

import json
from collections.abc import Callable

from channels.email.cli_parse import describe, format_description
from channels.email.inbound import to_inbound
from channels.email.model import ParsedEmail
from channels.email.parse import parse_email
from channels.email.threading import make_message_id, make_reply_token

Mail = Callable[..., bytes]
MAILBOX = "support@northwind.example"
SECRET = b"k"


def _parsed(raw: bytes) -> ParsedEmail:
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    return parsed


def test_to_inbound_maps_a_reply(mail: Mail) -> None:
    ours = make_message_id(42, "northwind.example", secret=SECRET)
    raw = mail(
        "Yes, that fixed it.\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support@northwind.example>"
        " wrote:\n> Did you restart it?\n",
        sender="Bob Smith <Bob.Smith@Example.ORG>",
        subject="Re: Printer",
        headers={"In-Reply-To": ours, "References": f"<first@example.org> {ours}"},
    )
    inbound = to_inbound(_parsed(raw), mailbox=MAILBOX, secret=SECRET)
    assert inbound.channel_message_id == "<m1@example.org>"
    assert (inbound.sender.channel, inbound.sender.value) == ("email", "bob.smith@example.org")
    assert inbound.text == "Yes, that fixed it."
    assert inbound.display_name == "Bob Smith"
    assert inbound.subject == "Re: Printer"
    assert inbound.thread_key == "<first@example.org>"
    assert inbound.conversation_id == 42
    assert inbound.no_reply is False
    meta = inbound.metadata
    assert meta["message_id"] == "<m1@example.org>"
    assert meta["in_reply_to"] == [ours]
    assert meta["references"] == ["<first@example.org>", ours]
    assert meta["auto_reply"] is None
    assert "Did you restart it?" in meta["full_text"]
    assert meta["threading"][0]["signal"] == "in_reply_to_ours"
    json.dumps(meta)


def test_unverified_conversation_is_not_trusted(mail: Mail) -> None:
    raw = mail("hi", headers={"In-Reply-To": "<cc.42.forged@northwind.example>"})
    assert to_inbound(_parsed(raw), mailbox=MAILBOX, secret=SECRET).conversation_id is None
    assert to_inbound(_parsed(raw), mailbox=MAILBOX).conversation_id is None


def test_auto_replies_and_own_mail_are_no_reply(mail: Mail) -> None:
    auto = mail("I am away", headers={"Auto-Submitted": "auto-replied"})
    assert to_inbound(_parsed(auto), mailbox=MAILBOX).no_reply
    assert to_inbound(_parsed(auto), mailbox=MAILBOX).metadata["auto_reply"] == "auto_reply"
    own = mail("loop", sender=f"Support <{MAILBOX}>")
    assert to_inbound(_parsed(own), mailbox=MAILBOX).no_reply
    anonymous = mail("who am I", headers={"From": None})
    inbound = to_inbound(_parsed(anonymous), mailbox=MAILBOX)
    assert inbound.no_reply and inbound.sender.value.endswith("@invalid")


def test_attachments_metadata_and_fallback_text(mail: Mail) -> None:
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\n> only a quote\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=a.png\r\n"
        b"\r\nPNG\r\n--b--\r\n"
    )
    raw = mail(body, headers={"Content-Type": "multipart/mixed; boundary=b"})
    inbound = to_inbound(_parsed(raw), mailbox=MAILBOX, attachment_refs=["store/1"])
    assert inbound.text.strip() == "> only a quote"  # nothing new: the full text is used
    (attachment,) = inbound.attachments
    assert (attachment.filename, attachment.content_type, attachment.inline) == (
        "a.png",
        "image/png",
        True,
    )
    assert attachment.storage_ref == "store/1" and attachment.size == 3


def test_plus_address_token_sets_conversation(mail: Mail) -> None:
    token = make_reply_token(77, secret=SECRET)
    raw = mail("new info", headers={"To": f"support+{token}@northwind.example"})
    assert to_inbound(_parsed(raw), mailbox=MAILBOX, secret=SECRET).conversation_id == 77


def test_describe_has_the_cli_keys(mail: Mail) -> None:
    raw = mail("Answer\n\n-- \nBob", headers={"References": "<a@x> <b@y>", "In-Reply-To": "<b@y>"})
    info = describe(raw, our_domain="northwind.example", our_addresses=[MAILBOX])
    for key in ("message_id", "in_reply_to", "references", "from", "subject", "reply_text",
                "text", "attachments", "auto_reply", "threading"):  # fmt: skip
        assert key in info
    assert info["reply_text"] == "Answer"
    assert info["threading"]["thread_root"] == "<a@x>"
    json.dumps(info)
    text = format_description(info)
    assert "Message-ID:  <m1@example.org>" in text and "Reply text:" in text


def test_describe_quarantined() -> None:
    info = describe(b"")
    assert info["quarantined"] is True and "empty" in info["reason"]
    json.dumps(info)
    assert format_description(info).startswith("QUARANTINED")
