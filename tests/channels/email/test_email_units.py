"""The small pure pieces of the I/O half: configuration, IMAP answers, backoff, lock keys."""

from __future__ import annotations

from datetime import date

import pytest

from channels.email.config import parse_config
from channels.email.imap_parse import (
    ImapProtocolError,
    announces_new_mail,
    fetched_body,
    imap_date,
    quote_mailbox,
    search_uids,
    select_info,
)
from channels.email.lock import lock_key
from channels.email.watcher import Backoff
from contactcenter.config import ConfigError, load_settings


def test_single_mailbox_from_flat_environment_strings() -> None:
    settings = load_settings(
        environ={
            "CONTACTCENTER_EMAIL_ADDRESS": "Support@Example.com",
            "CONTACTCENTER_EMAIL_IMAP_HOST": "imap.example.com",
            "CONTACTCENTER_EMAIL_IMAP_PASSWORD": "pw",
            "CONTACTCENTER_EMAIL_IDLE": "false",
            "CONTACTCENTER_EMAIL_RATE_LIMIT_PER_HOUR": "5",
            "CONTACTCENTER_EMAIL_BACKFILL_SINCE": "2024-02-03",
        }
    )
    config = parse_config(settings.channel("email"))
    (box,) = config.mailboxes
    assert (box.name, box.address, box.imap_port, box.imap_user) == (
        "support@example.com", "support@example.com", 993, "support@example.com"
    )  # fmt: skip
    assert box.idle is False and box.backfill_since == date(2024, 2, 3)
    assert config.rate_limit_per_hour == 5
    assert "pw" not in repr(box)


def test_mailbox_list_inherits_top_level_keys() -> None:
    config = parse_config(
        {
            "imap_host": "imap.example.com",
            "smtp_host": "smtp.example.com",
            "smtp_security": "ssl",
            "mailboxes": [
                {"address": "help@a.example", "imap_password": "1"},
                {"address": "sales@b.example", "name": "sales", "imap_security": "starttls"},
            ],
        }
    )
    first, second = config.mailboxes
    assert first.imap_host == second.imap_host == "imap.example.com"
    assert first.smtp_port == 465 and second.imap_port == 143
    assert config.mailbox("sales").address == "sales@b.example"
    assert config.mailbox("SALES@b.example").name == "sales"
    assert config.mailbox(None) is first


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({}, "address"),
        ({"address": "not-an-address"}, "not an email"),
        ({"address": "a@b.example", "imap_security": "tls1"}, "imap_security"),
        ({"address": "a@b.example", "imap_port": "x"}, "imap_port"),
        ({"address": "a@b.example", "backfill_since": "yesterday"}, "backfill_since"),
        ({"address": "a@b.example", "typo_key": 1}, "typo_key"),
        ({"mailboxes": "[not json"}, "JSON"),
        ({"mailboxes": [{"address": "a@b.example"}, {"address": "a@b.example"}]}, "unique"),
        (
            {"address": "a@b.example", "imap_tls_verify": "no", "imap_tls_ca_file": "/ca.pem"},
            "imap_tls_ca_file is set but imap_tls_verify is false",
        ),
        ({"address": "a@b.example", "resolved_text": "Bye {nmae}"}, r"resolved_text.*\{nmae\}"),
        ({"address": "a@b.example", "notify_resolved": "maybe"}, "notify_resolved"),
    ],
)
def test_bad_configuration_names_the_key(raw: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_config(raw)


def test_select_answer() -> None:
    info = select_info(
        [b"FLAGS (\\Seen)", b"3 EXISTS", b"OK [UIDVALIDITY 1795369856] UIDs valid",
         b"OK [UIDNEXT 9] Predicted next UID", b"[READ-WRITE] Select completed"]
    )  # fmt: skip
    assert (info.uidvalidity, info.uidnext, info.exists) == (1795369856, 9, 3)
    with pytest.raises(ImapProtocolError):
        select_info([b"1 EXISTS", b"Select completed"])


def test_new_mail_announcements() -> None:
    assert announces_new_mail(b"* 7 EXISTS")
    assert announces_new_mail(b"* 12 exists ")
    assert not announces_new_mail(b"* 7 RECENT")
    assert not announces_new_mail(b"* 3 EXPUNGE")
    assert not announces_new_mail(b"* SEARCH 1 2 EXISTS")
    assert not announces_new_mail(bytearray(b"* 7 EXISTS"))  # a literal (mail text), not a line


def test_tls_and_notice_settings() -> None:
    box = parse_config({"address": "a@b.example", "imap_tls_ca_file": "/etc/ca.pem"}).mailboxes[0]
    assert (box.imap_tls_verify, box.imap_tls_ca_file, box.smtp_tls_ca_file) == (
        True,
        "/etc/ca.pem",
        None,
    )
    assert box.notify_resolved is True and box.notify_agent_joined is False
    assert "reply" in box.resolved_text
    config = parse_config(
        {
            "resolved_text": "Done. {brand}",
            "mailboxes": '[{"address": "a@b.example"}, '
            '{"address": "c@b.example", "notify_resolved": "false", "notify_agent_joined": "1"}]',
        }
    )
    first, second = config.mailboxes
    assert first.resolved_text == second.resolved_text == "Done. {brand}"
    assert (first.notify_resolved, second.notify_resolved) == (True, False)
    assert second.notify_agent_joined is True


def test_search_answer() -> None:
    assert search_uids([b"4 2 9", b"Search completed (0.001 secs)."]) == [2, 4, 9]
    assert search_uids([b"SEARCH 5 6", b"done"]) == [5, 6]
    assert search_uids([b"Search completed."]) == []
    assert search_uids([b"", b"Search completed."]) == []


def test_fetch_answer_picks_the_right_literal() -> None:
    body = bytearray(b"Subject: x\r\n\r\nhi")
    lines: list[bytes | bytearray] = [
        b"3 FETCH (FLAGS (\\Seen))",
        b"5 FETCH (UID 12 BODY[] {16}",
        body,
        b")",
        b"Fetch completed",
    ]
    assert fetched_body(lines, 12) == bytes(body)
    assert fetched_body(lines, 13) is None
    # The UID after the literal (some servers order it so).
    after: list[bytes | bytearray] = [b"5 FETCH (BODY[] {16}", body, b" UID 12)", b"ok"]
    assert fetched_body(after, 12) == bytes(body)
    unnamed: list[bytes | bytearray] = [b"5 FETCH (BODY[] {16}", body, b")", b"ok"]
    assert fetched_body(unnamed, 12) == bytes(body)


def test_imap_dates_and_names() -> None:
    assert imap_date(date(2024, 3, 5)) == "05-Mar-2024"
    assert quote_mailbox('Done "x"') == '"Done \\"x\\""'
    with pytest.raises(ValueError):
        quote_mailbox("bad\r\nLOGOUT")


def test_backoff_grows_and_resets() -> None:
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next() for _ in range(6)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert delays[-1] >= 4.0
    backoff.reset()
    assert backoff.next() <= 1.0


def test_lock_keys_are_stable_signed_64_bit() -> None:
    key = lock_key("support@example.com")
    assert key == lock_key("support@example.com") != lock_key("sales@example.com")
    assert -(2**63) <= key < 2**63
    assert lock_key("a@b.c", "schema1") != lock_key("a@b.c", "schema2")
