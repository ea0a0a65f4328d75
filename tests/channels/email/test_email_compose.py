"""Outgoing mail: threading headers, reply addresses, escaping, header injection."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from channels.email.compose import (
    bounded_references,
    clean_header_text,
    compose_email,
    compose_outbound,
    display_name,
    reply_subject,
    text_to_html,
)
from channels.email.model import ParsedEmail
from channels.email.parse import parse_email
from channels.email.threading import make_reply_token, parse_our_message_id
from contactcenter.domain import Address, AuthorKind, OutboundMessage

SECRET = b"s3cret"
DATE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _outbound(**kwargs: object) -> OutboundMessage:
    base: dict[str, object] = {
        "delivery_id": 1,
        "message_id": 10,
        "conversation_id": 42,
        "channel": "email",
        "recipient": Address("email", "bob@example.org"),
        "text": "Hello Bob,\n\nYour order ships today.",
        "author_kind": AuthorKind.AGENT,
        "author_name": "Alice",
        "subject": "Printer on fire",
        "thread_message_ids": ("<first@example.org>",),
    }
    base.update(kwargs)
    return OutboundMessage(**base)  # type: ignore[arg-type]


def _roundtrip(msg: EmailMessage) -> tuple[bytes, ParsedEmail]:
    raw = msg.as_bytes()
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    return raw, parsed


def test_compose_outbound_headers_parse_back() -> None:
    thread = ("<first@example.org>", "<cc.42.aaaa@northwind.example>", "<second@example.org>")
    msg = compose_outbound(
        _outbound(thread_message_ids=thread),
        mailbox="support@northwind.example",
        domain="northwind.example",
        brand="Northwind Support",
        secret=SECRET,
        date=DATE,
    )
    raw, parsed = _roundtrip(msg)
    token = make_reply_token(42, secret=SECRET)
    assert parse_our_message_id(parsed.message_id, our_domain="northwind.example", secret=SECRET)
    assert parsed.in_reply_to == ("<second@example.org>",)  # the customer's latest
    assert parsed.references == thread
    assert [a.address for a in parsed.reply_to] == [f"support+{token}@northwind.example"]
    assert (parsed.from_name, parsed.from_address) == (
        "Alice from Northwind Support",
        "support@northwind.example",
    )
    assert parsed.subject == f"Re: Printer on fire [#{token}]"
    assert parsed.text.strip() == "Hello Bob,\n\nYour order ships today."
    assert parsed.html is not None and "<p>Your order ships today.</p>" in parsed.html
    assert "Auto-Submitted" not in msg
    assert b"\r\n" in raw  # SMTP line endings


def test_bot_mail_is_marked_auto_submitted() -> None:
    msg = compose_outbound(
        _outbound(author_kind=AuthorKind.BOT, author_name="Helper bot"),
        mailbox="support@northwind.example",
        domain="northwind.example",
        brand="Northwind Support",
    )
    assert msg["Auto-Submitted"] == "auto-replied"
    assert str(msg["From"]).startswith("Northwind Support <")  # bots speak as the brand


def test_first_outbound_without_subject_or_thread() -> None:
    msg = compose_outbound(
        _outbound(subject=None, thread_message_ids=()),
        mailbox="support@northwind.example",
        domain="northwind.example",
        brand="Northwind",
    )
    assert "In-Reply-To" not in msg and "References" not in msg
    assert str(msg["Subject"]).startswith("Northwind [#42")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Question", "Re: Question"),
        ("Re: Question", "Re: Question"),
        ("RE: Re: re:Question", "Re: Question"),
        ("AW: SV: Re[2]: Frage", "Re: Frage"),
        ("Re: Question [#42]", "Re: Question [#42]"),
        ("", "Re:"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    tag = "42" if "[#42]" in expected else None
    assert reply_subject(subject, tag=tag) == expected


def test_references_are_bounded_keeping_root_and_newest() -> None:
    ids = [f"<m{i}@x.example>" for i in range(100)]
    kept = bounded_references(ids, limit=5)
    assert kept == ["<m0@x.example>", "<m96@x.example>", "<m97@x.example>",
                    "<m98@x.example>", "<m99@x.example>"]  # fmt: skip
    msg = compose_email(
        from_address="support@northwind.example",
        to_address="bob@example.org",
        text="hi",
        subject="s",
        message_id="<cc.1.abcd@northwind.example>",
        references=ids,
        max_references=5,
    )
    assert str(msg["References"]).split() == kept
    assert msg["In-Reply-To"] == "<m99@x.example>"


@pytest.mark.parametrize(
    "evil",
    [
        "Alice\r\nBcc: victim@example.org",
        "Alice\nBcc: victim@example.org",
        "Alice\rBcc: victim@example.org",
        "Alice\x00\x1b[31m\u2028Bcc: victim@example.org",
    ],
)
def test_header_injection_in_names_and_subjects(evil: str) -> None:
    msg = compose_outbound(
        _outbound(author_name=evil, subject=evil, text=evil),
        mailbox="support@northwind.example",
        domain="northwind.example",
        brand=evil,
    )
    raw = msg.as_bytes()
    reparsed = message_from_bytes(raw, policy=policy.default)
    assert reparsed["Bcc"] is None
    assert all(name.lower() != "bcc" for name in reparsed.keys())
    for header in ("From", "Subject", "Reply-To"):
        value = str(reparsed[header])
        assert "\n" not in value and "\r" not in value and "\x00" not in value


def test_names_with_special_characters_are_quoted_and_encoded() -> None:
    names = ['Dr. "Bob" O\'Neil, Jr. <admin@evil.example>', "Zoë Łukasz 山田", "a;b:c@d"]
    for name in names:
        msg = compose_email(
            from_address="support@northwind.example",
            from_name=name,
            to_address="bob@example.org",
            text="x",
            subject="Grüße 山田",
            message_id="<cc.1.abcd@northwind.example>",
        )
        _, parsed = _roundtrip(msg)
        assert parsed.from_address == "support@northwind.example"
        assert parsed.from_name == clean_header_text(name)
        assert parsed.subject == "Grüße 山田"


def test_bad_addresses_and_ids_raise() -> None:
    with pytest.raises(ValueError):
        compose_email(
            from_address="support@northwind.example",
            to_address="bob@example.org\r\nBcc: x@y",
            text="x",
            subject="s",
            message_id="<cc.1.a@b>",
        )
    with pytest.raises(ValueError):
        compose_email(
            from_address="support@northwind.example",
            to_address="bob@example.org",
            text="x",
            subject="s",
            message_id="<x@y>\r\nBcc: z@w",
        )


def test_html_part_is_escaped_text() -> None:
    html = text_to_html('<script>alert("x")</script>\n\nSee https://example.org/a?b=1&c=2')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.org/a?b=1&amp;c=2">' in html


def test_display_name() -> None:
    assert display_name("Alice", "Northwind Support") == "Alice from Northwind Support"
    assert display_name(None, "Northwind Support") == "Northwind Support"
    assert display_name("Alice", None) == "Alice"
    assert display_name(None, None) is None
