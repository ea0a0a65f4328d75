"""Bad mail through the whole path (IMAP -> watcher -> router/quarantine -> API).

Every one of them ends stored or quarantined and visible; none stops the
watcher, which keeps its single IMAP session throughout.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os

from aiohttp.test_utils import TestClient
from sqlmodel import select

from contactcenter.storage.models import Message

from .conftest import MAILBOX, EmailApp
from .servers import Dovecot


def _head(message_id: str, extra: str = "") -> bytes:
    return (
        f"From: Bob <bob@example.org>\r\nTo: {MAILBOX}\r\nSubject: hostile\r\n"
        f"Message-ID: {message_id}\r\n{extra}"
    ).encode()


MALFORMED_HEADERS = (
    b'From: <<<bob@@example.org>>>, "unclosed\r\nTo: ;;;\r\n'
    b"Subject: =?x-unknown?Q?=FF=FE?= and =?utf-8?B?broken\r\n"
    b"Date: the day after tomorrow\r\nMessage-ID: <malformed@example.org>\r\n"
    b"In-Reply-To: <<<>>>\r\nReferences: garbage <a@b> <<c@d>\r\n"
    b"\r\nhello despite everything\r\n"
)
BROKEN_BOUNDARY = _head(
    "<boundary@example.org>",
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="NOPE"\r\n',
) + (
    b"\r\n--REAL\r\nContent-Type: text/plain\r\n\r\nthe real text\r\n"
    b"--REAL\r\nContent-Type: text/csv; name=a.csv\r\nContent-Disposition: attachment; "
    b"filename=a.csv\r\n\r\nx,y\r\n1,2\r\n--REAL--\r\n"
)
UNKNOWN_CHARSET = _head(
    "<charset@example.org>", 'Content-Type: text/plain; charset="x-klingon-42"\r\n'
) + "\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n".encode("latin-1")
NOT_MAIL = b"just some text\nwithout any header line at all\n"


def _big_attachment() -> tuple[bytes, int]:
    size = 25 * 1024 * 1024
    data = os.urandom(size)
    raw = (
        _head(
            "<big@example.org>",
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n',
        )
        + b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
        + b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        + b"filename=big.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data)
        + b"--B--\r\n"
    )
    return raw, size


def _bomb(depth: int = 3000) -> bytes:
    inner = b"From: a@b.example\r\nSubject: core\r\nMessage-ID: <core@b.example>\r\n\r\nhello\r\n"
    for level in range(depth):
        inner = (
            b"From: a@b.example\r\nSubject: level %d\r\nContent-Type: message/rfc822\r\n\r\n"
            % level
        ) + inner
    return inner


async def _inbound(app: EmailApp) -> dict[str, Message]:
    async with app.services.db.session() as s:
        rows = (await s.exec(select(Message).where(Message.direction == "in"))).all()
    return {m.channel_message_id or "": m for m in rows}


async def test_hostile_mail_is_stored_or_quarantined_and_listed(
    email_app: EmailApp, dovecot: Dovecot
) -> None:
    big, big_size = _big_attachment()
    bomb = _bomb()
    for raw in (MALFORMED_HEADERS, BROKEN_BOUNDARY, UNKNOWN_CHARSET, NOT_MAIL, big, bomb):
        await dovecot.append(raw)
    await dovecot.append(_head("<after@example.org>") + b"\r\nstill alive?\r\n")

    stored = await email_app.wait_messages(5, seconds=60)
    channel = email_app.channel
    for _ in range(300):
        checkpoint = await channel.store.checkpoint(MAILBOX)
        if checkpoint and checkpoint.last_uid >= 7:
            break
        await asyncio.sleep(0.1)
    messages = await _inbound(email_app)
    assert "<after@example.org>" in messages, (stored, list(messages))
    (watcher,) = channel.watchers
    assert watcher.sessions == 1 and watcher.last_error is None

    malformed = messages["<malformed@example.org>"]
    assert "hello despite everything" in malformed.text
    boundary = messages["<boundary@example.org>"]
    assert boundary.text.strip() == "the real text"
    (csv,) = boundary.attachments
    assert csv["filename"] == "a.csv" and csv["storage_ref"]
    stored_csv = email_app.settings.data_dir / csv["storage_ref"]
    assert stored_csv.read_bytes() == b"x,y\r\n1,2"
    assert stored_csv.name == hashlib.sha256(b"x,y\r\n1,2").hexdigest()
    assert "Gr" in messages["<charset@example.org>"].text
    big_message = messages["<big@example.org>"]
    (pdf,) = big_message.attachments
    assert pdf["size"] == big_size and pdf["storage_ref"] is None
    assert big_message.meta["attachments_dropped"] == ["big.pdf"]

    # What could not be read is in the quarantine, with its reason and its bytes.
    rows, total = await channel.store.quarantined()
    reasons = {r.reason for r in rows}
    assert any("header line" in r for r in reasons), reasons
    bomb_stored = any("DepthLimitReached" in m.meta.get("defects", []) for m in messages.values())
    assert bomb_stored or any("nested" in r for r in reasons)

    status, body = await email_app.call("GET", "/api/v1/email/quarantine")
    assert status == 200 and body["total"] == total >= 1
    item = next(i for i in body["items"] if "header line" in i["reason"])
    as_stored = NOT_MAIL.replace(b"\n", b"\r\n")  # imaplib's APPEND sends CRLF
    assert item["mailbox"] == MAILBOX and item["size"] == len(as_stored)
    status, raw = await email_app.call("GET", item["raw_url"])
    assert status == 200 and raw == as_stored
    status, _ = await email_app.call("GET", "/api/v1/email/quarantine/999999/raw")
    assert status == 404
    status, _ = await email_app.call("GET", "/api/v1/email/quarantine?limit=0")
    assert status == 400
    client: TestClient = email_app.client  # type: ignore[type-arg,assignment]
    async with client.get("/api/v1/email/quarantine") as resp:
        assert resp.status == 401
