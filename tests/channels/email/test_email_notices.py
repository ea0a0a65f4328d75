"""Status events as mail: what the customer sees when their request is resolved.

End to end with Dovecot and aiosmtpd for the main story (resolved -> one
threaded mail -> the customer's reply reopens the conversation); the rules
(silence by default on "agent joined", no mail to robots, rate limit, SMTP
errors) go through the same ingest path the watcher uses, without IMAP.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from typing import Any

import pytest
from sqlmodel import col, select

from channels.email.compose import compose_notice
from channels.email.ingest import IngestOutcome
from channels.email.notices import (
    DEFAULT_RESOLVED_TEXT,
    Notice,
    check_template,
    notice_text,
    render,
    skip_reason,
)
from channels.email.threading import make_reply_token, parse_our_message_id
from contactcenter.config import ConfigError, Settings
from contactcenter.domain import AgentReply
from contactcenter.storage.models import Agent, Delivery, Event

from .conftest import MAILBOX, SECRET, EmailApp, email_config
from .servers import Dovecot, SentMail, SmtpSink
from .test_email_e2e import OneAnswer, conversations, customer_mail, messages

# -- pure: which events mail, with which words, to whom -------------------------------


def _text(kind: str, payload: dict[str, Any] | None = None, **settings: Any) -> str | None:
    values: dict[str, Any] = {
        "brand": "Northwind Support",
        "notify_resolved": True,
        "resolved_text": DEFAULT_RESOLVED_TEXT,
        "notify_agent_joined": False,
        "agent_joined_text": "{agent} from {brand} is on it.",
    }
    values.update(settings)
    return notice_text(kind, payload or {}, **values)


def test_which_events_send_a_mail() -> None:
    resolved = _text("resolved", {"csat": True})
    assert resolved is not None and "resolved" in resolved and "reply" in resolved
    assert _text("resolved", notify_resolved=False) is None
    # The customer said "yes, that helped" and the bot already said goodbye.
    assert _text("resolved", {"csat": True, "by": "bot"}) is None
    assert _text("agent_joined", {"agent_name": "Dana"}) is None
    joined = _text("agent_joined", {"agent_name": "Dana"}, notify_agent_joined=True)
    assert joined == "Dana from Northwind Support is on it."
    assert _text("reopened") is None and _text("something_new") is None


def test_templates_name_only_known_placeholders() -> None:
    assert check_template("resolved_text", "  Done, {brand}.\r\n") == "Done, {brand}."
    with pytest.raises(ConfigError, match=r"resolved_text: unknown placeholder\(s\) \{agnet\}"):
        check_template("resolved_text", "{agnet} resolved it")
    with pytest.raises(ConfigError, match="must not be empty"):
        check_template("agent_joined_text", "   ")
    # Names come from people: one line, no header or template tricks.
    assert render("{agent}: {brand}", agent="Eve\r\nBcc: x", brand=None) == (
        "Eve Bcc: x: our support team"
    )
    assert render("{agent} joined", agent=None, brand="B") == "Someone joined"


def test_who_gets_no_notice() -> None:
    assert skip_reason("alice@example.org", robot_address=False, inbound_no_reply=()) is None
    # A person who wrote, and whose out-of-office answered later, is still a person.
    assert (
        skip_reason("alice@example.org", robot_address=False, inbound_no_reply=(False, True))
        is None
    )
    assert skip_reason("x@example.org", robot_address=True, inbound_no_reply=(False,))
    only_auto = skip_reason("alice@example.org", robot_address=False, inbound_no_reply=(True,))
    assert only_auto is not None and "automated" in only_auto
    assert skip_reason("", robot_address=False, inbound_no_reply=(False,))
    # "Dana joined" right after Dana's own reply says nothing new; a second agent does.
    for agent, skipped in (("Dana", True), ("Eve", False)):
        reason = skip_reason(
            "a@example.org",
            robot_address=False,
            inbound_no_reply=(False,),
            joining_agent=agent,
            agents_who_wrote={"Dana"},
        )
        assert (reason is not None) is skipped


def test_notice_continues_the_thread_from_its_last_mail() -> None:
    secret = b"k"
    notice = Notice(
        delivery_id=9,
        conversation_id=42,
        recipient="alice@example.org",
        text="Your request has been resolved.",
        subject="Re: AW: Printer",
        thread_message_ids=("<root@example.org>", "<cc.42.abc1@northwind.example>"),
    )
    msg = compose_notice(
        notice,
        mailbox=MAILBOX,
        domain="northwind.example",
        brand="Northwind Support",
        secret=secret,
        message_id="<cc.42.fff1@northwind.example>",
    )
    token = make_reply_token(42, secret=secret)
    assert msg["In-Reply-To"] == "<cc.42.abc1@northwind.example>"
    assert msg["References"] == "<root@example.org> <cc.42.abc1@northwind.example>"
    assert msg["Subject"] == f"Re: Printer [#{token}]"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Reply-To"].addresses[0].addr_spec == f"support+{token}@northwind.example"
    assert msg["From"].addresses[0].display_name == "Northwind Support"


# -- through the app ----------------------------------------------------------------


def notice_settings(
    settings: Settings, dovecot: Dovecot | None, smtp: SmtpSink, **extra: Any
) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("api", "email"),
        channel_config={"email": email_config(dovecot, smtp, **extra)},
    )


async def ingest(app: EmailApp, raw: bytes) -> IngestOutcome:
    """A mail arrives: the watcher's own path from raw bytes to the router, minus IMAP."""
    channel = app.channel
    ingestor = channel.ingestor(app.services.router.handle)
    return await ingestor.ingest(raw, channel.config.mailboxes[0])  # type: ignore[no-any-return]


async def new_agent(app: EmailApp, name: str = "Dana Agent") -> int:
    async with app.services.db.transaction() as s:
        agent = Agent(name=name, email=f"{name.split()[0].lower()}@northwind.example")
        s.add(agent)
        await s.flush()
        assert agent.id is not None
        return agent.id


async def event_deliveries(
    app: EmailApp, conversation_id: int, kind: str | None = None
) -> list[Delivery]:
    """The conversation's status-event deliveries ("resolved", "agent_joined"), oldest first."""
    async with app.services.db.session() as s:
        query = (
            select(Delivery)
            .where(Delivery.conversation_id == conversation_id, Delivery.kind == "event")
            .order_by(col(Delivery.id))
        )
        rows = list((await s.exec(query)).all())
    return [r for r in rows if kind is None or r.payload.get("kind") == kind]


async def handled(app: EmailApp, conversation_id: int, kind: str | None = None) -> list[Delivery]:
    """Wait until the conversation has status events (of ``kind``), each tried at least once."""
    for _ in range(400):
        rows = await event_deliveries(app, conversation_id, kind)
        if rows and all(r.attempts >= 1 for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"status events not handled: {rows}")


def addresses(mail: SentMail, header: str) -> list[str]:
    return [a for _, a in getaddresses([mail.header(header)])]


async def test_resolved_mail_is_threaded_and_a_reply_reopens_the_conversation(
    settings: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    app = await EmailApp(notice_settings(settings, dovecot, smtp_sink)).start()
    try:
        await dovecot.append(customer_mail("<m1@example.org>", "My printer says offline."))
        (handover,) = await smtp_sink.wait_for(1)  # the bot hands over to a person
        (conv,) = await conversations(app)
        assert conv.id is not None
        agent_id = await new_agent(app)
        await app.services.actions.reply(
            AgentReply(conversation_id=conv.id, text="Fixed on our side.", agent_id=agent_id)
        )
        agent_mail = (await smtp_sink.wait_for(2))[1]

        await app.services.actions.resolve(conv.id, by=agent_id)
        notice = (await smtp_sink.wait_for(3))[2]

        # What the customer sees: one short mail, in the same thread, from the brand.
        token = make_reply_token(conv.id, secret=SECRET.encode())
        assert notice.rcpt_tos == ["alice@example.org"]
        assert addresses(notice, "From") == [MAILBOX]
        assert "Northwind Support" in notice.header("From")
        assert notice.header("Subject") == f"Re: Printer is offline [#{token}]"
        assert notice.header("In-Reply-To") == agent_mail.header("Message-ID")
        references = notice.header("References").split()
        assert references[0] == "<m1@example.org>"
        assert handover.header("Message-ID") in references
        assert references[-1] == agent_mail.header("Message-ID")
        assert notice.header("Auto-Submitted") == "auto-generated"
        assert addresses(notice, "Reply-To") == [f"support+{token}@northwind.example"]
        text = notice.text()
        assert "resolved" in text and "reply to this email" in text
        assert len(text) < 300
        notice_id = notice.header("Message-ID")
        assert parse_our_message_id(notice_id, secret=SECRET.encode()) == (str(conv.id), True)
        (event,) = await handled(app, conv.id, "resolved")
        assert event.status == "sent" and event.native_id == notice_id
        await asyncio.sleep(0.3)
        assert len(smtp_sink.mails) == 3  # one notice, not one per retry or per event

        # The customer answers the notice: the same conversation opens again.
        await dovecot.append(
            customer_mail(
                "<m2@example.org>",
                "Sorry, it is offline again.\n\nOn Tue, Support wrote:\n> resolved",
                subject=notice.header("Subject"),
                headers={
                    "In-Reply-To": notice_id,
                    "References": " ".join([*references, notice_id]),
                },
            )
        )
        assert await app.wait_messages(2) == 2
        (conv,) = await conversations(app)
        assert conv.status == "assigned" and conv.assignee_id == agent_id
        inbound = [m for m in await messages(app) if m.direction == "in"]
        assert [m.conversation_id for m in inbound] == [conv.id, conv.id]
        assert inbound[-1].text == "Sorry, it is offline again."
    finally:
        await app.stop()


@pytest.mark.parametrize("notify", [False, True])
async def test_agent_joined_is_silent_unless_turned_on(
    settings: Settings, smtp_sink: SmtpSink, notify: bool
) -> None:
    app = EmailApp(notice_settings(settings, None, smtp_sink, notify_agent_joined=notify))
    await app.start()
    try:
        outcome = await ingest(app, customer_mail("<j1@example.org>", "Where is my order?"))
        assert outcome.conversation_id is not None
        await smtp_sink.wait_for(1)  # the handover
        await app.services.actions.assign(outcome.conversation_id, await new_agent(app))
        (event,) = await handled(app, outcome.conversation_id)
        assert event.status == "sent"
        if notify:
            joined = (await smtp_sink.wait_for(2))[1]
            assert joined.text().strip() == (
                "Dana Agent from Northwind Support is now looking after your request."
            )
            assert joined.header("Auto-Submitted") == "auto-generated"
            assert joined.header("In-Reply-To") == smtp_sink.mails[0].header("Message-ID")
        else:
            assert event.native_id is None
            assert len(smtp_sink.mails) == 1
    finally:
        await app.stop()


async def test_no_joined_mail_after_the_agents_own_reply(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    app = EmailApp(notice_settings(settings, None, smtp_sink, notify_agent_joined=True))
    await app.start()
    try:
        outcome = await ingest(app, customer_mail("<j2@example.org>", "Where is my order?"))
        assert outcome.conversation_id is not None
        await smtp_sink.wait_for(1)  # the handover
        # Answering an unassigned conversation assigns it: an "agent joined" event.
        await app.services.actions.reply(
            AgentReply(
                conversation_id=outcome.conversation_id,
                text="It ships today.",
                agent_id=await new_agent(app),
            )
        )
        reply = (await smtp_sink.wait_for(2))[1]
        assert reply.text().strip() == "It ships today."
        (event,) = await handled(app, outcome.conversation_id, "agent_joined")
        assert (event.status, event.native_id) == ("sent", None)
        assert len(smtp_sink.mails) == 2
    finally:
        await app.stop()


async def test_resolved_text_is_configurable_and_can_be_turned_off(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    app = EmailApp(
        notice_settings(
            settings,
            None,
            smtp_sink,
            resolved_text="Closed by {brand}. Just reply if you need us again.",
            mailboxes=[
                {"address": MAILBOX},
                {"address": "quiet@northwind.example", "notify_resolved": False},
            ],
        )
    )
    await app.start()
    try:
        loud = await ingest(app, customer_mail("<t1@example.org>", "Question one"))
        quiet_mail = customer_mail(
            "<t2@example.org>", "Question two", sender="bob@example.org"
        ).replace(MAILBOX.encode(), b"quiet@northwind.example")
        channel = app.channel
        quiet = await channel.ingestor(app.services.router.handle).ingest(
            quiet_mail, channel.config.mailbox("quiet@northwind.example")
        )
        assert loud.conversation_id is not None and quiet.conversation_id is not None
        await smtp_sink.wait_for(2)  # both handovers
        for conv_id in (loud.conversation_id, quiet.conversation_id):
            await app.services.actions.resolve(conv_id)
            await handled(app, conv_id)
        mails = await smtp_sink.wait_for(3)
        assert mails[2].rcpt_tos == ["alice@example.org"]
        assert (
            mails[2].text().strip()
            == "Closed by Northwind Support. Just reply if you need us again."
        )
        await asyncio.sleep(0.3)
        assert len(smtp_sink.mails) == 3  # nothing for the mailbox that turned it off
    finally:
        await app.stop()


async def test_no_notice_to_auto_responders_or_bounces(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    app = await EmailApp(notice_settings(settings, None, smtp_sink)).start(wait_synced=False)
    try:
        ooo = await ingest(
            app,
            customer_mail(
                "<ooo@example.org>",
                "I am out of the office.",
                subject="Automatic reply: Printer",
                headers={"Auto-Submitted": "auto-replied"},
            ),
        )
        bounce = await ingest(
            app,
            customer_mail(
                "<b1@mx.example.org>",
                "Your message could not be delivered.",
                sender="Mail Delivery System <MAILER-DAEMON@mx.example.org>",
                subject="Undelivered Mail Returned to Sender",
            ),
        )
        for outcome in (ooo, bounce):
            assert outcome.kind == "stored" and outcome.conversation_id is not None
            await app.services.actions.resolve(outcome.conversation_id)
            (event,) = await handled(app, outcome.conversation_id)
            assert (event.status, event.native_id) == ("sent", None)  # done, nothing sent
        assert smtp_sink.mails == []
    finally:
        await app.stop()


async def test_notice_waits_for_the_rate_limit(settings: Settings, smtp_sink: SmtpSink) -> None:
    app = EmailApp(notice_settings(settings, None, smtp_sink, rate_limit_per_hour=1))
    await app.start()
    try:
        outcome = await ingest(app, customer_mail("<r1@example.org>", "Help"))
        assert outcome.conversation_id is not None
        await smtp_sink.wait_for(1)  # the handover used this hour's one mail
        await app.services.actions.resolve(outcome.conversation_id)
        (event,) = await handled(app, outcome.conversation_id)
        assert event.status == "pending"
        assert "rate limit" in (event.last_error or "")
        wait = event.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)
        assert wait > timedelta(minutes=50)  # until the hour's window frees up
        assert len(smtp_sink.mails) == 1
    finally:
        await app.stop()


async def test_notice_smtp_errors_are_retried_or_failed_visibly(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    app = await EmailApp(notice_settings(settings, None, smtp_sink)).start()
    try:
        first = await ingest(app, customer_mail("<e1@example.org>", "One", sender="a@example.org"))
        second = await ingest(app, customer_mail("<e2@example.org>", "Two", sender="b@example.org"))
        assert first.conversation_id is not None and second.conversation_id is not None
        await smtp_sink.wait_for(2)

        # A temporary refusal: retried, and the customer gets the notice once.
        smtp_sink.fail_next("451 4.3.0 try again later")
        await app.services.actions.resolve(first.conversation_id)
        notice = (await smtp_sink.wait_for(3))[2]
        assert notice.rcpt_tos == ["a@example.org"]
        (event,) = await handled(app, first.conversation_id)
        for _ in range(100):
            (event,) = await event_deliveries(app, first.conversation_id)
            if event.status == "sent":
                break
            await asyncio.sleep(0.05)
        assert event.status == "sent" and event.attempts == 2

        # A permanent refusal: failed for good, and visible on the conversation.
        smtp_sink.fail_next("550 5.1.1 mailbox unavailable")
        await app.services.actions.resolve(second.conversation_id)
        for _ in range(200):
            (event,) = await event_deliveries(app, second.conversation_id)
            if event.status == "failed":
                break
            await asyncio.sleep(0.05)
        assert event.status == "failed" and "550" in (event.last_error or "")
        async with app.services.db.session() as s:
            failures = (
                await s.exec(
                    select(Event).where(
                        Event.conversation_id == second.conversation_id,
                        Event.kind == "delivery_failed",
                    )
                )
            ).all()
        assert len(failures) == 1
        assert len(smtp_sink.mails) == 3
    finally:
        await app.stop()


async def test_a_resolution_by_the_customer_through_the_bot_sends_no_second_mail(
    settings: Settings, smtp_sink: SmtpSink
) -> None:
    app = await EmailApp(notice_settings(settings, None, smtp_sink)).start()
    try:
        app.services.set_answerer(OneAnswer())
        first = await ingest(app, customer_mail("<y1@example.org>", "How do I reset it?"))
        assert first.conversation_id is not None
        answer = (await smtp_sink.wait_for(1))[0]
        mid = answer.header("Message-ID")
        await ingest(
            app,
            customer_mail(
                "<y2@example.org>",
                "Yes",
                subject="Re: Printer is offline",
                headers={"In-Reply-To": mid, "References": f"<y1@example.org> {mid}"},
            ),
        )
        glad = (await smtp_sink.wait_for(2))[1]
        assert "Glad I could help" in glad.text()
        (conv,) = [c for c in await conversations(app) if c.id == first.conversation_id]
        assert conv.status == "resolved"
        (event,) = await handled(app, first.conversation_id)
        assert (event.status, event.native_id) == ("sent", None)
        assert len(smtp_sink.mails) == 2
    finally:
        await app.stop()
