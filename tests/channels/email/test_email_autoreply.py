"""Auto-reply, bounce and list detection, through parse_email and directly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels.email.autoreply import classify
from channels.email.model import AutoReplyKind, ParsedEmail
from channels.email.parse import parse_email

Mail = Callable[..., bytes]
AUTO, BOUNCE, LIST = AutoReplyKind.AUTO_REPLY, AutoReplyKind.BOUNCE, AutoReplyKind.LIST


def _verdict(raw: bytes) -> AutoReplyKind | None:
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    return parsed.auto_reply


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, AUTO),
        ({"Auto-Submitted": "auto-generated"}, AUTO),
        ({"Auto-Submitted": "no"}, None),
        ({"X-Autoreply": "yes"}, AUTO),
        ({"X-Autorespond": "Vacation"}, AUTO),
        ({"X-Auto-Response-Suppress": "All"}, AUTO),
        ({"X-Auto-Response-Suppress": "OOF"}, AUTO),
        ({"Precedence": "auto_reply"}, AUTO),
        ({"Return-Path": "<>"}, AUTO),
        ({"Precedence": "bulk"}, LIST),
        ({"Precedence": "junk"}, LIST),
        ({"Precedence": "list"}, LIST),
        ({"List-Id": "<users.lists.example.org>"}, LIST),
        ({"List-Unsubscribe": "<mailto:unsub@lists.example.org>"}, LIST),
        ({"X-Failed-Recipients": "bob@example.org"}, BOUNCE),
        (
            {"Content-Type": 'multipart/report; report-type=delivery-status; boundary="b"'},
            BOUNCE,
        ),
        (
            {"Content-Type": "multipart/report; report-type=disposition-notification; boundary=b"},
            AUTO,
        ),
        ({"Return-Path": "<bob@example.org>"}, None),
        ({}, None),
    ],
)
def test_headers(mail: Mail, headers: dict[str, str], expected: AutoReplyKind | None) -> None:
    assert _verdict(mail("body", headers=headers)) == expected


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.org",
        "Mail Delivery System <mailer-daemon@mx.example.org>",
        "postmaster@example.org",
        "bounces+123@mail.example.org",
    ],
)
def test_daemon_senders_are_bounces(mail: Mail, sender: str) -> None:
    assert _verdict(mail("body", sender=sender)) == BOUNCE


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Out of Office: Question", AUTO),
        ("Automatic reply: Question", AUTO),
        ("Autoreply: Question", AUTO),
        ("Auto: Question", AUTO),
        ("Abwesenheitsnotiz: Frage", AUTO),
        ("Automatische Antwort: Frage", AUTO),
        ("Réponse automatique : Question", AUTO),
        ("Respuesta automática: Pregunta", AUTO),
        ("Automatisch antwoord: Vraag", AUTO),
        ("RE: Out of office until Monday", AUTO),
        ("Question about my out of office settings", None),
        ("Delivery failed for my parcel!", None),  # a customer, no bounce headers
        ("Absence of refund", None),
    ],
)
def test_subjects(mail: Mail, subject: str, expected: AutoReplyKind | None) -> None:
    assert _verdict(mail("body", subject=subject)) == expected


@pytest.mark.parametrize(
    "subject",
    [
        "Undeliverable: Question",
        "Delivery Status Notification (Failure)",
        "Undelivered Mail Returned to Sender",
        "Mail delivery failed: returning message to sender",
        "Returned mail: see transcript for details",
    ],
)
def test_bounce_subjects_need_a_null_sender(mail: Mail, subject: str) -> None:
    assert _verdict(mail("body", subject=subject, headers={"Return-Path": "<>"})) == BOUNCE
    assert _verdict(mail("body", subject=subject)) is None


def test_bounce_wins_over_list() -> None:
    headers = {"precedence": "bulk", "x-failed-recipients": "a@b.example"}
    assert classify(headers, from_address="x@y.example", subject="") == BOUNCE


def test_dsn_multipart_report(mail: Mail) -> None:
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
        b"\r\nFinal-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Question\r\n--b--\r\n"
    )
    raw = mail(
        body,
        sender="Mail Delivery Subsystem <noreply@mx.example>",
        headers={"Content-Type": "multipart/report; report-type=delivery-status; boundary=b"},
    )
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    assert parsed.auto_reply == BOUNCE
    assert "could not be delivered" in parsed.text
    assert "Status: 5.1.1" in parsed.text  # the delivery-status part is shown as text
    assert [a.content_type for a in parsed.attachments] == ["text/rfc822-headers"]
