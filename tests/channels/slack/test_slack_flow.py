"""End to end, in Socket Mode and in HTTP mode, on SQLite and PostgreSQL:
customer -> escalation -> card in Slack -> Claim -> reply in the thread -> customer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import select

from contactcenter.storage.models import Agent, Conversation
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, BEN, QUEUE, Desk
from tests.polling import eventually


def _texts(blocks: list[dict[str, Any]] | None) -> str:
    """All the text in a message's blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return "\n".join(out)


def _action_ids(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [
        el["action_id"] for b in blocks or [] if b.get("type") == "actions" for el in b["elements"]
    ]


async def _conversation(desk: Desk, cid: int) -> Conversation:
    async with desk.services.db.session() as s:
        conv = await s.get(Conversation, cid)
        assert conv is not None
        return conv


async def _agent_named(desk: Desk, email: str) -> Agent | None:
    async with desk.services.db.session() as s:
        return (await s.exec(select(Agent).where(Agent.email == email))).first()


async def test_escalation_claim_reply_reaches_the_customer(desk: Desk) -> None:
    fake = desk.fake
    cid, thread_ts = await desk.escalate()

    card = fake.message(QUEUE, thread_ts)
    assert card is not None and card.thread_ts is None
    text = _texts(card.blocks)
    assert f"#{cid}" in text and "Carla Diaz" in text
    assert "api: visitor-1" in text  # identities
    assert "I want to talk to a human please" in text  # the last messages
    assert "!note" in text  # the note convention, on the card itself
    assert _action_ids(card.blocks) == [
        "cc_claim",
        "cc_resolve",
        "cc_transfer",
        "cc_snooze",
        "cc_note",
    ]

    # Claim: Ana becomes an agent (from users.info) and the conversation hers.
    await desk.interactive(
        p.block_actions(
            ANA, QUEUE, thread_ts, "cc_claim", value=str(cid), block_id=f"cc_actions:{cid}"
        )
    )
    ana = await eventually(lambda: _agent_named(desk, "ana@northwind.example"), what="agent")
    assert ana.name == "Ana Lima"
    conv = await _conversation(desk, cid)
    assert conv.assignee_id == ana.id and conv.status == "assigned"
    await eventually(lambda: "assigned (Ana Lima)" in _texts(card.blocks), what="card update")
    assert "cc_claim" in _action_ids(card.blocks)

    # Ana replies in the thread, with Slack markup: the customer gets plain text.
    reply = await desk.agent_says(
        ANA,
        thread_ts,
        "Hi Carla, <@U0BEN0001> and I checked: *good news*, see "
        "<https://help.example/refund|our refund page> &amp; write back &lt;3",
    )

    async def delivered() -> list[dict[str, Any]]:
        return [
            d for d in await desk.outbox("api") if d["author"] == "agent" and d["status"] == "sent"
        ]

    sent = await eventually(delivered, what="delivery to the customer")
    assert sent[0]["text"] == (
        "Hi Carla, @Ben and I checked: good news, see our refund page "
        "(https://help.example/refund) & write back <3"
    )
    assert (QUEUE, reply["event"]["ts"], "outbox_tray") in fake.reactions
    assert (await _conversation(desk, cid)).status == "waiting_for_customer"

    # An internal note is stored, never delivered.
    note = await desk.agent_says(
        ANA, thread_ts, "!note VIP customer, refund approved by <@U0BEN0001>"
    )
    await eventually(lambda: (QUEUE, note["event"]["ts"], "lock") in fake.reactions, what="note")
    messages = await desk.messages(cid)
    notes = [m for m in messages if m.internal]
    assert [n.text for n in notes] == ["VIP customer, refund approved by @Ben"]
    assert all("VIP" not in (d["text"] or "") for d in await desk.outbox("api"))

    # The customer writes again: it appears in the thread.
    await desk.customer_says("Thanks! And when will the money arrive?")
    await eventually(
        lambda: any(
            "when will the money arrive" in _texts(m.blocks)
            for m in fake.in_thread(QUEUE, thread_ts)
        ),
        what="customer message in the thread",
    )


async def test_a_redelivered_event_is_acted_on_once(desk: Desk) -> None:
    cid, thread_ts = await desk.escalate()
    body = p.message_event(QUEUE, ANA, "First answer", thread_ts=thread_ts)
    await desk.event(body)
    await desk.event(body, retry=1)  # Slack's retry of the same event_id
    await desk.event(body, retry=2)
    await eventually(lambda: desk.outbox("api"), what="delivery")
    replies = [m for m in await desk.messages(cid) if m.author_kind == "agent"]
    assert [m.text for m in replies] == ["First answer"]

    # A retry of an event whose first delivery never arrived is processed (not lost).
    lost = p.message_event(QUEUE, ANA, "Second answer", thread_ts=thread_ts)
    await desk.event(lost, retry=1)
    await eventually(
        lambda: _has_text(desk, cid, "Second answer"), what="the retried event's reply"
    )


async def _has_text(desk: Desk, cid: int, text: str) -> bool:
    return any(m.text == text for m in await desk.messages(cid))


async def test_rate_limited_card_is_retried_after_retry_after(desk: Desk) -> None:
    fake = desk.fake
    fake.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    _cid, thread_ts = await desk.escalate()
    assert fake.message(QUEUE, thread_ts) is not None
    assert len(fake.calls_of("chat.postMessage")) >= 2
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    escalated = await eventually(lambda: _escalation_sent(desk), what="sent")
    assert escalated["attempts"] == 2


@pytest.mark.parametrize(("status", "error"), [(503, "x"), (200, "internal_error")])
async def test_transient_slack_errors_are_retried_by_the_outbox(
    desk: Desk, status: int, error: str
) -> None:
    desk.fake.fail("chat.postMessage", status=status, error=error, times=2)
    _cid, thread_ts = await desk.escalate()
    assert desk.fake.message(QUEUE, thread_ts) is not None
    escalated = await eventually(lambda: _escalation_sent(desk), what="sent")
    assert escalated["attempts"] == 3


async def _escalation_sent(desk: Desk) -> dict[str, Any] | None:
    rows = await desk.outbox("slack")
    row = next(d for d in rows if d["payload"].get("kind") == "escalated")
    return row if row["status"] == "sent" else None


async def test_a_huge_customer_message_reaches_the_thread_in_parts(desk: Desk) -> None:
    _cid, thread_ts = await desk.escalate()
    await desk.interactive(p.block_actions(ANA, QUEUE, thread_ts, "cc_claim", value=str(_cid)))
    huge = " ".join(f"line{i}" for i in range(9_000))  # ~78k characters
    await desk.customer_says(huge)

    async def parts() -> list[Any]:
        return [m for m in desk.fake.in_thread(QUEUE, thread_ts) if "line8999" in _texts(m.blocks)]

    await eventually(parts, what="the end of the huge message")
    posted = [m for m in desk.fake.in_thread(QUEUE, thread_ts) if "line" in _texts(m.blocks)]
    assert len(posted) >= 2
    assert all(len(m.text) <= 300 for m in posted)  # short notification text, full blocks

    async def all_sent() -> bool:
        return all(d["status"] == "sent" for d in await desk.outbox("slack"))

    await eventually(all_sent, what="every desk delivery sent")


async def test_bots_and_top_level_chatter_never_reach_the_customer(desk: Desk) -> None:
    cid, thread_ts = await desk.escalate()
    await desk.event(p.bot_message_event(QUEUE, "our own notice", thread_ts=thread_ts))
    await desk.event(p.bot_message_event(QUEUE, "another app", thread_ts=thread_ts, ours=False))
    await desk.event(p.message_event(QUEUE, ANA, "lunch anyone?"))  # not in a thread
    await desk.agent_says(ANA, "1111111111.000001", "unknown thread")
    await desk.agent_says(ANA, thread_ts, "The real answer")
    await eventually(lambda: _has_text(desk, cid, "The real answer"), what="reply")
    texts = [m.text for m in await desk.messages(cid)]
    for leaked in ("our own notice", "another app", "lunch anyone?", "unknown thread"):
        assert leaked not in texts


async def test_edits_and_deletions_are_explained_not_sent(desk: Desk) -> None:
    fake = desk.fake
    cid, thread_ts = await desk.escalate()
    reply = await desk.agent_says(ANA, thread_ts, "Your refund is 10 EUR")
    await eventually(lambda: _has_text(desk, cid, "Your refund is 10 EUR"), what="reply")
    ts = reply["event"]["ts"]
    await desk.event(
        p.message_changed_event(
            QUEUE, ANA, ts, "Your refund is 10 EUR", "Your refund is 12 EUR", thread_ts=thread_ts
        )
    )
    await eventually(
        lambda: any("edits are not sent" in m.text for m in fake.in_thread(QUEUE, thread_ts)),
        what="edit notice",
    )
    note = await desk.agent_says(ANA, thread_ts, "!note check the amount")
    await eventually(lambda: _has_text(desk, cid, "check the amount"), what="note")
    await desk.event(
        p.message_changed_event(
            QUEUE,
            ANA,
            note["event"]["ts"],
            "!note check the amount",
            "!note check the amount with finance",
            thread_ts=thread_ts,
        )
    )
    await eventually(
        lambda: _has_text(desk, cid, "(edited note) check the amount with finance"),
        what="edited note",
    )
    await desk.event(
        p.message_deleted_event(QUEUE, ANA, ts, "Your refund is 10 EUR", thread_ts=thread_ts)
    )
    await eventually(
        lambda: any("already received it" in m.text for m in fake.in_thread(QUEUE, thread_ts)),
        what="deletion notice",
    )
    texts = [m.text for m in await desk.messages(cid) if not m.internal]
    assert "Your refund is 12 EUR" not in texts
    assert all("12 EUR" not in (d["text"] or "") for d in await desk.outbox("api"))


async def test_buttons_transfer_snooze_note_resolve_reopen(desk: Desk) -> None:
    fake = desk.fake
    cid, thread_ts = await desk.escalate()
    block = f"cc_actions:{cid}"
    await desk.interactive(
        p.block_actions(ANA, QUEUE, thread_ts, "cc_transfer", selected_user=BEN, block_id=block)
    )
    ben = await eventually(lambda: _agent_named(desk, "ben@northwind.example"), what="Ben")
    await eventually(lambda: _assignee_is(desk, cid, ben.id), what="transfer to Ben")
    # Ana cannot claim what Ben holds: she is told so, in place.
    await desk.interactive(p.block_actions(ANA, QUEUE, thread_ts, "cc_claim", value=str(cid)))
    await eventually(lambda: any("use Transfer" in e.text for e in fake.ephemerals), what="told")

    await desk.interactive(
        p.block_actions(
            BEN, QUEUE, thread_ts, "cc_snooze", selected_option=f"{cid}:4", block_id=block
        )
    )
    await eventually(lambda: fake.scheduled, what="snooze reminder")
    assert fake.scheduled[0]["thread_ts"] == thread_ts
    assert int(fake.scheduled[0]["post_at"]) > time.time() + 3.9 * 3600

    await desk.interactive(p.block_actions(BEN, QUEUE, thread_ts, "cc_note", value=str(cid)))
    await eventually(lambda: fake.views, what="note modal")
    assert fake.views[0]["private_metadata"] == str(cid)
    answer = await desk.interactive(p.note_submission(BEN, cid, "Typed in the modal"))
    assert not answer  # an empty ack closes the modal
    await eventually(lambda: _has_text(desk, cid, "Typed in the modal"), what="modal note")
    assert all("modal" not in (d["text"] or "") for d in await desk.outbox("api"))
    empty = await desk.interactive(p.note_submission(BEN, cid, "   ", view_id="V0NOTE2"))
    assert empty["response_action"] == "errors"

    await desk.interactive(
        p.block_actions(BEN, QUEUE, thread_ts, "cc_resolve", value=str(cid), block_id=block)
    )
    card = fake.message(QUEUE, thread_ts)
    assert card is not None
    await eventually(lambda: "cc_reopen" in _action_ids(card.blocks), what="card shows Reopen")
    assert (await _conversation(desk, cid)).status == "resolved"
    await desk.interactive(p.block_actions(BEN, QUEUE, thread_ts, "cc_reopen", value=str(cid)))
    await eventually(lambda: _status_is(desk, cid, "assigned"), what="reopened")


async def _assignee_is(desk: Desk, cid: int, agent_id: int | None) -> bool:
    return (await _conversation(desk, cid)).assignee_id == agent_id


async def _status_is(desk: Desk, cid: int, status: str) -> bool:
    return (await _conversation(desk, cid)).status == status
