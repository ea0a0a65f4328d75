"""Threading signals: our Message-IDs, reply tokens, subject tags, foreign ids."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels.email.model import EmailAddress, ParsedEmail
from channels.email.parse import parse_email
from channels.email.threading import (
    make_message_id,
    make_reply_address,
    make_reply_token,
    parse_our_message_id,
    parse_reply_token,
    thread_signals,
    token_from_address,
)

Mail = Callable[..., bytes]
DOMAIN = "northwind.example"
OURS = ["support@northwind.example"]
SECRET = b"test-secret"


def _parsed(**kwargs: object) -> ParsedEmail:
    base: dict[str, object] = {"message_id": "<new@customer.example>"}
    base.update(kwargs)
    return ParsedEmail(**base)  # type: ignore[arg-type]


def test_message_id_format_round_trips() -> None:
    mid = make_message_id(42, DOMAIN)
    assert mid.startswith("<cc.42.") and mid.endswith("@northwind.example>")
    assert parse_our_message_id(mid, our_domain=DOMAIN) == ("42", False)
    assert make_message_id(42, DOMAIN) != mid  # random part


def test_message_id_mac() -> None:
    mid = make_message_id(42, DOMAIN, secret=SECRET, random_part="abcd1234")
    assert parse_our_message_id(mid, our_domain=DOMAIN, secret=SECRET) == ("42", True)
    forged = mid.replace("cc.42.", "cc.43.")
    assert parse_our_message_id(forged, our_domain=DOMAIN, secret=SECRET) == ("43", False)
    assert parse_our_message_id(mid, our_domain=DOMAIN, secret=b"other") == ("42", False)


@pytest.mark.parametrize(
    "mid",
    ["<cc.42.abcd@elsewhere.example>", "<42.abcd@northwind.example>", "<random@x>", "garbage"],
)
def test_foreign_ids_are_not_ours(mid: str) -> None:
    assert parse_our_message_id(mid, our_domain=DOMAIN) is None


def test_make_message_id_rejects_injection() -> None:
    with pytest.raises(ValueError):
        make_message_id("42>\r\nBcc: x@y", DOMAIN)


def test_reply_token_and_plus_address() -> None:
    token = make_reply_token(42, secret=SECRET)
    address = make_reply_address("support@northwind.example", token)
    assert address == f"support+{token}@northwind.example"
    assert token_from_address(address.upper(), OURS) == token.lower()
    assert token_from_address("other+x@northwind.example", OURS) is None
    assert token_from_address("support@northwind.example", OURS) is None
    assert parse_reply_token(token, secret=SECRET) == ("42", True)
    assert parse_reply_token("42-0000000000", secret=SECRET) == ("42", False)
    assert parse_reply_token("42") == ("42", False)


def test_signals_in_order_of_trust() -> None:
    ours_old = make_message_id(7, DOMAIN, secret=SECRET, random_part="aaaa1111")
    ours_new = make_message_id(7, DOMAIN, secret=SECRET, random_part="bbbb2222")
    token = make_reply_token(7, secret=SECRET)
    parsed = _parsed(
        in_reply_to=(ours_new,),
        references=("<root@customer.example>", ours_old, "<mid@customer.example>", ours_new),
        to=(EmailAddress(address=f"support+{token}@northwind.example"),),
        subject=f"Re: Printer [#{token}]",
    )
    signals = thread_signals(parsed, our_domain=DOMAIN, our_addresses=OURS, secret=SECRET)
    names = [s.name for s in signals.candidates]
    assert names == [
        "in_reply_to_ours",
        "references_ours",
        "plus_address_token",
        "subject_token",
        "thread_root",
        "references",
    ]
    assert signals.best is not None and signals.best.key == "conversation:7"
    assert signals.conversation_id == "7"
    assert signals.thread_root == "<root@customer.example>"
    assert all(s.verified for s in signals.candidates if s.conversation_id)


def test_unverified_without_secret() -> None:
    parsed = _parsed(in_reply_to=(make_message_id(9, DOMAIN),))
    signals = thread_signals(parsed, our_domain=DOMAIN, our_addresses=OURS)
    assert signals.best is not None and signals.best.conversation_id == "9"
    assert signals.conversation_id is None  # nothing verified


def test_foreign_thread() -> None:
    parsed = _parsed(
        in_reply_to=("<b@customer.example>",),
        references=("<a@customer.example>", "<b@customer.example>"),
    )
    signals = thread_signals(parsed, our_domain=DOMAIN, our_addresses=OURS)
    assert [(s.name, s.key) for s in signals.candidates] == [
        ("thread_root", "<a@customer.example>"),
        ("in_reply_to", "<b@customer.example>"),
        ("references", "<b@customer.example>"),
    ]
    assert signals.thread_root == "<a@customer.example>"


def test_new_mail_is_its_own_root() -> None:
    signals = thread_signals(_parsed(), our_domain=DOMAIN, our_addresses=OURS)
    assert signals.candidates == ()
    assert signals.thread_root == "<new@customer.example>"


def test_signals_from_parsed_raw_mail(mail: Mail) -> None:
    token = make_reply_token(5, secret=SECRET)
    ours = make_message_id(5, DOMAIN, secret=SECRET)
    raw = mail(
        "Thanks!",
        subject=f"Re: Order [#{token}]",
        headers={
            "To": "Support <support@northwind.example>",
            "Delivered-To": f"support+{token}@northwind.example",
            "In-Reply-To": ours,
            "References": f"<first@customer.example>\r\n {ours}",
        },
    )
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    signals = thread_signals(parsed, our_domain=DOMAIN, our_addresses=OURS, secret=SECRET)
    assert [s.name for s in signals.candidates][:4] == [
        "in_reply_to_ours",
        "references_ours",
        "plus_address_token",
        "subject_token",
    ]
    assert signals.conversation_id == "5"
    assert signals.thread_root == "<first@customer.example>"
