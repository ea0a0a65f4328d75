"""A customer's email is answered by an agent in Slack, and the answer is a threaded
mail: Dovecot in -> escalation -> card -> Claim -> thread reply -> aiosmtpd out ->
Resolve.

The real app runs the ``email`` channel (real IMAP and SMTP servers on loopback,
the email tests' fixtures) and the Slack desk against the fake Slack, in Socket
Mode and HTTP mode, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select

from contactcenter.storage.models import Conversation
from tests.channels.email.conftest import MAILBOX, dovecot, email_config, smtp_sink
from tests.channels.email.servers import Dovecot, SentMail, SmtpSink
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, QUEUE, Desk, MakeDesk
from tests.polling import eventually

__all__ = ["dovecot", "smtp_sink"]  # the email tests' fixtures, used here

FIRST_ID = "<invoice-1@example.org>"


def customer_mail(text: str) -> bytes:
    headers = {
        "From": "Alice Customer <alice@example.org>",
        "To": f"Northwind Support <{MAILBOX}>",
        "Subject": "Invoice 42 is wrong",
        "Date": "Tue, 02 Jan 2024 10:00:00 +0000",
        "Message-ID": FIRST_ID,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
    }
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + text.encode() + b"\r\n"


async def _only_conversation(desk: Desk) -> int | None:
    async with desk.services.db.session() as s:
        ids = (await s.exec(select(Conversation.id))).all()
    return ids[0] if len(ids) == 1 else None


async def test_an_email_is_answered_from_slack_as_a_threaded_mail(
    make_desk: MakeDesk, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    desk = await make_desk(
        channels=("api", "email"), channel_config={"email": email_config(dovecot, smtp_sink)}
    )
    fake = desk.fake
    email: Any = desk.services.registry.get("email")
    for watcher in email.watchers:  # the mailbox is watched before the customer writes
        await asyncio.wait_for(watcher.synced.wait(), 20)

    await dovecot.append(
        customer_mail("Hello, the amount is twice what we agreed. I want to talk to a person.")
    )
    cid = await eventually(lambda: _only_conversation(desk), wait=20, what="the conversation")
    thread = await eventually(lambda: desk.desk.store.thread_of(cid), wait=20, what="the card")
    thread_ts = thread.thread_ts
    card = fake.message(QUEUE, thread_ts)
    assert card is not None
    assert "Invoice 42 is wrong" in str(card.blocks) and "alice@example.org" in str(card.blocks)

    await desk.interactive(
        p.block_actions(
            ANA, QUEUE, thread_ts, "cc_claim", value=str(cid), block_id=f"cc_actions:{cid}"
        )
    )
    await eventually(lambda: _status_is(desk, cid, "assigned"), what="claimed")

    # A note first, then the reply: mails of a conversation go out in order, so had the
    # note caused a mail, it would be there before the reply's.
    await desk.agent_says(ANA, thread_ts, "!note Alice is a key account, refund approved")
    await desk.agent_says(
        ANA,
        thread_ts,
        "Hello Alice, <@U0BEN0001> fixed it: *the new invoice* is at "
        "<https://billing.example/42|your account page> &amp; the refund is on its way.",
    )

    def reply() -> SentMail | None:
        return next((m for m in smtp_sink.mails if "new invoice" in m.text()), None)

    mail = await eventually(reply, wait=20, what="the agent's mail")
    assert mail.rcpt_tos == ["alice@example.org"]
    assert mail.text().startswith(
        "Hello Alice, @Ben fixed it: the new invoice is at your account page "
        "(https://billing.example/42) & the refund is on its way."
    )
    assert mail.header("In-Reply-To") == FIRST_ID
    assert FIRST_ID in mail.header("References").split()
    assert mail.header("Subject").startswith("Re: Invoice 42 is wrong")
    assert mail.header("From") == f"Ana Lima from Northwind Support <{MAILBOX}>"
    assert mail.header("Auto-Submitted") == ""  # a person wrote it
    assert not any("key account" in m.text() for m in smtp_sink.mails)
    assert not any("<@" in m.text() or "&amp;" in m.text() for m in smtp_sink.mails)

    # Resolved from the card: the conversation is closed and the card offers Reopen.
    await desk.interactive(
        p.block_actions(
            ANA, QUEUE, thread_ts, "cc_resolve", value=str(cid), block_id=f"cc_actions:{cid}"
        )
    )
    await eventually(lambda: _status_is(desk, cid, "resolved"), what="resolved")
    await eventually(lambda: "cc_reopen" in str(card.blocks), what="the card shows Reopen")


async def _status_is(desk: Desk, cid: int, status: str) -> bool:
    async with desk.services.db.session() as s:
        conv = await s.get(Conversation, cid)
        return conv is not None and conv.status == status
